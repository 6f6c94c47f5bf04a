"""Code that compiles but misbehaves when it runs is stopped with a clear ScriptError; loops are bounded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.errors import Problem, ScriptError, SpecInvalid
from engine.store.models import ProcessInstance
from tests.conftest import ROOT
from tests.unit.engine.hostile.support import (
    ACTOR,
    FORMAT_ESCAPES,
    FORMAT_REFUSED,
    LOOPS,
    PLACE,
    PLACES,
    SANDBOX,
    STATIC_ESCAPES,
    Where,
    assert_token_absent,
    budget_message,
    counts,
    dump,
    write_bundle,
)


# --------------------------------------------------------------------------------------------------
# Code that compiles but must fail when it runs: start_instance or complete_task raises ScriptError
# naming the element; nothing is stored; a task that failed to complete stays ready.
# --------------------------------------------------------------------------------------------------
def refuse_at_run_time(service, place: Where, code: str, tmp_path: Path, data: dict | None = None) -> ScriptError:
    """Deploy `code` at `place`, run it, return the ScriptError; asserts nothing was stored or changed."""
    bundle = write_bundle(tmp_path / "bundle", **{place.key: code})
    assert service.validate([bundle]) == []          # it compiles: only running it can refuse it
    service.deploy([bundle], actor="owner")
    task = None
    if place.phase == "complete":
        instance_id = service.start_instance("hostile", {})
        [task] = service.list_tasks(instance_id=instance_id)
    before, before_counts = dump(service), counts(service)
    started = time.monotonic()
    with pytest.raises(ScriptError) as refused:
        if task is None:
            service.start_instance("hostile", data or {})
        else:
            service.complete_task(task.id, data or {"approved": True}, ACTOR)
    assert time.monotonic() - started < 5
    after = dump(service)
    assert (counts(service), after) == (before_counts, before)
    if task is not None:
        assert [t.id for t in service.list_tasks(instance_id=task.instance_id)] == [task.id]
    assert refused.value.element_id == place.runtime_id
    assert_token_absent(refused.value, after)
    return refused.value


def spiff_message(element: str, reason: str, *context: str) -> str:
    """The ScriptError text: `element: root cause — where SpiffWorkflow says it happened; note; note`."""
    notes = [c.strip() for c in context if c.strip()]
    return f"{element}: {reason}" + (" — " + "; ".join(notes) if notes else "")


RULE_NOTE = "Business Rule Task 'Rule'."


def expected_run_time_message(place: Where, code: str, error: str, hint: str = "") -> str:
    """What a person sees when `code` fails at `place` with `error` (`Type:message`) and Spiff's name `hint`."""
    hints = [hint] if hint else []
    reason = error.replace(":", ": ", 1)
    if place.key == "script":
        return spiff_message(place.runtime_id, reason, *hints)
    if place.key in {"pre", "post"}:
        return spiff_message(place.runtime_id, reason, *hints, f"Error occurred in the {place.key.title()}-Script")
    if place.key == "dmn_input":
        return spiff_message("rule_task", reason, f"Error evaluating expression '({code}) == (\"hello\")'", *hints,
                             "Rule failed on row 1", RULE_NOTE)
    if place.key == "dmn_entry":
        return spiff_message("rule_task", reason, f"Error evaluating expression '(greeting) == ({code})'", *hints,
                             "Rule failed on row 1", RULE_NOTE)
    if place.key == "dmn_output":
        return spiff_message("rule_task", reason, f"Error evaluating expression '{code}'", *hints, RULE_NOTE)
    return spiff_message(place.runtime_id, reason, f"Error evaluating expression '{code}'", *hints)


# SpiffWorkflow's "did you mean" for an unknown name lists the task data names at that point
NAME_HINTS = {
    "script": "",
    "pre": " Did you mean one of '['level', 'greeting']'?",
    "dmn_input": " Did you mean 'greeting'?",
    "dmn_entry": " Did you mean 'greeting'?",
    "dmn_output": " Did you mean 'greeting'?",
}
LATER_HINT = " Did you mean one of '['seen', 'level', 'greeting']'?"


@pytest.mark.parametrize("escape_name", list(FORMAT_ESCAPES))
@pytest.mark.parametrize("place", PLACES, ids=lambda p: p.key)
def test_format_string_escapes_fail_at_run_time(place, escape_name, sqlite_service, tmp_path):
    code = FORMAT_ESCAPES[escape_name]
    error = refuse_at_run_time(sqlite_service, place, code, tmp_path)
    assert str(error) == expected_run_time_message(place, code, FORMAT_REFUSED)


@pytest.mark.parametrize("place", PLACES, ids=lambda p: p.key)
def test_open_is_not_available_anywhere(place, sqlite_service, secret, tmp_path):
    code = f"open({str(secret)!r}).read()"
    error = refuse_at_run_time(sqlite_service, place, code, tmp_path)
    hint = NAME_HINTS.get(place.key, LATER_HINT)
    assert str(error) == expected_run_time_message(place, code, "NameError:name 'open' is not defined", hint)


MISSING_NAMES = {
    "getattr": "getattr(greeting, '__globals__')",
    "compile": "compile('1', 'f', 'eval')",
    "globals": "globals()",
    "vars": "vars()",
    "locals": "locals()",
    "dir": "dir()",
    "type": "type('')",
    "task": "task.workflow",
    "self": "self.environment",
    "breakpointhook": "sys.breakpointhook()",
}


@pytest.mark.parametrize("name", list(MISSING_NAMES))
@pytest.mark.parametrize("key", ["script", "dmn_output"])
def test_introspection_and_engine_objects_are_not_reachable(key, name, sqlite_service, tmp_path):
    place, code = PLACE[key], MISSING_NAMES[name]
    error = refuse_at_run_time(sqlite_service, place, code, tmp_path)
    missing = code.split("(")[0].split(".")[0]
    assert str(error) == expected_run_time_message(place, code, f"NameError:name '{missing}' is not defined",
                                                   NAME_HINTS[key])


@pytest.mark.parametrize("code", ["today.x = 1", "setattr(today, 'x', 1)", "delattr(today, 'x')"])
def test_helpers_cannot_be_modified(code, sqlite_service, tmp_path):
    error = refuse_at_run_time(sqlite_service, PLACE["script"], code, tmp_path)
    assert str(error) == "script_task: TypeError: attribute-less object (assign or del)"


@pytest.mark.parametrize("key", ["org_unit", "assignee", "condition", "param", "timer", "dmn_output"])
def test_expression_errors_say_why(key, sqlite_service, tmp_path):
    error = refuse_at_run_time(sqlite_service, PLACE[key], FORMAT_ESCAPES["format"], tmp_path)
    assert "format*() methods of `str` is not safe" in str(error)


# --------------------------------------------------------------------------------------------------
# Endless loops: deploy accepts them (undecidable), running them stops within the CPU budget.
# --------------------------------------------------------------------------------------------------




@pytest.mark.parametrize("name", list(LOOPS))
def test_an_endless_loop_in_a_script_task_is_stopped(name, sqlite_service, tmp_path):
    error = refuse_at_run_time(sqlite_service, PLACE["script"], LOOPS[name], tmp_path)
    assert budget_message("script_task").fullmatch(str(error))


def test_an_endless_loop_in_a_pre_script_is_stopped(sqlite_service, tmp_path):
    error = refuse_at_run_time(sqlite_service, PLACE["pre"], LOOPS["while-true"], tmp_path)
    assert budget_message("review", "Error occurred in the Pre-Script").fullmatch(str(error))


def test_an_endless_loop_in_a_post_script_leaves_the_task_ready_and_the_state_untouched(sqlite_service, tmp_path):
    bundle = write_bundle(tmp_path / "bundle", post=LOOPS["while-true"])
    sqlite_service.deploy([bundle], actor="owner")
    instance_id = sqlite_service.start_instance("hostile", {"title": "t"})
    [task] = sqlite_service.list_tasks(instance_id=instance_id)
    with sqlite_service.unit_of_work() as session:
        row = session.get(ProcessInstance, instance_id)
        state, revision, status = row.state, row.revision, row.status
    before = dump(sqlite_service)
    with pytest.raises(ScriptError) as refused:
        sqlite_service.complete_task(task.id, {"approved": True, "comment": "ok"}, ACTOR, revision=task.revision)
    assert refused.value.element_id == "review"
    assert budget_message("review", "Error occurred in the Post-Script").fullmatch(str(refused.value))
    with sqlite_service.unit_of_work() as session:
        row = session.get(ProcessInstance, instance_id)
        assert (row.state, row.revision, row.status) == (state, revision, status)
    assert dump(sqlite_service) == before
    assert [(t.id, t.status, t.revision) for t in sqlite_service.list_tasks(instance_id=instance_id)] == [
        (task.id, "ready", task.revision)]
    assert sqlite_service.show_instance(instance_id).data == {"title": "t", "greeting": "hello", "level": "low",
                                                              "seen": 1}


def test_deep_recursion_is_stopped(sqlite_service, tmp_path):
    code = "def f(n):\n    return f(n + 1)\nresult = f(0)"
    error = refuse_at_run_time(sqlite_service, PLACE["script"], code, tmp_path)
    assert str(error) == "script_task: RecursionError: maximum recursion depth exceeded"


TIMER_THEN_LOOP = """\
<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="http://x">
  <bpmn:process id="timed_loop" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="later">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition id="later_timer">
        <bpmn:timeDuration>"PT1H"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:scriptTask id="spin"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>while True:
    pass</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="later" />
    <bpmn:sequenceFlow id="f2" sourceRef="later" targetRef="spin" />
    <bpmn:sequenceFlow id="f3" sourceRef="spin" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_an_endless_loop_after_a_timer_is_stopped_in_the_sweep(sqlite_service, clock, tmp_path):
    bundle = tmp_path / "timed"
    bundle.mkdir()
    (bundle / "timed.bpmn").write_text(TIMER_THEN_LOOP)
    sqlite_service.deploy([bundle], actor="owner")
    instance_id = sqlite_service.start_instance("timed_loop", {})
    with sqlite_service.unit_of_work() as session:
        state = session.get(ProcessInstance, instance_id).state
    clock.advance(hours=2)
    started = time.monotonic()
    assert sqlite_service.fire_due_timers() == []
    assert time.monotonic() - started < 5
    view = sqlite_service.show_instance(instance_id)
    assert (view.status, view.next_timer_at) == ("error", None)
    assert budget_message("spin").fullmatch(view.error)
    assert [e.kind for e in view.events] == ["instance_started", "script_error"]
    with sqlite_service.unit_of_work() as session:
        assert session.get(ProcessInstance, instance_id).state == state      # the failed step was not kept
    assert sqlite_service.fire_due_timers() == []                            # and is not retried in a loop
    assert counts(sqlite_service)["outbox_message"] == 0


CPU_BYPASSES = {   # each sets `greeting` afterwards, so the rest of the diagram runs when nothing stops it
    "exponential-recursion": "def f(n):\n    return 0 if n == 0 else f(n - 1) + f(n - 1)\nresult = f(21)\n"
                             "greeting = 'hello'",
    "nested-map": "n = sum(map(lambda a: sum(map(lambda b: sum(map(lambda c: 1, range(999))), range(999))), "
                  "range(3)))\ngreeting = 'hello'",
}


@pytest.mark.parametrize("name", list(CPU_BYPASSES))
def test_work_without_loops_is_bounded_too(name, sqlite_service, tmp_path):
    # 4 and 3 million calls: twice the 2,000,000-tick budget; unbounded variants of these run for hours
    error = refuse_at_run_time(sqlite_service, PLACE["script"], CPU_BYPASSES[name], tmp_path)
    assert "CPU budget exceeded" in str(error)


def test_a_budget_stop_in_an_expression_says_so(sqlite_service, tmp_path):
    code = "len([a for a in range(999) for b in range(999) for c in range(999)]) > 0"
    error = refuse_at_run_time(sqlite_service, PLACE["condition"], code, tmp_path)
    assert "CPU budget exceeded" in str(error)


CHILD = """\
import json, sys
from datetime import UTC, datetime
from engine.clock import FrozenClock
from engine.errors import ScriptError
from tests.conftest import make_service
service = make_service(sys.argv[1], FrozenClock(datetime(2026, 3, 2, 1, tzinfo=UTC)))
try:
    service.start_instance("hostile", {})
    print(json.dumps({"outcome": "started"}))
except ScriptError as exc:
    print(json.dumps({"outcome": "refused", "element": exc.element_id, "message": str(exc)}))
"""


def test_task_data_cannot_switch_the_budget_off(sqlite_service, sqlite_url, tmp_path):
    bundle = write_bundle(tmp_path / "bundle", dmn_output_name="_tick_", dmn_output="lambda: None",
                          pre=LOOPS["while-true"])
    try:
        sqlite_service.deploy([bundle], actor="owner")
    except SpecInvalid as refused:          # refusing `_` output names at deploy is a fix too
        assert any("_tick_" in p.message and p.file == "grade.dmn" for p in refused.problems)
        return
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:   # in a child process: in this one the loop would never end
        child = subprocess.run([sys.executable, "-c", CHILD, sqlite_url], cwd=ROOT, env=env, capture_output=True,
                               text=True, timeout=30)   # the budget counts CPU; load stretches wall time
    except subprocess.TimeoutExpired:
        pytest.fail("start_instance was still running after 30 s: the loop ran without a budget")
    assert json.loads(child.stdout)["element"] == "review"
    assert "CPU budget exceeded" in json.loads(child.stdout)["message"]


CYCLE = """\
<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="http://x">
  <bpmn:process id="cycle" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="spin">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:incoming>f_back</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>rounds = rounds + 1</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="again" default="f_out">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f_back</bpmn:outgoing><bpmn:outgoing>f_out</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="f_back" sourceRef="again" targetRef="spin">
      <bpmn:conditionExpression>True</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:endEvent id="end"><bpmn:incoming>f_out</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="spin" />
    <bpmn:sequenceFlow id="f2" sourceRef="spin" targetRef="again" />
    <bpmn:sequenceFlow id="f_out" sourceRef="again" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_an_endless_cycle_through_a_gateway_is_stopped(sqlite_service, tmp_path):
    bundle = tmp_path / "cycle"
    bundle.mkdir()
    (bundle / "cycle.bpmn").write_text(CYCLE)
    sqlite_service.deploy([bundle], actor="owner")
    before = dump(sqlite_service)
    with pytest.raises(ScriptError) as refused:
        sqlite_service.start_instance("cycle", {"rounds": 0})
    assert refused.value.element_id in {"spin", "again"}
    assert dump(sqlite_service) == before


UNCHECKED = """\
<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="http://x">
  <bpmn:process id="unchecked" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="looper"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:standardLoopCharacteristics>
        <bpmn:loopCondition>().__class__.__base__.__subclasses__()</bpmn:loopCondition>
      </bpmn:standardLoopCharacteristics>
      <bpmn:script>n = 1</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:intermediateCatchEvent id="when"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:conditionalEventDefinition id="when_condition">
        <bpmn:condition>().__class__.__base__.__subclasses__()</bpmn:condition>
      </bpmn:conditionalEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="looper" />
    <bpmn:sequenceFlow id="f2" sourceRef="looper" targetRef="when" />
    <bpmn:sequenceFlow id="f3" sourceRef="when" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""
SUBCLASSES_REFUSED = STATIC_ESCAPES["subclasses-walk"][1]


def unchecked_bundle(tmp_path: Path) -> Path:
    """Code in a loop condition and a conditional event (places a static check could easily miss)."""
    bundle = tmp_path / "unchecked"
    bundle.mkdir()
    (bundle / "unchecked.bpmn").write_text(UNCHECKED)
    return bundle


def test_loop_and_conditional_event_conditions_are_checked_at_deploy(sqlite_service, tmp_path):
    assert sqlite_service.validate([unchecked_bundle(tmp_path)]) == [
        Problem("unchecked.bpmn", 7, "looper", SANDBOX + SUBCLASSES_REFUSED),
        Problem("unchecked.bpmn", 13, "when", SANDBOX + SUBCLASSES_REFUSED),
    ]


