"""A consultation carries out a plan item through the engine: started from the item (source `plan`), or linked at
triage; the link survives every later save and counts as held and completed, cold (every command with an empty
version cache, as a new process) and warm, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from sqlalchemy import select

from domain.consultation.models import Consultation
from domain.plans import completion
from domain.plans.service import ItemInput
from domain.plans.start import person, start_data
from engine.errors import PermissionDenied, ValidationFailed
from engine.store.versions import VersionCache
from tests.support.consultation import SCENARIOS, not_in_the_past

UNIT, HALL = "township_xunchang", "township_xunchang_hall"


def _approved_items(services, titles) -> list[int]:
    with services.engine.reading() as session:
        organizer, office = person(session, "organizer_xunchang"), person(session, "office")
    plan_id = services.plans.open_plan(organizer, services.engine.clock.now().year, UNIT)
    ids = [services.plans.add_item(organizer, plan_id, ItemInput(t, "", "", HALL, "m001", "6")) for t in titles]
    services.plans.submit(organizer, plan_id)
    services.plans.approve(office, plan_id)
    return ids


def _finish(engine, instance_id, scenario, cold, before=None, on_task=None):
    """Complete the instance's tasks with the scenario's answers (firing timers when only they are left)."""
    for _ in range(500):
        if cold:
            engine.cache = VersionCache()
        tasks = engine.list_tasks(instance_id=instance_id)
        if before and any(task.task_spec == before for task in tasks):
            return
        if not tasks:
            view = engine.show_instance(instance_id)
            if view.status == "completed":
                return
            engine.clock.set(view.next_timer_at + timedelta(seconds=1))
            engine.fire_due_timers()
            continue
        task = tasks[0]
        data = scenario.answer(task.task_spec, engine.show_instance(instance_id).data | {"_org_unit": task.org_unit})
        engine.complete_task(task.id, data, actor=task.candidates[0], revision=task.revision)
    raise AssertionError("did not finish")


def _linked(engine, instance_id):
    with engine.reading() as session:
        return session.scalar(select(Consultation.plan_item_id).where(Consultation.instance_id == instance_id))


@pytest.mark.slow
def test_started_from_an_item_and_linked_at_triage_both_count_when_held(consultation, consultation_services):
    """The started one runs cold to its end, the linked one warm to its meeting (one of each keeps the test short)."""
    engine, services = consultation, consultation_services
    started_item, triage_item = _approved_items(services, ["老街夜间照明", "学校门口交通"])
    scenario = not_in_the_past(copy.deepcopy(SCENARIOS["township"]), engine.clock.now())
    intake = scenario.intake()
    with engine.reading() as session:
        data = start_data(session, started_item, intake["title"], intake["description"], intake["category"])
    with pytest.raises(PermissionDenied):                          # another township's organizer may not
        engine.start_instance("consultation", data, actor="organizer_gongquan")
    first = engine.start_instance("consultation", data, actor="organizer_xunchang")
    assert _linked(engine, first) == started_item
    with pytest.raises(ValidationFailed, match="一个议题只能关联一个协商事项"):
        engine.start_instance("consultation", data, actor="organizer_xunchang")
    _finish(engine, first, scenario, cold=True)

    second = engine.start_instance("consultation", scenario.intake(), actor="m001")
    with engine.reading() as session:
        office = person(session, "office")
    services.plans.link(office, second, triage_item)              # at triage, before it is completed
    _finish(engine, second, copy.deepcopy(SCENARIOS["township"]), False, before="hold_meeting")
    assert _linked(engine, second) == triage_item                  # the steps' saves kept it
    with engine.reading() as session:
        year = completion.compute(session, engine.clock.now().year)
    assert year.by_unit[("township", UNIT)] == completion.Completion(planned=2, started=2, held=1, completed=1)
    services.plans.unlink(office, second)
    assert _linked(engine, second) is None
