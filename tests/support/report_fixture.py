"""Hand-made records for the monthly report (May 2026), on top of the demo people; NOW is 10 June 2026, 09:00 Beijing.

COUNTY (county tier, unit county): meeting held 2026-05-12 with m001 and m002; three suggestions — dept_housing
  adopted (visited: satisfied), dept_transport partly adopted (visited: unsatisfied), dept_housing not adopted — so
  adoption 66.7% (2 / 3) and satisfaction 50.0% (1 / 2). Its report task (step 5) is open, held by organizer_county,
  due 2026-05-20: overdue at the end of May and still now.
XUNCHANG (township tier, unit township_xunchang): meeting held 2026-05-20 with m001; one suggestion to dept_water, not
  answered. Its minutes task (step 4, the hall) was due 2026-05-25 and finished 2026-06-03: late at the end of May,
  not now. A step-6 task due 2026-06-05 is open: late now, not at the end of May.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

from sqlalchemy import select

from domain.consultation import figure_counts
from domain.consultation.models import Consultation, IntakeItem, Suggestion
from engine.clock import LOCAL_TZ
from engine.store.models import HumanTask, ProcessInstance, ProcessVersion
from engine.store.submissions import TaskSubmission

NOW = datetime(2026, 6, 10, 1, 0, tzinfo=UTC)
LONG_TOPIC = ("关于城关镇老旧小区加装电梯、改造雨污管网和增设停车位的协商"
              "（涉及多个部门，议题名称较长，需要在表格中换行显示）")
_ids = itertools.count(1)


def local(text: str) -> datetime:
    """A Beijing date (09:00) or date-time (YYYY-MM-DDTHH:MM) as UTC."""
    return datetime.fromisoformat(text if "T" in text else text + "T09:00").replace(tzinfo=LOCAL_TZ).astimezone(UTC)


def _case(session, version_id, tier, unit, topic):
    instance = ProcessInstance(version_id=version_id, process_id="consultation", status="running", state="{}", step=5,
                               tier=tier, org_unit_code=unit, started_by="m001", created_at=local("2026-04-01"),
                               updated_at=local("2026-04-01"))
    session.add(instance)
    session.flush()
    item = IntakeItem(tracking_code=f"XS-R{next(_ids):03d}", instance_id=instance.id, title=topic, description="",
                      source="online", created_at=local("2026-04-01"))
    session.add(item)
    session.flush()
    record = Consultation(instance_id=instance.id, intake_id=item.id, title=topic, topic=topic, tier=tier,
                          org_unit_code=unit, status="in_progress", created_at=local("2026-04-01"),
                          updated_at=local("2026-04-01"))
    session.add(record)
    session.flush()
    return instance, record


def _task(instance, spec, step, unit, created, due=None, completed=None, assignee=None, role="organizer", level=0):
    return HumanTask(id=f"r{next(_ids)}", instance_id=instance.id, task_spec=spec, name=spec, step=step, role=role,
                     org_unit_code=unit, tier=instance.tier, assignee=assignee,
                     status="completed" if completed else "ready", created_at=local(created),
                     due_at=local(due) if due else None, completed_at=local(completed) if completed else None,
                     completed_by=assignee if completed else None, escalation_level=level)


def _meeting(session, instance, record, held: str, attendees: list[str]):
    record.meeting_date = date.fromisoformat(held)
    session.add(_task(instance, "hold_meeting", 4, instance.org_unit_code, held, completed=held,
                      assignee="organizer_county"))
    session.add(TaskSubmission(instance_id=instance.id, task_id=None, task_spec="hold_meeting", name="组织协商会议",
                               step=4, data={"attendees": attendees}, actor="organizer_county",
                               submitted_at=local(held)))


def load(session, late_tasks: bool = True) -> dict[str, int]:
    """Write both cases (the demo people and the consultation's version must be there); their instance ids. Without
    `late_tasks` only the meetings and suggestions (a shared server's other tests see no new open task)."""
    version_id = session.scalar(select(ProcessVersion.id).where(ProcessVersion.process_id == "consultation"))
    county, county_row = _case(session, version_id, "county", "county", LONG_TOPIC)
    _meeting(session, county, county_row, "2026-05-12", ["m001", "m002"])
    for number, (department, adoption, satisfaction) in enumerate(
            [("dept_housing", "adopted", "satisfied"), ("dept_transport", "partly", "unsatisfied"),
             ("dept_housing", "not_adopted", None)], start=1):
        session.add(Suggestion(consultation_id=county_row.id, number=number, text=f"县级建议{number}：加快推进改造",
                               department_code=department, adoption=adoption, satisfaction=satisfaction,
                               answer_round=1, promised_date=date(2026, 9, 30) if adoption != "not_adopted" else None))
    if late_tasks:
        session.add(_task(county, "report_results", 5, "county", "2026-05-13", due="2026-05-20",
                          assignee="organizer_county", level=1))
    xunchang, xunchang_row = _case(session, version_id, "township", "township_xunchang", "巡场镇农贸市场秩序整治")
    _meeting(session, xunchang, xunchang_row, "2026-05-20", ["m001"])
    session.add(Suggestion(consultation_id=xunchang_row.id, number=1, text="镇级建议：规范摊位",
                           department_code="dept_water", answer_round=0))
    if late_tasks:
        session.add_all([
            _task(xunchang, "write_minutes", 4, "township_xunchang_hall", "2026-05-20", due="2026-05-25",
                  completed="2026-06-03", assignee="organizer_xunchang"),
            _task(xunchang, "follow_up_visit", 6, "township_xunchang", "2026-06-01", due="2026-06-05")])
    session.flush()
    figure_counts.rebuild(session)        # the records were written here, not saved through the engine
    return {"county": county.id, "xunchang": xunchang.id}
