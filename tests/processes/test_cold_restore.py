"""A restored instance behaves as if it never left memory: parsed specs are wired up front, never at run time.

Before that, a multi-instance step whose children completed after a cold restore stalled for ever; such stored
states continue, in memory and through the database after the 0005 migration."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from alembic import command
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.bpmn import runtime, specs
from engine.bpmn.serialization import state_serializer
from engine.bpmn.specs import load_bundle
from engine.store import db
from engine.store.models import ProcessInstance
from engine.store.versions import VersionCache
from tests.conftest import CONSULTATION
from tests.support.consultation import SCENARIOS, run_through_engine

RESEARCHERS = ("m001", "m014")


def fresh_parse():
    return VersionCache().parse(load_bundle([CONSULTATION]))


def _stall_in_memory(clock, monkeypatch) -> str:
    """Drive a township consultation the old way (unwired fresh parse per step) until step 3 stalls."""
    scenario = copy.deepcopy(SCENARIOS["township"])
    with monkeypatch.context() as patch:
        patch.setattr(specs, "wire_loops", lambda process_spec: None)
        parsed = fresh_parse()
        workflow = runtime.new_workflow(parsed, scenario.intake())
        runtime.run(workflow, clock)
        for _ in range(20):
            parsed = fresh_parse()
            text = state_serializer().dumps(workflow)
            workflow = state_serializer().loads(text, parsed.spec, parsed.subprocess_specs)
            workflow.script_engine = runtime.SCRIPT_ENGINE      # the old attach: no resuming
            ready = runtime.ready_user_tasks(workflow)
            if not ready:
                break
            task = ready[0]
            data = scenario.answer(task.task_spec.bpmn_id, runtime.instance_data(workflow) | task.data)

            def complete(task=task, data=data):
                task.set_data(**data)
                task.run()

            runtime.run(workflow, clock, on_task=complete)
    [research] = workflow.get_tasks(state=TaskState.STARTED, spec_name="research")
    assert [c.state for c in research.children if c.task_spec.name == research.task_spec.task_spec] == \
        [TaskState.COMPLETED] * len(RESEARCHERS)
    assert research.internal_data["merged"] == [] and runtime.status_of(workflow) == "waiting"
    assert runtime.next_timer_at(workflow) is None
    return state_serializer().dumps(workflow)


def test_a_stored_stalled_research_step_continues_after_restore(clock, monkeypatch):
    text = _stall_in_memory(clock, monkeypatch)
    parsed = fresh_parse()
    workflow = runtime.attach(state_serializer().loads(text, parsed.spec, parsed.subprocess_specs))
    runtime.run(workflow, clock)
    [summary] = runtime.ready_user_tasks(workflow)
    assert summary.task_spec.bpmn_id == "summarize_research"
    assert [r["researcher"] for r in summary.data["research_reports"]] == list(RESEARCHERS)


def test_a_fresh_parse_is_wired_like_a_restored_spec():
    parsed = fresh_parse()
    step3 = parsed.subprocess_specs["step3"]
    research = step3.task_specs["research"]
    inner = step3.task_specs[research.task_spec]
    assert inner.completed_event.is_connected(research.merge_child)


def test_stalled_instances_in_the_database_continue_after_the_migration(consultation, db_url, monkeypatch):
    scenario = copy.deepcopy(SCENARIOS["township"])
    with monkeypatch.context() as patch:     # the old engine: every command in a new process, unwired specs
        patch.setattr(specs, "wire_loops", lambda process_spec: None)
        patch.setattr(runtime, "resume_loops", lambda workflow: False)
        with pytest.raises(AssertionError, match="stuck in waiting"):
            run_through_engine(consultation, scenario, cold=True)
    consultation.cache = VersionCache()
    with consultation.unit_of_work() as session:
        row = session.scalar(select(ProcessInstance))
        instance_id = row.id
        assert (row.status, row.next_timer_at, row.step) == ("waiting", None, 3)
    assert consultation.list_tasks(instance_id=instance_id) == []

    config = db.alembic_config(db_url)
    command.stamp(config, "0004")
    command.upgrade(config, "0005")
    command.stamp(config, "head")

    consultation.clock.set(consultation.clock.now() + timedelta(minutes=5))     # the next sweep after the upgrade
    assert consultation.fire_due_timers() == [instance_id]
    [summary] = consultation.list_tasks(instance_id=instance_id)
    assert summary.task_spec == "summarize_research"
    view = consultation.show_instance(instance_id)
    assert [r["researcher"] for r in view.data["research_reports"]] == list(RESEARCHERS)
    assert view.events[-1].kind == "instance_resumed" and view.next_timer_at is None
    consultation.complete_task(summary.id, scenario.answer("summarize_research", view.data),
                               actor=summary.candidates[0])
    assert consultation.list_tasks(instance_id=instance_id)[0].task_spec == "hold_meeting"


def test_an_event_subprocess_triggered_in_one_instance_does_not_start_the_next(clock):
    from engine.store.versions import OPERATORS
    from tests.processes.conformance_support import SPIFF_DIR, require_shared

    require_shared()
    parsed = specs.parse_bundle(load_bundle([SPIFF_DIR / "bpmn" / "data" / "event-subprocess.bpmn"]), OPERATORS)
    for _ in range(2):
        workflow = runtime.new_workflow(parsed, {})
        runtime.run(workflow, clock)
        assert [t.task_spec.name for t in workflow.get_tasks(spec_name="sub")] == []   # not before its event
        while ready := runtime.ready_user_tasks(workflow):
            runtime.run(workflow, clock, on_task=ready[0].run)
        assert workflow.completed
        assert [t.state for t in workflow.get_tasks(spec_name="sub")] == [TaskState.COMPLETED]


def test_a_parsed_spec_with_bounded_loops_still_converts_for_migrations():
    from engine.bpmn.serialization import StateSerializer

    parsed = fresh_parse()
    converted = StateSerializer().registry.convert(parsed.subprocess_specs["step3"])   # as _migrate does
    assert converted["task_specs"]["research"]["typename"].endswith("ParallelMultiInstanceTask")
