"""Bundles whose script produces a value the state serializer cannot store: after a timer, or after a user task."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from xml.sax.saxutils import escape

# id → script lines that leave an unstorable `value` in the task data (each runs in the RestrictedPython sandbox)
POISONS = {
    "complex": "value = complex(1, 2)",
    "bytes": "value = b'raw'",
    "range": "value = range(3)",
    "generator": "value = (n for n in [1, 2])",
    "exception": "value = ValueError('boom')",
    "int-over-4300-digits": "value = 10 ** 4400",
    "circular-list": "value = []\nvalue.append(value)",
    "tuple-dict-key": "value = {(1, 2): 'x'}",
}

_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" \
xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="{pid}_defs" \
targetNamespace="http://xieshang.test/{pid}">
  <bpmn:process id="{pid}" name="{pid}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
"""
_TIMER = """    <bpmn:intermediateCatchEvent id="wait" name="Wait">
      <bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition id="wait_timer">
        <bpmn:timeDuration>"PT1H"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
"""
_USER = """    <bpmn:userTask id="review" name="Review">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formJsonSchemaFilename" value="review.schema.json" />
          <spiffworkflow:property name="orgUnit" value="&quot;county&quot;" />
          <spiffworkflow:property name="assignee" value="&quot;{assignee}&quot;" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
"""
_TAIL = """    <bpmn:scriptTask id="poison" name="Poison">
      <bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="after" name="After">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="orgUnit" value="&quot;county&quot;" />
          <spiffworkflow:property name="assignee" value="&quot;clerk&quot;" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="{first}" />
    <bpmn:sequenceFlow id="f2" sourceRef="{first}" targetRef="poison" />
    <bpmn:sequenceFlow id="f3" sourceRef="poison" targetRef="after" />
    <bpmn:sequenceFlow id="f4" sourceRef="after" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""
REVIEW_SCHEMA = {"type": "object", "properties": {"poison": {"type": "boolean"}, "note": {"type": "string"}}}


def guarded(poison: str, condition: str) -> str:
    """`poison` when `condition` holds, else a storable `value`."""
    return f"if {condition}:\n{textwrap.indent(poison, '    ')}\nelse:\n    value = 'fine'"


def write_bundle(path: Path, process_id: str, script: str, after: str = "timer", assignee: str = "clerk") -> Path:
    """A bundle `process_id`: start → a timer (PT1H) or a user task `review` → script task `poison` → user task."""
    path.mkdir(parents=True, exist_ok=True)
    middle, first = (_TIMER, "wait") if after == "timer" else (_USER, "review")
    xml = _HEAD.format(pid=process_id) + middle.format(assignee=assignee) + _TAIL.format(script=escape(script),
                                                                                           first=first)
    (path / f"{process_id}.bpmn").write_text(xml, encoding="utf-8")
    (path / "review.schema.json").write_text(json.dumps(REVIEW_SCHEMA))
    return path
