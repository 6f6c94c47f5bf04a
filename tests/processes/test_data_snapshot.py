"""The data snapshot a save writes beside the state: after every command of a scenario (warm and cold restore,
SQLite and PostgreSQL) showing the instance gives the data its restored workflow carries, without restoring it; a
row saved before snapshots existed is shown from its state (the API's instance answer: tests/unit/webui/
test_api_instance.py)."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from sqlalchemy import update

from engine.bpmn import runtime
from engine.store.models import ProcessInstance
from engine.store.versions import VersionCache
from tests.support.consultation import SCENARIOS, not_in_the_past


def _restored(engine, instance_id: int) -> dict:
    with engine.reading() as session:
        return runtime.instance_data(engine.load(engine.loaded_instance(session, instance_id))[1])


def _no_restore(monkeypatch, engine) -> None:
    def refused(row):
        raise AssertionError(f"instance {row.id} restored to be shown")
    monkeypatch.setattr(engine, "load", refused)


@pytest.mark.parametrize("cold", [False, True], ids=["warm", "cold"])
def test_every_command_leaves_a_snapshot_equal_to_the_restored_data(consultation, monkeypatch, cold):
    scenario = not_in_the_past(copy.deepcopy(SCENARIOS["county"]), consultation.clock.now())
    instance_id = consultation.start_instance("consultation", scenario.intake(), actor="m001")
    checked = 0
    for _ in range(200):
        if cold:
            consultation.cache = VersionCache()
        expected = _restored(consultation, instance_id)
        with monkeypatch.context() as patched:
            _no_restore(patched, consultation)
            view = consultation.show_instance(instance_id)
        assert view.data == expected
        checked += 1
        tasks = consultation.list_tasks(instance_id=instance_id)
        if not tasks:
            if view.status == "completed":
                break
            consultation.clock.set(view.next_timer_at + timedelta(seconds=1))
            assert consultation.fire_due_timers() == [instance_id]
            continue
        task = tasks[0]
        data = scenario.answer(task.task_spec, view.data | {"_org_unit": task.org_unit})
        consultation.complete_task(task.id, data, actor=task.candidates[0], revision=task.revision)
    assert view.status == "completed" and checked > 20
    assert {"suggestions", "answers", "meeting_held_on"} <= set(view.data)


def test_a_row_saved_before_snapshots_is_shown_from_its_state(consultation):
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = consultation.start_instance("consultation", scenario.intake(), actor="m001")
    fresh = consultation.show_instance(instance_id).data
    with consultation.unit_of_work() as session:
        session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id).values(data_snapshot=None)
                        .execution_options(synchronize_session=False))
    assert consultation.show_instance(instance_id).data == fresh == _restored(consultation, instance_id)
    assert fresh["title"] == scenario.intake()["title"]
