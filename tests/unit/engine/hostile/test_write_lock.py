"""No database write lock is held while a workflow runs: another connection can write from inside a script."""

from __future__ import annotations

import sqlite3

import pytest

from engine.bpmn import scripting
from tests.unit.engine.hostile.support import ACTOR, write_bundle


def _could_write(path: str) -> bool:
    """Whether a second connection gets SQLite's write lock at once (no waiting)."""
    connection = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:    # "database is locked"
        return False
    finally:
        connection.close()


@pytest.fixture
def probe(monkeypatch, sqlite_url) -> list[bool]:
    """A script helper `probe()` that tries to write from another connection; yields what each try found."""
    path, writes = sqlite_url.removeprefix("sqlite:///"), []

    def attempt() -> bool:
        writes.append(_could_write(path))
        return writes[-1]

    monkeypatch.setitem(scripting.HELPERS, "probe", attempt)
    return writes


def test_no_write_lock_while_start_instance_runs_the_workflow(sqlite_service, probe, tmp_path):
    sqlite_service.deploy([write_bundle(tmp_path / "bundle", script="wrote = probe()\ngreeting = 'hello'")],
                          actor="owner")
    instance_id = sqlite_service.start_instance("hostile", {})
    assert probe == [True]
    assert sqlite_service.show_instance(instance_id).data["wrote"] is True


def test_no_write_lock_while_complete_task_runs_the_workflow(sqlite_service, probe, tmp_path):
    sqlite_service.deploy([write_bundle(tmp_path / "bundle", post="wrote = probe()")], actor="owner")
    instance_id = sqlite_service.start_instance("hostile", {})
    [task] = sqlite_service.list_tasks(instance_id=instance_id)
    sqlite_service.complete_task(task.id, {"approved": False}, ACTOR)
    assert probe == [True]
    assert sqlite_service.show_instance(instance_id).status == "completed"


TIMED = """\
<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="http://x">
  <bpmn:process id="timed" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition id="wait_timer">
        <bpmn:timeDuration>"P1D"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:scriptTask id="stamp_task"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>wrote = probe()</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait" />
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="stamp_task" />
    <bpmn:sequenceFlow id="f3" sourceRef="stamp_task" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_no_write_lock_while_the_sweep_runs_a_workflow(sqlite_service, clock, probe, tmp_path):
    bundle = tmp_path / "timed"
    bundle.mkdir()
    (bundle / "timed.bpmn").write_text(TIMED)
    sqlite_service.deploy([bundle], actor="owner")
    instance_id = sqlite_service.start_instance("timed", {})
    clock.advance(days=2)
    assert sqlite_service.fire_due_timers() == [instance_id]
    assert probe == [True]
    assert sqlite_service.show_instance(instance_id).status == "completed"
