"""Step deadlines per tier: reminders before, escalation at the deadline (level 1) and after the grace (level 2),
nothing for steps already done, and approved extensions moving the deadline — on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from domain.consultation.demo import load_demo
from engine import deadlines
from engine.errors import InvalidState, PermissionDenied, ValidationFailed
from engine.store import open_counts
from engine.store.models import AuditEvent, Deadline, HumanTask, OutboxMessage, ProcessInstance
from tests.conftest import CONSULTATION
from tests.support.consultation import SCENARIOS


@pytest.fixture
def township(service):
    """A township consultation, triaged: define_topic (step 1) is open for organizer_xunchang."""
    with service.unit_of_work() as session:
        load_demo(session, service.clock.now())
    service.deploy([CONSULTATION], actor="owner")
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = service.start_instance("consultation", scenario.intake(), actor="m001")
    [triage] = service.list_tasks(instance_id=instance_id)
    service.complete_task(triage.id, scenario.answer("triage", service.show_instance(instance_id).data), "office")
    [topic] = service.list_tasks(instance_id=instance_id)
    return service, instance_id, topic, scenario


def _deadline(service, instance_id, step):
    with service.unit_of_work() as session:
        return session.scalars(select(Deadline).where(Deadline.instance_id == instance_id, Deadline.step == step)
                               .order_by(Deadline.id.desc())).first()


def _notices(service, instance_id):
    with service.unit_of_work() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.instance_id == instance_id)
                               .order_by(OutboxMessage.id)).all()
        return [(m.params.get("kind"), m.params.get("level"), m.params.get("to")) for m in rows]


def _user(services, name):
    return services.accounts.user(name)


def test_a_step_gets_its_tier_deadline_and_tasks_show_it(township):
    service, instance_id, topic, _ = township
    row = _deadline(service, instance_id, 1)
    assert (row.scope, row.status, row.level, row.tier) == ("step1", "open", 0, "township")
    assert topic.due_at == row.due_at and row.remind_at < row.due_at < row.escalate_at
    assert row.next_action_at == row.remind_at
    assert _deadline(service, instance_id, 0).status == "closed"      # triage is done: its deadline closed


def test_reminder_then_level_1_then_level_2(township):
    service, instance_id, topic, _ = township
    row = _deadline(service, instance_id, 1)
    assert service.fire_deadlines() == []
    service.clock.set(row.remind_at + timedelta(seconds=1))
    assert service.fire_deadlines() == [row.id]
    assert service.fire_deadlines() == []                              # once
    assert _notices(service, instance_id)[-1] == ("reminder", 0, "assignee")
    service.clock.set(row.due_at + timedelta(seconds=1))
    service.fire_deadlines()
    assert service.get_task(topic.id).escalation_level == 1
    assert _notices(service, instance_id)[-1] == ("escalation", 1, "supervisor")
    service.clock.set(row.escalate_at + timedelta(seconds=1))
    service.fire_deadlines()
    assert service.get_task(topic.id).escalation_level == 2
    assert _notices(service, instance_id)[-1] == ("escalation", 2, "county_leadership")
    assert _deadline(service, instance_id, 1).next_action_at is None
    kinds = [e.kind for e in service.show_instance(instance_id).events]
    assert kinds.count("reminder_sent") == 1 and kinds.count("escalated") == 2
    assert service.fire_deadlines(row.escalate_at + timedelta(days=30)) == []


def test_a_sweep_never_waits_on_an_instance_a_submit_holds(township):
    """PostgreSQL: a submit's save locks the instance, then writes its deadlines; a deadline sweep claims through
    the instance's row in the same order, so it skips an instance held right now (its reminder stays due) instead of
    locking the deadline first and then waiting for the instance — the two waiting on each other was a deadlock that
    failed a submit with a 500 under load."""
    service, instance_id, _topic, _ = township
    if service.sessions.kw["bind"].dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    row = _deadline(service, instance_id, 1)
    service.clock.set(row.remind_at + timedelta(seconds=1))
    holder, fired = service.sessions(), []
    try:
        holder.execute(select(ProcessInstance.id).where(ProcessInstance.id == instance_id).with_for_update())
        sweep = threading.Thread(target=lambda: fired.append(service.fire_deadlines()), daemon=True)
        sweep.start()
        sweep.join(20)
        waited = sweep.is_alive()
    finally:
        holder.rollback()
        holder.close()
    sweep.join(20)
    assert not waited and fired == [[]]          # skipped at once, not blocked behind the held instance
    assert service.fire_deadlines() == [row.id]  # due still: fired once the instance is free


def test_a_late_sweep_catches_up_in_order(township):
    service, instance_id, topic, _ = township
    row = _deadline(service, instance_id, 1)
    service.clock.set(row.escalate_at + timedelta(hours=1))
    service.fire_deadlines()
    assert [n for n in _notices(service, instance_id) if n[0] != "declined"][-3:] == [
        ("reminder", 0, "assignee"), ("escalation", 1, "supervisor"), ("escalation", 2, "county_leadership")]
    assert service.get_task(topic.id).escalation_level == 2


def test_no_reminder_for_a_step_already_done(township):
    service, instance_id, topic, scenario = township
    row = _deadline(service, instance_id, 1)
    service.complete_task(topic.id, scenario.answer("define_topic", {}), "organizer_xunchang")
    assert _deadline(service, instance_id, 1).status == "closed"
    service.clock.set(row.escalate_at + timedelta(days=1))
    assert row.id not in service.fire_deadlines()
    with service.unit_of_work() as session:
        params = session.scalars(select(OutboxMessage.params).where(OutboxMessage.instance_id == instance_id)).all()
        events = session.scalars(select(AuditEvent.detail).where(
            AuditEvent.instance_id == instance_id, AuditEvent.kind.in_(["reminder_sent", "escalated"]))).all()
    assert [p for p in params if p.get("step") == 1] == []
    assert [e for e in events if e["step"] == 1] == []
    assert {e["step"] for e in events} == {2}       # the next step's own deadline did pass meanwhile


def test_an_approved_extension_moves_the_deadline(services, township):
    service, instance_id, topic, _ = township
    old = _deadline(service, instance_id, 1)
    request_id = services.extensions.request(topic.id, _user(services, "organizer_xunchang"), 5, "需要补充调研")
    with pytest.raises(InvalidState, match="已有待审批"):
        services.extensions.request(topic.id, _user(services, "organizer_xunchang"), 3, "再延")
    with pytest.raises(PermissionDenied):
        services.extensions.decide(request_id, _user(services, "organizer_xunchang"), True)
    decided = services.extensions.decide(request_id, _user(services, "supervisor_xunchang"), True)
    assert decided.status == "approved" and decided.due_at == old.due_at + timedelta(days=5)
    assert service.get_task(topic.id).due_at == old.due_at + timedelta(days=5)
    with service.reading() as session:         # kept on the row (the board sorts by it) and in the open-task counts
        assert session.get(HumanTask, topic.id).extensions == 1
        assert open_counts.all_counts(session) == open_counts.expected(session)
    service.clock.set(old.due_at + timedelta(seconds=1))
    service.fire_deadlines()
    assert service.get_task(topic.id).escalation_level == 0              # not at the old time
    service.clock.set(old.due_at + timedelta(days=5, seconds=1))
    service.fire_deadlines()
    assert service.get_task(topic.id).escalation_level == 1              # at the new one
    kinds = [e.kind for e in service.show_instance(instance_id).events]
    assert "extension_requested" in kinds and "extension_approved" in kinds
    assert ("extension", 0, "supervisor") in _notices(service, instance_id)


def test_extension_requests_are_checked(services, township):
    service, instance_id, topic, _ = township
    with pytest.raises(ValidationFailed) as err:
        services.extensions.request(topic.id, _user(services, "organizer_xunchang"), 0, "")
    assert set(err.value.field_errors) == {"days", "reason"}
    with pytest.raises(PermissionDenied):
        services.extensions.request(topic.id, _user(services, "m050"), 5, "理由")
    request_id = services.extensions.request(topic.id, _user(services, "organizer_xunchang"), 5, "理由")
    rejected = services.extensions.decide(request_id, _user(services, "supervisor_county"), False)
    assert rejected.status == "rejected" and service.get_task(topic.id).due_at == topic.due_at
    with pytest.raises(InvalidState, match="已处理"):
        services.extensions.decide(request_id, _user(services, "supervisor_county"), True)


def test_overdue_tasks_carry_the_level_in_the_projection(township):
    service, instance_id, topic, _ = township
    row = _deadline(service, instance_id, 1)
    service.clock.set(row.due_at + timedelta(seconds=1))
    service.fire_deadlines()
    with service.unit_of_work() as session:
        human = session.get(HumanTask, topic.id)
        assert (human.escalation_level, human.due_at) == (1, row.due_at)


def test_an_extension_of_an_overdue_step_counts_from_the_approval(services, township):
    service, instance_id, topic, _ = township
    old = _deadline(service, instance_id, 1)
    late = old.escalate_at + timedelta(days=5)                 # past the due moment and the grace: level 2
    service.clock.set(late)
    service.fire_deadlines()
    assert service.get_task(topic.id).escalation_level == 2
    request_id = services.extensions.request(topic.id, _user(services, "organizer_xunchang"), 5, "等待上级批复")
    approved_at = late + timedelta(hours=3)
    service.clock.set(approved_at)
    decided = services.extensions.decide(request_id, _user(services, "supervisor_xunchang"), True)
    row = _deadline(service, instance_id, 1)
    # township step 1 counts calendar days: due 5 days after the approval, not 5 days after the passed due moment
    assert decided.due_at == row.due_at == approved_at + timedelta(days=5)
    assert old.due_at + timedelta(days=5) < approved_at      # what the old rule gave: already in the past
    assert row.remind_at == row.due_at - (old.due_at - old.remind_at)
    assert row.escalate_at == row.due_at + (old.escalate_at - old.due_at)
    assert (row.level, row.reminded_at, row.next_action_at) == (0, None, row.remind_at)
    task = service.get_task(topic.id)
    assert (task.due_at, task.escalation_level) == (row.due_at, 0)
    service.clock.set(row.due_at + timedelta(seconds=1))
    service.fire_deadlines()
    assert service.get_task(topic.id).escalation_level == 1       # overdue again only at the new due moment


def test_extend_counts_working_days_from_now_when_the_due_moment_passed():
    due = datetime(2026, 3, 6, 9, 0, tzinfo=UTC)                # a Friday
    row = Deadline(due_at=due, remind_at=due - timedelta(days=1), escalate_at=due + timedelta(days=3), level=1,
              basis="working", reminded_at=due - timedelta(days=1))
    approved = datetime(2026, 3, 11, 2, 0, tzinfo=UTC)          # the next Wednesday, the step overdue
    deadlines.extend(None, row, 3, approved)                    # Thu, Fri, Mon: three working days
    assert row.due_at == datetime(2026, 3, 16, 2, 0, tzinfo=UTC)
    assert (row.remind_at, row.escalate_at) == (row.due_at - timedelta(days=1), row.due_at + timedelta(days=3))
    assert (row.level, row.reminded_at) == (0, None)
    ahead = Deadline(due_at=due, remind_at=None, escalate_at=None, level=0, basis="working", reminded_at=None)
    deadlines.extend(None, ahead, 3, due - timedelta(days=1))   # still ahead: from the old due moment
    assert ahead.due_at == datetime(2026, 3, 11, 9, 0, tzinfo=UTC)
