"""Hand-made records for the figures tests: three consultations whose figures are worked out by hand in the tests.

A (county tier, unit county): meeting held 2026-03-10 with members m001, m002; five suggestions answered adopted,
  partly, not adopted, not at all and sent back as not ours (no answer); visited satisfied, basically satisfied,
  unsatisfied; two research tasks done by m001 and m002 in February; step 1: one task on time, one five days late
  (span 2026-01-01 → 2026-01-20).
B (township tier, unit township_xunchang, raised by member m001 on 2026-04-01): meeting held 2026-05-02 with m001; one
  suggestion to a department that has not answered.
C (county tier): meeting held 2025-12-30 — outside 2026.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

from sqlalchemy import select

from domain.consultation import figure_counts
from domain.consultation.models import Consultation, IntakeItem, Suggestion
from engine.store.models import HumanTask, ProcessInstance, ProcessVersion
from engine.store.submissions import TaskSubmission

_ids = itertools.count(1)


def at(text: str) -> datetime:
    """An ISO date (or date-time) as UTC noon (or the time given)."""
    return datetime.fromisoformat(text if "T" in text else text + "T04:00").replace(tzinfo=UTC)


def _task(instance, spec, step, created, completed=None, due=None, by=None, status=None):
    return HumanTask(id=f"t{next(_ids)}", instance_id=instance.id, tier=instance.tier,
                     org_unit_code=instance.org_unit_code, task_spec=spec, name=spec, step=step,
                     status=status or ("completed" if completed else "ready"), created_at=at(created),
                     completed_at=at(completed) if completed else None, due_at=at(due) if due else None,
                     completed_by=by, assignee=by, escalation_level=0)


def _consultation(session, version, tier, unit, started_by=None, source="online", created="2026-01-01"):
    instance = ProcessInstance(version_id=version.id, process_id="consultation", status="running", state="{}", step=6,
                               tier=tier, org_unit_code=unit, started_by=started_by, created_at=at(created),
                               updated_at=at(created))
    session.add(instance)
    session.flush()
    item = IntakeItem(tracking_code=f"XS-T{next(_ids):03d}", instance_id=instance.id, title=f"议题{instance.id}",
                      description="", source=source, created_at=at(created))
    session.add(item)
    session.flush()
    row = Consultation(instance_id=instance.id, intake_id=item.id, title=item.title, topic=f"主题{instance.id}",
                       tier=tier, org_unit_code=unit, status="in_progress", created_at=at(created),
                       updated_at=at(created))
    session.add(row)
    session.flush()
    return instance, row


def _meeting(session, instance, held, attendees):
    record = session.scalar(select(Consultation).where(Consultation.instance_id == instance.id))
    record.meeting_date = date.fromisoformat(held)
    session.add(_task(instance, "hold_meeting", 4, held, held, by="org"))
    session.add(TaskSubmission(instance_id=instance.id, task_id=None, task_spec="hold_meeting", name="组织协商会议",
                               step=4, data={"attendees": attendees}, actor="org", submitted_at=at(held)))


def load(session) -> dict[str, int]:
    """Write A, B and C; returns their instance ids."""
    version = session.scalar(select(ProcessVersion).where(ProcessVersion.process_id == "consultation").limit(1))
    if version is None:          # a bare database: a version row for the instances to point at
        version = ProcessVersion(process_id="consultation", content_hash="x", files={}, created_at=at("2025-01-01"))
        session.add(version)
        session.flush()
    a, a_row = _consultation(session, version, "county", "county")
    _meeting(session, a, "2026-03-10", ["m001", "m002"])
    for number, (adoption, satisfaction) in enumerate(
            [("adopted", "satisfied"), ("partly", "basically_satisfied"), ("not_adopted", "unsatisfied"),
             (None, None), ("not_ours", None)], start=1):
        session.add(Suggestion(consultation_id=a_row.id, number=number, text=f"建议{number}", department_code="dept_a",
                               adoption=adoption, satisfaction=satisfaction, answer_round=1 if adoption else 0))
    session.add_all([_task(a, "research", 3, "2026-02-01", "2026-02-10", by="m001"),
                     _task(a, "research", 3, "2026-02-01", "2026-02-12", by="m002"),
                     _task(a, "define_topic", 1, "2026-01-01", "2026-01-05", due="2026-01-10", by="org"),
                     _task(a, "approve_topic", 1, "2026-01-02", "2026-01-20", due="2026-01-15", by="lead")])
    b, b_row = _consultation(session, version, "township", "township_xunchang", started_by="m001", source="member",
                             created="2026-04-01")
    _meeting(session, b, "2026-05-02", ["m001"])
    session.add(Suggestion(consultation_id=b_row.id, number=1, text="建议", department_code="dept_none",
                           answer_round=0))
    c, _ = _consultation(session, version, "county", "county", created="2025-11-01")
    _meeting(session, c, "2025-12-30", ["m002"])
    figure_counts.rebuild(session)        # the records were written here, not saved through the engine
    return {"a": a.id, "b": b.id, "c": c.id}


def load_step_spans(session) -> dict[str, int]:
    """Step 2 of five township consultations, for the heatmap (tests/unit/domain/test_step_times.py works them out):
    P 2026-07-01T04 → 07-03T16 (2.5 days: 3), due 07-05, on time;
    Q two tasks 07-02 → 07-04 (no due) and 07-03 → 07-07 (due 07-06: late), the step 07-02 → 07-07 (5 days);
    R 07-10 → 07-20 (10 days);  S (another township) 08-01 → 08-02 (1 day);
    T 08-05 → 08-06 done and 08-05 due 08-10 still open (the step not finished; breached once past 08-10)."""
    version = session.scalar(select(ProcessVersion).where(ProcessVersion.process_id == "consultation").limit(1))
    if version is None:
        version = ProcessVersion(process_id="consultation", content_hash="x", files={}, created_at=at("2025-01-01"))
        session.add(version)
        session.flush()
    made = {}
    for name, unit, tasks in [
            ("p", "township_a", [("2026-07-01", "2026-07-03T16:00", "2026-07-05")]),
            ("q", "township_a", [("2026-07-02", "2026-07-04", None), ("2026-07-03", "2026-07-07", "2026-07-06")]),
            ("r", "township_a", [("2026-07-10", "2026-07-20", None)]),
            ("s", "township_b", [("2026-08-01", "2026-08-02", None)]),
            ("t", "township_a", [("2026-08-05", "2026-08-06", None), ("2026-08-05", None, "2026-08-10")])]:
        instance, _ = _consultation(session, version, "township", unit, created="2026-07-01")
        session.add_all([_task(instance, "plan", 2, created, done, due=due, by="org" if done else None)
                         for created, done, due in tasks])
        made[name] = instance.id
    figure_counts.rebuild(session)
    return made
