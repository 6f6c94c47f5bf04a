"""A flat folder as SpiffArena exports it (one BPMN file, `*-schema.json` / `*-uischema.json` forms beside it,
`process_model.json`), drawn without lanes: parallel gateways, a multi-instance task, a standard loop, a cycle
back through a gateway and an interrupting boundary timer, run to its end with a cold restore before every step."""

from __future__ import annotations

from datetime import timedelta

from engine.bpmn import runtime
from engine.bpmn.serialization import state_serializer
from engine.bpmn.specs import load_bundle
from engine.store.versions import VersionCache
from tests.conftest import DATA

FLAT = DATA / "spiffarena_flat"
ANSWERS = {"survey": {"report": "走访了 12 户村民"}, "prepare": {"materials": "议程、签到表"}}


def fresh_parse():
    return VersionCache().parse(load_bundle([FLAT]))


def test_the_flat_folder_parses_with_its_forms():
    parsed = fresh_parse()
    assert parsed.process_id == "field_survey"
    for task in ("survey", "prepare", "decide"):
        schema, ui, path = parsed.form(task)
        assert path == f"{task}-schema.json" and schema["required"] and ui


def test_runs_to_its_end_with_a_cold_restore_before_every_step(clock):
    workflow = runtime.new_workflow(fresh_parse(), {})
    runtime.run(workflow, clock)
    decisions, path, timer_fired = [False, True], [], False
    for _ in range(30):
        parsed = fresh_parse()
        workflow = runtime.attach(state_serializer().loads(state_serializer().dumps(workflow), parsed.spec,
                                                           parsed.subprocess_specs))
        if workflow.completed:
            break
        ready = runtime.ready_user_tasks(workflow)
        if "prepare" in [t.task_spec.bpmn_id for t in ready] and not timer_fired:
            timer_fired = True      # the boundary timer interrupts the preparation a day later
            clock.set(runtime.next_timer_at(workflow) + timedelta(seconds=1))
            runtime.run(workflow, clock)
            continue
        task = ready[0]
        path.append(task.task_spec.bpmn_id)
        data = ANSWERS.get(task.task_spec.bpmn_id) or {"approved": decisions.pop(0)}

        def complete(task=task, data=data):
            task.set_data(**data)
            task.run()

        runtime.run(workflow, clock, on_task=complete)
    assert workflow.completed and path == ["survey", "survey", "decide", "decide"]
    assert workflow.data["reports"] == ["走访了 12 户村民"] * 2 and workflow.data["late"] is True
    assert workflow.data["visits"] == 3     # the standard loop ran its maximum
