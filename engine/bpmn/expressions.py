"""Static checks of every script and expression in a BPMN or DMN document, before anything runs."""

from __future__ import annotations

import ast

from lxml import etree

from engine.bpmn.scripting import SandboxViolation, compile_eval, compile_exec

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
EVAL_TAGS = {f"{BPMN}{t}" for t in ("conditionExpression", "timeDuration", "timeDate", "timeCycle",
                                      "loopCardinality", "completionCondition", "loopCondition", "condition",
                                      "formalExpression")}
EVAL_TAGS |= {f"{SPIFF}messagePayload"}
EXEC_TAGS = {f"{BPMN}script", f"{SPIFF}preScript", f"{SPIFF}postScript"}
EXPRESSION_PROPERTIES = {"orgUnit", "assignee", "dueDate"}


def _owner_id(node) -> str | None:
    """Id of the nearest BPMN/DMN element around `node` (not Spiff extension elements, whose ids mean other things)."""
    while node is not None:
        local = etree.QName(node).localname
        if node.get("id") and not node.tag.startswith(SPIFF) and not local.endswith("EventDefinition") \
                and local not in {"conditionExpression", "script", "text"}:
            return node.get("id")
        node = node.getparent()
    return None


def _check(source: str, mode: str) -> str | None:
    """None when the code compiles in the sandbox, else the reason it does not."""
    try:
        ast.parse(source.strip() if mode == "eval" else source, mode=mode)
        (compile_exec if mode == "exec" else compile_eval)(source)
    except SyntaxError as exc:
        return f"unparsable {'script' if mode == 'exec' else 'expression'}: {exc.msg} ({source.strip()[:60]!r})"
    except SandboxViolation as exc:
        return f"refused by the script sandbox: {exc}"
    return None


def _dmn_entry(cell: str) -> str | None:
    """DMN input entries are `value`, `op value` or `-`; mirror SpiffWorkflow's rewrite before compiling."""
    text = cell.strip()
    if text in {"", "-"}:
        return None
    text = text.replace("?", "dmninputexpr")
    try:
        ast.parse(text, mode="eval")
        return _check(f"(dmninputexpr) == ({text})", "eval")
    except SyntaxError:
        return _check(f"dmninputexpr {text}", "eval")


def expression_problems(root, filename: str, out, operators: set[str], dmn: bool) -> None:
    """Add a problem to `out` for every expression or script that does not compile, and unknown operators."""
    if dmn:
        _dmn_problems(root, filename, out)
        return
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        text = node.text or ""
        reason = None
        if node.tag in EVAL_TAGS and text.strip():
            reason = _check(text, "eval")
        elif node.tag in EXEC_TAGS and text.strip():
            reason = _check(text, "exec")
        elif node.tag == f"{SPIFF}property" and node.get("name") in EXPRESSION_PROPERTIES:
            reason = _check(node.get("value") or "", "eval")
        elif node.tag == f"{SPIFF}parameter" and node.get("value") is not None:
            reason = _check(node.get("value"), "eval")
        elif node.tag == f"{SPIFF}serviceTaskOperator" and node.get("id") not in operators:
            reason = f"unknown service operator {node.get('id')!r}; known: {', '.join(sorted(operators))}"
        if reason:
            out.add(filename, node.sourceline, _owner_id(node), reason)


def _dmn_problems(root, filename: str, out) -> None:
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        local = etree.QName(node).localname
        parent = node.getparent()
        parent_local = etree.QName(parent).localname if parent is not None else ""
        if local != "text" or not (node.text or "").strip():
            continue
        if parent_local == "inputEntry":
            reason = _dmn_entry(node.text)
        elif parent_local in {"outputEntry", "inputExpression"}:
            reason = _check(node.text, "eval")
        else:
            continue
        if reason:
            out.add(filename, node.sourceline, _owner_id(node), reason)
