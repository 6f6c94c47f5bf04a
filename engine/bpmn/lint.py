"""Lint a process bundle beyond parsing: what the engine would run, but not as its owner meant it.

Every rule reads the XML, so a bundle the engine refuses is still linted; its parse problems come first, in the same
shape (`Problem` with a severity). Messages are zh-CN with the English in brackets, like every engine message.
"""

from __future__ import annotations

import ast
import json
import posixpath
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace

from lxml import etree

from engine.bpmn.operators import operator_parameters, required_parameters
from engine.bpmn.specs import FORM_KEYS, NS, Bundle, ParsedBundle, notices, parse_bundle
from engine.bpmn.xmlsafe import UnsafeXml, load_xml
from engine.errors import Problem, SpecInvalid

BPMN = "{" + NS["bpmn"] + "}"
SPIFF = "{" + NS["spiffworkflow"] + "}"
ACTIVITIES = {"task", "userTask", "serviceTask", "scriptTask", "manualTask", "businessRuleTask", "sendTask",
              "receiveTask", "callActivity", "subProcess", "transaction", "adHocSubProcess"}
EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}
FLOW_NODES = ACTIVITIES | EVENTS | GATEWAYS
TIMER_TAGS = ("timeDuration", "timeDate", "timeCycle")
ERROR, WARNING = "error", "warning"


def lint(source: Bundle | ParsedBundle, operators: Mapping[str, Sequence[str]] | None = None, *,
         roles: Collection[str] | None = None, variables: Collection[str] = ()) -> list[Problem]:
    """Every problem in `source`: the engine's parse problems (a Bundle only), then the lint rules' findings.

    `operators` maps each registered service-task operator to its parameter names (default: the engine's registry);
    `roles` are the roles the directory knows (None: a lane names a role when its id starts with `lane_`);
    `variables` are data names a timer may read besides those the bundle's forms, scripts and tables define.
    With `roles`, the engine's own notices on a valid bundle (tasks that go to the starter, loops without a
    maximum, form remarks) come last, as warnings."""
    operators = operator_parameters() if operators is None else operators
    bundle = source.bundle if isinstance(source, ParsedBundle) else source
    parsed = source if isinstance(source, ParsedBundle) else None
    problems: list[Problem] = []
    if parsed is None:
        try:
            parsed = parse_bundle(source, operators)
        except SpecInvalid as exc:
            problems += exc.problems
    flagged = {p.element_id for p in problems}
    roots = []
    for path in bundle.paths(".bpmn"):
        try:
            roots.append((path, load_xml(bundle.files[path], path)))
        except UnsafeXml:
            continue      # refused above, with its reason
    known = set(variables) | _bundle_variables(bundle, roots)
    for path, root in roots:
        found = (_form_files(bundle, path, root) + _operators(path, root, operators) + _reach(path, root)
                 + _timers(path, root, known) + _lanes(path, root, roles) + _formless(path, root))
        problems += [p for p in found if p.severity == WARNING or p.element_id not in flagged]
    if parsed is not None and roles is not None:
        warned = {p.element_id for p in problems}
        problems += [replace(p, severity=WARNING) for p in notices(parsed, roles) if p.element_id not in warned]
    return problems


def _problem(path: str, node, message: str, severity: str = ERROR, element_id: str | None = None) -> Problem:
    return Problem(path, node.sourceline, element_id or node.get("id"), message, severity)


def _local(node) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _properties(node) -> dict[str, str]:
    return {p.get("name"): p.get("value", "") for p in node.iterfind(
        "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS)}


def _form_files(bundle: Bundle, path: str, root) -> list[Problem]:
    out = []
    for node in root.iter():
        props = _properties(node) if _local(node) in FLOW_NODES else {}
        for key in FORM_KEYS:
            if key in props:
                wanted = posixpath.normpath(posixpath.join(posixpath.dirname(path), props[key]))
                if wanted not in bundle.files:
                    out.append(_problem(path, node, f"表单文件 {wanted} 不在流程包中 (form file {wanted} is missing)"))
    return out


def _operators(path: str, root, operators: Mapping[str, Sequence[str]]) -> list[Problem]:
    out, required = [], required_parameters()
    for op in root.iter(f"{SPIFF}serviceTaskOperator"):
        owner = op.getparent().getparent()
        name = op.get("id") or ""
        if name not in operators:
            out.append(_problem(path, op, f"未知的服务操作 {name!r}，可用：{'、'.join(sorted(operators))} "
                                          f"(unknown service operator {name!r})", element_id=owner.get("id")))
            continue
        given = [p.get("id") for p in op.iterfind("spiffworkflow:parameters/spiffworkflow:parameter", NS)]
        for param in given:
            if param not in operators[name]:
                out.append(_problem(path, op, f"服务操作 {name} 没有参数 {param!r}，可用：{'、'.join(operators[name])} "
                                              f"(operator {name} has no parameter {param!r})",
                                    element_id=owner.get("id")))
        for param in sorted(required.get(name, frozenset()) - set(given)):
            out.append(_problem(path, op, f"服务操作 {name} 缺少必填参数 {param} "
                                          f"(operator {name} needs parameter {param})", element_id=owner.get("id")))
    return out


def _scopes(root) -> Iterable:
    """Each process and subprocess: the flow nodes directly inside one form one graph."""
    for node in root.iter():
        if _local(node) in {"process", "subProcess", "transaction", "adHocSubProcess"}:
            yield node


def _graph(scope):
    nodes = {n.get("id"): n for n in scope if _local(n) in FLOW_NODES and n.get("id")}
    succ: dict[str, set[str]] = {i: set() for i in nodes}
    for flow in scope:
        if _local(flow) == "sequenceFlow" and flow.get("sourceRef") in nodes and flow.get("targetRef") in nodes:
            succ[flow.get("sourceRef")].add(flow.get("targetRef"))
    for node_id, node in nodes.items():
        if _local(node) == "boundaryEvent" and node.get("attachedToRef") in nodes:
            succ[node.get("attachedToRef")].add(node_id)       # an activity may leave through its boundary event
    return nodes, succ


def _entries(nodes: dict, succ: dict) -> set[str]:
    targets = set().union(*succ.values()) if succ else set()
    starts = {i for i, n in nodes.items() if _local(n) == "startEvent"}
    if not starts:      # no start event: every node without an incoming flow starts (BPMN's implicit start)
        starts = {i for i, n in nodes.items() if i not in targets and _local(n) != "boundaryEvent"}
    for node_id, node in nodes.items():
        if node.get("triggeredByEvent") == "true" or node.get("isForCompensation") == "true" \
                or node.find("bpmn:linkEventDefinition", NS) is not None and _local(node) == "intermediateCatchEvent":
            starts.add(node_id)     # started by an event or a link, not by a flow
    return starts


def _closure(start: Iterable[str], edges: Mapping[str, set[str]]) -> set[str]:
    seen, todo = set(start), list(start)
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _reach(path: str, root) -> list[Problem]:
    out = []
    for scope in _scopes(root):
        nodes, succ = _graph(scope)
        if not nodes:
            continue
        reached = _closure(_entries(nodes, succ), succ)
        pred: dict[str, set[str]] = {i: set() for i in nodes}
        for src, targets in succ.items():
            for target in targets:
                pred[target].add(src)
        ends = {i for i, n in nodes.items() if _local(n) == "endEvent"
                or n.find("bpmn:linkEventDefinition", NS) is not None or n.get("isForCompensation") == "true"}
        finishing = _closure(ends, pred)
        for node_id, node in nodes.items():
            if node_id not in reached:
                out.append(_problem(path, node, "此节点从开始事件无法到达 (unreachable: no path from a start event)",
                                    WARNING))
            elif node_id not in finishing and node.get("triggeredByEvent") != "true":
                out.append(_problem(path, node, "从此节点无法到达结束事件 (dead end: no path to an end event)",
                                    WARNING))
    return out


def _literal(text: str) -> bool:
    try:
        return isinstance(ast.literal_eval(text.strip()), str)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False


def _timers(path: str, root, known: set[str]) -> list[Problem]:
    out = []
    for tag in TIMER_TAGS:
        for node in root.iter(f"{BPMN}{tag}"):
            text = (node.text or "").strip()
            if _literal(text) or (text.isidentifier() and text in known):
                continue
            event = node.getparent().getparent()
            out.append(_problem(path, node, f"定时表达式 {text[:60]!r} 既不是加引号的字面值，也不是已知变量 "
                                            f"(timer expression is neither a quoted literal nor a known variable)",
                                WARNING, element_id=event.get("id") if event is not None else None))
    return out


def _lanes(path: str, root, roles: Collection[str] | None) -> list[Problem]:
    out = []
    for lane in root.iter(f"{BPMN}lane"):
        refs = {ref.text.strip() for ref in lane.iterfind("bpmn:flowNodeRef", NS) if ref.text}
        if lane.find("bpmn:childLaneSet", NS) is not None:
            continue
        lane_id = lane.get("id") or ""
        role = lane_id[len("lane_"):] if lane_id.startswith("lane_") else None
        tasks = [n for n in root.iter(f"{BPMN}userTask") if n.get("id") in refs]
        if all("role" in _properties(t) for t in tasks):
            continue        # every task names its role itself, or the lane holds no task for a person
        if role is None or (roles is not None and role not in roles):
            name = lane.get("name") or lane_id
            out.append(_problem(path, lane, f"泳道 {name} 没有对应的角色，其中的任务将由发起人办理 "
                                            "(lane has no role; its tasks go to the person who started the instance)",
                                WARNING))
    return out


def _formless(path: str, root) -> list[Problem]:
    return [_problem(path, node, "用户任务没有表单 (user task without a form)", WARNING)
            for node in root.iter(f"{BPMN}userTask") if "formJsonSchemaFilename" not in _properties(node)]


def _bundle_variables(bundle: Bundle, roots) -> set[str]:
    """Data names the bundle defines: form fields, script assignments, service results and decision outputs."""
    names: set[str] = set()
    for path in bundle.paths(".json"):
        try:
            doc = json.loads(bundle.files[path])
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(doc, dict) and isinstance(doc.get("properties"), dict):
            names |= set(doc["properties"])
    for _, root in roots:
        for node in root.iter():
            local = _local(node)
            if local in {"script", "preScript", "postScript"} and node.text:
                names |= _assigned(node.text)
            elif local == "serviceTaskOperator" and node.get("resultVariable"):
                names.add(node.get("resultVariable"))
    for path in bundle.paths(".dmn"):
        try:
            root = load_xml(bundle.files[path], path)
        except UnsafeXml:
            continue
        names |= {n.get("name") for n in root.iter() if _local(n) == "output" and n.get("name")}
    return names


def _assigned(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
