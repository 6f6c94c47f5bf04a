"""Deadlines that follow the case's own dates: the meeting (step 4) is due a few working days after the meeting day
the approved plan set; the follow-up visit (step 6) is due counted from when it is created, after the wait, never
before; the re-answer is due on the supervisor's time limit. Warm and cold (a fresh parse before each command), on
SQLite and PostgreSQL."""

from __future__ import annotations

import copy
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from domain.work.deadline_rules import TIERS, process_rules
from engine import deadlines
from engine.bpmn.specs import load_bundle
from engine.clock import LOCAL_TZ
from engine.errors import ValidationFailed
from engine.store.models import Deadline
from engine.store.versions import VersionCache
from tests.conftest import CONSULTATION
from tests.support.consultation import SCENARIOS, advance


def _deadlines(engine, instance_id: int, step: int) -> list[Deadline]:
    with engine.unit_of_work() as session:
        rows = session.scalars(select(Deadline).where(Deadline.instance_id == instance_id, Deadline.step == step)
                               .order_by(Deadline.id)).all()
        session.expunge_all()
        return list(rows)


def _working_days_after(engine, start: datetime, days: int) -> datetime:
    with engine.unit_of_work() as session:
        return engine.calendar.add_working_days(session, start, days)[0]


def _cold(engine, cold: bool) -> None:
    if cold:
        engine.cache = VersionCache()


@pytest.mark.parametrize("cold", [False, True], ids=["warm", "cold"])
def test_the_meeting_is_due_after_the_plans_meeting_date_not_after_the_step_start(consultation, cold):
    scenario = copy.deepcopy(SCENARIOS["township"])             # the plan sets the meeting for 2026-04-15
    instance_id = consultation.start_instance("consultation", scenario.intake(), actor="m001")
    _cold(consultation, cold)
    advance(consultation, instance_id, scenario, "hold_meeting")
    _cold(consultation, cold)
    [meeting] = consultation.list_tasks(instance_id=instance_id)
    now = consultation.clock.now()
    assert now.astimezone(LOCAL_TZ).date().isoformat() == "2026-03-02"
    # township: the minutes within 3 working days of the meeting day (Thu 16, Fri 17, Mon 20 April)
    assert meeting.due_at == datetime(2026, 4, 20, 23, 59, 59, tzinfo=LOCAL_TZ)
    assert meeting.due_from == "meeting_date=2026-04-15" and meeting.due_basis == "working"
    [row] = _deadlines(consultation, instance_id, 4)
    assert (row.started_at, row.counted_from, row.due_at) == (now, "meeting_date=2026-04-15", meeting.due_at)
    assert row.remind_at == meeting.due_at - timedelta(days=1)      # the table's reminder lead for township step 4


def test_a_meeting_date_already_past_makes_the_task_due_on_it_and_says_so(consultation):
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = consultation.start_instance("consultation", scenario.intake(), actor="m001")
    advance(consultation, instance_id, scenario, "summarize_research")
    consultation.clock.set(datetime(2026, 4, 28, 9, 0, tzinfo=LOCAL_TZ))   # research ran past the planned meeting
    advance(consultation, instance_id, scenario, "hold_meeting")
    [meeting] = consultation.list_tasks(instance_id=instance_id)
    assert meeting.due_at == datetime(2026, 4, 20, 23, 59, 59, tzinfo=LOCAL_TZ) < consultation.clock.now()
    assert meeting.due_from == "meeting_date=2026-04-15"      # why it is overdue at birth: the plan's own date


@pytest.mark.parametrize("cold", [False, True], ids=["warm", "cold"])
def test_the_visit_is_due_after_the_wait_and_never_before_it_is_created(consultation, cold):
    scenario = copy.deepcopy(SCENARIOS["mixed_follow_up"])
    instance_id = consultation.start_instance("consultation", scenario.intake(), actor="m001")
    advance(consultation, instance_id, scenario, "answer_suggestion")
    while consultation.list_tasks(instance_id=instance_id):     # answer every suggestion: step 6 starts, waiting
        _cold(consultation, cold)
        [task, *_] = consultation.list_tasks(instance_id=instance_id)
        data = scenario.answer(task.task_spec, consultation.show_instance(instance_id).data)
        consultation.complete_task(task.id, data, actor=task.candidates[0], revision=task.revision)
    view = consultation.show_instance(instance_id)
    assert view.status == "waiting" and view.next_timer_at is not None
    assert _deadlines(consultation, instance_id, 6) == []       # the wait is nobody's to be late for
    _cold(consultation, cold)
    created = view.next_timer_at + timedelta(seconds=1)        # township: 30 days after the answers
    consultation.clock.set(created)
    assert consultation.fire_due_timers() == [instance_id]
    _cold(consultation, cold)
    [visit] = consultation.list_tasks(instance_id=instance_id)
    assert visit.task_spec == "follow_up_visit"
    assert visit.due_at == _working_days_after(consultation, created, 10) > created
    [row] = _deadlines(consultation, instance_id, 6)
    assert (row.started_at, row.counted_from, row.basis) == (created, None, "working")
    assert row.remind_at > created                              # its reminder is not due at birth either
    advance(consultation, instance_id, scenario, "supervise")
    [supervise] = consultation.list_tasks(instance_id=instance_id)
    assert supervise.due_at == visit.due_at > consultation.clock.now()
    advance(consultation, instance_id, scenario, "reanswer_suggestion")
    [reanswer] = consultation.list_tasks(instance_id=instance_id)
    # the supervisor's 督办时限 (2026-12-31 in the scenario), end of that day: its own date, not the step's
    assert reanswer.due_at == datetime(2026, 12, 31, 23, 59, 59, tzinfo=LOCAL_TZ) > consultation.clock.now()


def test_the_rules_the_page_lists_are_the_rules_the_engine_applies():
    parsed = VersionCache().parse(load_bundle([CONSULTATION]))
    listed = process_rules(deadlines.table(parsed))
    assert {(r.step, r.tier) for r in listed.rows} == {(s, t) for s in range(7) for t in TIERS}
    for row in listed.rows:
        applied = deadlines.lookup(parsed, row.tier, row.step)
        assert (row.duration.iso, row.reminder_lead.iso, row.escalation_grace.iso) == (
            applied["duration"], applied["reminder_lead"], applied["escalation_grace"])
        assert row.working == (applied["unit"] == "working")
        assert (row.field or row.counted_from) == applied["counted_from"]
    meeting = [r for r in listed.rows if r.step == 4]
    assert {(r.field, r.field_title) for r in meeting} == {("meeting_date", "拟定协商会议日期")}
    assert {r.counted_from for r in listed.rows if r.step == 6} == {"task"}
    assert [(d.task, d.field, d.field_title) for d in listed.own_dues] == [
        ("再次办理答复", "supervision_deadline", "督办时限")]


def test_a_supervisors_time_limit_in_the_past_is_refused_so_the_reanswer_is_never_born_overdue(consultation):
    scenario = copy.deepcopy(SCENARIOS["mixed_follow_up"])
    instance_id = consultation.start_instance("consultation", scenario.intake(), actor="m001")
    advance(consultation, instance_id, scenario, "supervise")
    [supervise] = consultation.list_tasks(instance_id=instance_id)
    today = consultation.clock.now().astimezone(LOCAL_TZ).date()
    yesterday = (today - timedelta(days=1)).isoformat()
    notice = {"supervision_notice": "请于限期内完成剩余路段。"}
    with pytest.raises(ValidationFailed) as refused:
        consultation.complete_task(supervise.id, notice | {"supervision_deadline": yesterday},
                                   actor=supervise.candidates[0])
    [message] = refused.value.field_errors["supervision_deadline"]
    assert f"不能早于今天（{today.isoformat()}）" in message and "cannot be earlier than today" in message
    consultation.complete_task(supervise.id, notice | {"supervision_deadline": today.isoformat()},
                               actor=supervise.candidates[0])
    [reanswer] = consultation.list_tasks(instance_id=instance_id)
    assert reanswer.due_at == datetime.combine(today, time(23, 59, 59), LOCAL_TZ) > consultation.clock.now()


def test_an_extension_of_the_reanswer_adds_its_days_to_the_supervisors_date(consultation, consultation_services):
    services = consultation_services
    scenario = copy.deepcopy(SCENARIOS["mixed_follow_up"])
    instance_id = consultation.start_instance("consultation", scenario.intake(), actor="m001")
    advance(consultation, instance_id, scenario, "reanswer_suggestion")
    [reanswer] = consultation.list_tasks(instance_id=instance_id)
    own = datetime(2026, 12, 31, 23, 59, 59, tzinfo=LOCAL_TZ)
    assert reanswer.due_at == own
    request_id = services.extensions.request(reanswer.id, services.accounts.user(reanswer.candidates[0]), 5,
                                             "需协调电力部门")
    services.extensions.decide(request_id, services.accounts.user("supervisor_county"), True)
    [step] = [d for d in _deadlines(consultation, instance_id, 6) if d.status == "open"]
    # the supervisor's date plus five working days, not the step's (earlier) due moment plus five
    assert consultation.get_task(reanswer.id).due_at == _working_days_after(consultation, own, 5) > own
    assert consultation.get_task(reanswer.id).due_at != step.due_at
