"""Small bundles with one bounded element (`bomb`) after a script (`prepare`) that may compute its inputs."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

BPMN = """\
<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" \
targetNamespace="http://xieshang.test/bounds">
  <bpmn:process id="bounds" name="Bounds" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="prepare" name="Prepare">
      <bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{prepare}</bpmn:script>
    </bpmn:scriptTask>
{bomb}
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="prepare" />
    <bpmn:sequenceFlow id="f2" sourceRef="prepare" targetRef="bomb" />
    <bpmn:sequenceFlow id="f3" sourceRef="bomb" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""

TIMER = """\
    <bpmn:intermediateCatchEvent id="bomb" name="Wait">
      <bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition id="bomb_timer"><bpmn:{kind}>{expression}</bpmn:{kind}></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>"""

LOOPED = """\
    <bpmn:scriptTask id="bomb" name="Count">
      <bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing>
      {loop}
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>"""
COUNT = "counted = 1"


def timer(expression: str, kind: str = "timeDuration") -> str:
    """An intermediate timer event `bomb` (kind: timeDuration, timeDate or timeCycle)."""
    return TIMER.format(kind=kind, expression=escape(expression))


def _multi(inner: str, sequential: bool) -> str:
    head = f'<bpmn:multiInstanceLoopCharacteristics isSequential="{str(sequential).lower()}">'
    return LOOPED.format(script=COUNT, loop=f"{head}{inner}</bpmn:multiInstanceLoopCharacteristics>")


def cardinality(expression: str, sequential: bool = False) -> str:
    """A multi-instance script task `bomb` over `expression` instances."""
    return _multi(f"<bpmn:loopCardinality>{escape(expression)}</bpmn:loopCardinality>", sequential)


def collection(name: str, sequential: bool = False) -> str:
    """A multi-instance script task `bomb` over the items of the data list `name`."""
    return _multi(f'<bpmn:loopDataInputRef>{name}</bpmn:loopDataInputRef><bpmn:inputDataItem id="item" name="item" />',
                  sequential)


def standard_loop(condition: str | None = None, maximum: int | None = None, script: str = COUNT) -> str:
    """A standard-loop script task `bomb` running `script` again while `condition` holds, at most `maximum` times."""
    attrs = f' loopMaximum="{maximum}"' if maximum is not None else ""
    inner = f"<bpmn:loopCondition>{escape(condition)}</bpmn:loopCondition>" if condition is not None else ""
    loop = f'<bpmn:standardLoopCharacteristics testBefore="false"{attrs}>{inner}</bpmn:standardLoopCharacteristics>'
    return LOOPED.format(script=escape(script), loop=loop)


def write_bundle(path: Path, bomb: str, prepare: str = "ready = True") -> Path:
    """A bundle directory holding bounds.bpmn with `bomb` after `prepare`."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "bounds.bpmn").write_text(BPMN.format(prepare=escape(prepare), bomb=bomb))
    return path
