"""Hostile input (XXE, entity bombs, bad files, sandbox escapes, endless loops, tampering): refused, nothing kept."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from sqlalchemy import func, select

from engine.store.db import Base
from engine.store.models import AuditEvent, HumanTask, OutboxMessage, ProcessInstance, ProcessVersion

TOKEN = "XS-HOSTILE-7f3c9a1e-SECRET"   # lives only in files the engine must never read
ACTOR = "clerk"                         # the review task's `assignee`: one account, no roles needed

# --------------------------------------------------------------------------------------------------
# Fixture bundle: every place diagram code lives, with a safe default that each test may replace.
# Line numbers below are those of the rendered templates (single-line code).
# --------------------------------------------------------------------------------------------------
SAFE = {
    "script": "greeting = 'hello'",
    "pre": "seen = 1",
    "post": "reviewed = True",
    "org_unit": '"county"',
    "assignee": '"clerk"',
    "condition": "approved == True",
    "param": "'ok: ' + greeting",
    "timer": '"P2D"',
    "dmn_input": "greeting",
    "dmn_entry": '"hello"',
    "dmn_output": '"low"',
}

BPMN_TEMPLATE = """\
<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" \
xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" \
targetNamespace="http://xieshang.test/hostile">
  <bpmn:process id="hostile" name="Hostile" isExecutable="true">
    <bpmn:documentation>fixture for hostile input</bpmn:documentation>
    <bpmn:startEvent id="start">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formJsonSchemaFilename" value="start.schema.json" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:outgoing>f1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:scriptTask id="script_task" name="Script">
      <bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:businessRuleTask id="rule_task" name="Rule">
      <bpmn:extensionElements>
        <spiffworkflow:calledDecisionId>grade</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:userTask id="review" name="Review">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formJsonSchemaFilename" value="review.schema.json" />
          <spiffworkflow:property name="orgUnit" value={org_unit_attr} />
          <spiffworkflow:property name="assignee" value={assignee_attr} />
        </spiffworkflow:properties>
        <spiffworkflow:preScript>{pre}</spiffworkflow:preScript>
        <spiffworkflow:postScript>{post}</spiffworkflow:postScript>
      </bpmn:extensionElements>
      <bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="gw" name="Approved?" default="f_no">
      <bpmn:incoming>f4</bpmn:incoming>
      <bpmn:outgoing>f_yes</bpmn:outgoing>
      <bpmn:outgoing>f_no</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="f_yes" sourceRef="gw" targetRef="notify_task">
      <bpmn:conditionExpression>{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:serviceTask id="notify_task" name="Notify">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="notify" resultVariable="notified">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="message" type="str" value={param_attr} />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f_yes</bpmn:incoming>
      <bpmn:outgoing>f5</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:intermediateCatchEvent id="wait" name="Wait">
      <bpmn:incoming>f5</bpmn:incoming>
      <bpmn:outgoing>f6</bpmn:outgoing>
      <bpmn:timerEventDefinition id="wait_timer">
        <bpmn:timeDuration>{timer}</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end_yes">
      <bpmn:incoming>f6</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:endEvent id="end_no">
      <bpmn:incoming>f_no</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="script_task" />
    <bpmn:sequenceFlow id="f2" sourceRef="script_task" targetRef="rule_task" />
    <bpmn:sequenceFlow id="f3" sourceRef="rule_task" targetRef="review" />
    <bpmn:sequenceFlow id="f4" sourceRef="review" targetRef="gw" />
    <bpmn:sequenceFlow id="f5" sourceRef="notify_task" targetRef="wait" />
    <bpmn:sequenceFlow id="f6" sourceRef="wait" targetRef="end_yes" />
    <bpmn:sequenceFlow id="f_no" sourceRef="gw" targetRef="end_no" />
  </bpmn:process>
</bpmn:definitions>
"""

DMN_TEMPLATE = """\
<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="grade_defs" name="Grade" \
namespace="http://xieshang.test/hostile">
  <decision id="grade" name="Grade">
    <description>fixture for hostile input</description>
    <decisionTable id="grade_table" hitPolicy="FIRST">
      <input id="grade_in" label="Greeting">
        <inputExpression id="grade_in_expr" typeRef="string">
          <text>{dmn_input}</text>
        </inputExpression>
      </input>
      <output id="grade_out" name="{dmn_output_name}" typeRef="string" />
      <rule id="grade_rule_1">
        <inputEntry id="grade_rule_1_in">
          <text>{dmn_entry}</text>
        </inputEntry>
        <outputEntry id="grade_rule_1_out">
          <text>{dmn_output}</text>
        </outputEntry>
      </rule>
      <rule id="grade_rule_2">
        <inputEntry id="grade_rule_2_in">
          <text>-</text>
        </inputEntry>
        <outputEntry id="grade_rule_2_out">
          <text>"other"</text>
        </outputEntry>
      </rule>
    </decisionTable>
  </decision>
</definitions>
"""

START_SCHEMA = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                "properties": {"title": {"type": "string", "maxLength": 50}}}
REVIEW_SCHEMA = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                 "required": ["approved"],
                 "properties": {"approved": {"type": "boolean"}, "comment": {"type": "string", "maxLength": 20}}}


def render_bpmn(**code: str) -> str:
    """The fixture BPMN with `code` replacing the safe default in the named places."""
    c = {**SAFE, **code}
    return BPMN_TEMPLATE.format(
        script=escape(c["script"]), pre=escape(c["pre"]), post=escape(c["post"]),
        condition=escape(c["condition"]), timer=escape(c["timer"]),
        org_unit_attr=quoteattr(c["org_unit"]), assignee_attr=quoteattr(c["assignee"]),
        param_attr=quoteattr(c["param"]))


def render_dmn(dmn_output_name: str = "level", **code: str) -> str:
    """The fixture DMN decision `grade` with `code` in its cells."""
    c = {**SAFE, **code}
    return DMN_TEMPLATE.format(dmn_input=escape(c["dmn_input"]), dmn_entry=escape(c["dmn_entry"]),
                               dmn_output=escape(c["dmn_output"]), dmn_output_name=dmn_output_name)


def write_bundle(path: Path, bpmn: str | bytes | None = None, dmn: str | bytes | None = None,
                 dmn_output_name: str = "level", **code: str) -> Path:
    """A bundle directory: hostile.bpmn, grade.dmn and the two forms."""
    path.mkdir(parents=True, exist_ok=True)
    bpmn = render_bpmn(**code) if bpmn is None else bpmn
    dmn = render_dmn(dmn_output_name, **code) if dmn is None else dmn
    (path / "hostile.bpmn").write_bytes(bpmn.encode() if isinstance(bpmn, str) else bpmn)
    (path / "grade.dmn").write_bytes(dmn.encode() if isinstance(dmn, str) else dmn)
    (path / "start.schema.json").write_text(json.dumps(START_SCHEMA))
    (path / "review.schema.json").write_text(json.dumps(REVIEW_SCHEMA))
    return path


@dataclass(frozen=True)
class Where:
    """A place diagram code lives: where a deploy-time problem points, and which call runs it."""

    key: str
    file: str
    line: int
    static_id: str      # element id on the deploy-time Problem
    runtime_id: str     # element id on the run-time ScriptError
    phase: str          # "start": runs in start_instance; "complete": runs in complete_task(review)


PLACES = [   # in document order, as problems are listed
    Where("script", "hostile.bpmn", 16, "script_task", "script_task", "start"),
    Where("org_unit", "hostile.bpmn", 29, "review", "review", "start"),
    Where("assignee", "hostile.bpmn", 30, "review", "review", "start"),
    Where("pre", "hostile.bpmn", 32, "review", "review", "start"),
    Where("post", "hostile.bpmn", 33, "review", "review", "complete"),
    Where("condition", "hostile.bpmn", 44, "f_yes", "gw", "complete"),
    Where("param", "hostile.bpmn", 50, "notify_task", "notify_task", "complete"),
    Where("timer", "hostile.bpmn", 61, "wait", "wait", "complete"),
    Where("dmn_input", "grade.dmn", 8, "grade_in_expr", "rule_task", "start"),
    Where("dmn_entry", "grade.dmn", 14, "grade_rule_1_in", "rule_task", "start"),
    Where("dmn_output", "grade.dmn", 17, "grade_rule_1_out", "rule_task", "start"),
]
PLACE = {p.key: p for p in PLACES}


# --------------------------------------------------------------------------------------------------
# What was read, what was stored.
# --------------------------------------------------------------------------------------------------
COUNTED = (ProcessVersion, ProcessInstance, HumanTask, AuditEvent, OutboxMessage)


def counts(service) -> dict[str, int]:
    """Row counts of the tables a command writes."""
    with service.unit_of_work() as session:
        return {m.__tablename__: session.scalar(select(func.count()).select_from(m)) for m in COUNTED}


def dump(service) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order (compared before/after, searched for the token)."""
    with service.unit_of_work() as session:
        return {t.name: [tuple(r) for r in session.execute(select(t).order_by(*t.primary_key.columns))]
                for t in Base.metadata.sorted_tables}


def assert_token_absent(*texts) -> None:
    """The secret never shows up in anything a person or the database gets."""
    for text in texts:
        assert TOKEN not in str(text)




# Shared by several test modules.
def underscore_refusal(name: str, kind: str = "attribute") -> str:
    dot = "." if kind == "attribute" else ""
    return f'Line 1: "{name}" is an invalid {kind} name because it starts with "_"{dot}'


def restricted_refusal(name: str) -> str:
    return f'Line 1: "{name}" is a restricted name, that is forbidden to access in RestrictedPython.'


DOCTYPE_REFUSED = "DOCTYPE and ENTITY declarations are not allowed"


NOTHING = {m.__tablename__: 0 for m in COUNTED}


def with_doctype(text: str, doctype: str, reference: str | None) -> str:
    """`text` with `doctype` as its second line and `reference` in its documentation."""
    head, rest = text.split("\n", 1)
    if reference is not None:
        rest = rest.replace("fixture for hostile input", reference)
    return f"{head}\n{doctype}\n{rest}"


SANDBOX = "refused by the script sandbox: "


STATIC_ESCAPES = {
    "dunder-import": ("__import__('os')", underscore_refusal("__import__", "variable")),
    "subclasses-walk": ("().__class__.__base__.__subclasses__()", "; ".join(
        underscore_refusal(n) for n in ("__subclasses__", "__base__", "__class__"))),
    "catch-warnings-escape": (
        "[c for c in ().__class__.__bases__[0].__subclasses__() if c.__name__ == 'catch_warnings'][0]()"
        "._module.__builtins__['__import__']('os').system('id')",
        "; ".join(underscore_refusal(n) for n in ("__builtins__", "_module", "__subclasses__", "__bases__", "__class__",
                                           "__name__"))),
    "mro": ("type(greeting).__mro__", underscore_refusal("__mro__")),
    "class-dict": ("str.__dict__", underscore_refusal("__dict__")),
    "builtins-name": ("__builtins__", underscore_refusal("__builtins__", "variable")),
    "sandbox-hook-name": ("_getattr_", underscore_refusal("_getattr_", "variable")),
    "helper-globals": ("today.__globals__", underscore_refusal("__globals__")),
    "lambda-globals": ("(lambda: 0).__globals__", underscore_refusal("__globals__")),
    "lambda-default-arg": ("(lambda f=().__class__: f)()", underscore_refusal("__class__")),
    "fstring-dunder": ("f'{greeting.__class__}'", underscore_refusal("__class__")),
    "generator-frame": ("(x for x in []).gi_frame", restricted_refusal("gi_frame")),
    "generator-code": ("(x for x in []).gi_code", restricted_refusal("gi_code")),
    "frame-back": ("greeting.f_back", restricted_refusal("f_back")),
    "frame-globals": ("greeting.f_globals", restricted_refusal("f_globals")),
    "traceback-frame": ("greeting.tb_frame", restricted_refusal("tb_frame")),
    "exec": ("exec('y = 1')", "Line 1: Exec calls are not allowed."),
    "eval": ("eval('1')", "Line 1: Eval calls are not allowed."),
}


NOT_UTF8 = "not UTF-8 text; save the file as UTF-8"


GBK_DECLARED = "declares encoding GBK; only UTF-8 is accepted"


FORMAT_REFUSED = "NotImplementedError:Using the format*() methods of `str` is not safe"


FORMAT_ESCAPES = {
    "format": "'{0.__class__}'.format(greeting)",
    "format_map": "'{x.__class__}'.format_map({'x': greeting})",
    "unbound-format": "str.format('{0.__class__.__init__.__globals__}', greeting)",
}


def budget_message(element: str, *notes: str) -> re.Pattern:
    """The ScriptError text of a loop stopped by the budget (the iteration count depends on the machine)."""
    tail = re.escape(" — " + "; ".join(notes)) if notes else ""
    return re.compile(re.escape(f"{element}: script stopped: stopped after ") + r"\d+"
                      + re.escape(" loop iterations (CPU budget exceeded)") + tail)


LOOPS = {
    "while-true": "while True:\n    pass",
    "while-1": "while 1:\n    x = 1",
    "comprehension-chain": "total = 0\nfor v in [a * b for a in range(999) for b in range(999) for c in range(999)]:\n"
                           "    total += v",
    "nested-for": "n = 0\nfor a in range(999):\n    for b in range(999):\n        for c in range(999):\n"
                  "            n += 1",
}
