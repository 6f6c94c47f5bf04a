"""A township (曹营镇, township_caoying) whose halls meet the 七有 standard or miss exactly one item each, built from
hand-made records: entered items in each state, plans (approved and not), meetings (held, planned, last year),
consultations held at the halls and their suggestions' answers."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime

from sqlalchemy import select

from domain.consultation.models import Consultation, Suggestion
from domain.halls.models import HallStandard
from domain.meetings.models import Meeting
from domain.plans.models import ConsultationPlan, PlanItem
from engine.store.models import ProcessInstance, ProcessVersion

AT = datetime(2026, 5, 20, 2, 0, tzinfo=UTC)
TOWNSHIP = "township_caoying"
ALL = f"{TOWNSHIP}_hall"
# hall → the one item it misses (the township's own hall misses none)
MISSES = {f"{TOWNSHIP}_v01_hall": "venue", f"{TOWNSHIP}_v02_hall": "signage", f"{TOWNSHIP}_v03_hall": "rules",
          f"{TOWNSHIP}_v04_hall": "people", f"{TOWNSHIP}_v05_hall": "plan", f"{TOWNSHIP}_v06_hall": "activity",
          f"{TOWNSHIP}_v07_hall": "results"}
# how a missed entered item stands: not entered, waiting, returned, not entered
MISSED_STATE = {"venue": None, "signage": "submitted", "rules": "returned", "people": None}


def entered(session, hall: str, item: str, state: str, by: str = "organizer_caoying") -> None:
    """An entered item in `state`."""
    session.add(HallStandard(hall_code=hall, item=item, state=state, note="见照片", submitted_by=by, submitted_at=AT,
                             decided_by=None if state == "submitted" else "office",
                             decided_at=None if state == "submitted" else AT,
                             reason="标识不清晰" if state == "returned" else None))


def meeting(session, hall: str, status: str = "held", at: datetime = AT) -> None:
    """A hall activity."""
    session.add(Meeting(kind="activity", title=f"{hall}活动", hall_code=hall, org_unit_code=TOWNSHIP, starts_at=at,
                        status=status, organizer="organizer_caoying", checkin_token=secrets.token_urlsafe(16),
                        created_at=AT, updated_at=AT))


def consultation(session, hall: str, held_on: date, step: int = 6, status: str = "in_progress") -> Consultation:
    """A township consultation whose plan names the hall (its meeting held when `step` is past 4)."""
    version_id = session.scalar(select(ProcessVersion.id).where(ProcessVersion.process_id == "consultation"))
    instance = ProcessInstance(version_id=version_id, process_id="consultation", status="running", state="{}",
                               step=step, tier="township", org_unit_code=TOWNSHIP, started_by="m001", created_at=AT,
                               updated_at=AT)
    session.add(instance)
    session.flush()
    record = Consultation(instance_id=instance.id, title=f"{hall}的协商", topic="议题", tier="township",
                          org_unit_code=TOWNSHIP, status=status, step=step, meeting_date=held_on, hall_code=hall,
                          created_at=AT, updated_at=AT)
    session.add(record)
    session.flush()
    return record


def suggestion(session, case: Consultation, number: int, adoption: str | None) -> None:
    """A suggestion of the meeting, answered with `adoption` (None: not yet)."""
    session.add(Suggestion(consultation_id=case.id, number=number, text=f"建议{number}", department_code="dept_housing",
                           adoption=adoption, answer_round=1 if adoption else 0))


def plan(session, year: int, status: str, halls: list[str], unit: str = TOWNSHIP) -> None:
    """A plan of `unit` for `year` in `status` naming `halls`."""
    row = ConsultationPlan(year=year, tier="township", org_unit_code=unit, status=status,
                           created_by="organizer_caoying",
                           created_at=AT, updated_at=AT)
    session.add(row)
    session.flush()
    session.add_all(PlanItem(plan_id=row.id, number=n, title=f"事项{n}", source="township", platform="township",
                             org_unit_code=unit, hall_code=hall, target_month=5, created_at=AT)
                    for n, hall in enumerate(halls, start=1))


def build(session) -> None:
    """The township's halls for 2026 (see MISSES), plus records that must not count: a draft plan, a planned
    meeting, last year's meeting and a consultation still before its meeting."""
    for hall in [ALL, *MISSES]:
        missed = MISSES.get(hall)
        for item in ("venue", "signage", "rules", "people"):
            if item != missed:
                entered(session, hall, item, "confirmed")
            elif MISSED_STATE[item]:
                entered(session, hall, item, MISSED_STATE[item])
    plan(session, 2026, "approved", [h for h in [ALL, *MISSES] if MISSES.get(h) != "plan"])
    plan(session, 2026, "draft", [f"{TOWNSHIP}_v05_hall"], unit=f"{TOWNSHIP}_v05")
    for hall in [ALL, *MISSES]:
        if MISSES.get(hall) == "activity":
            meeting(session, hall, status="planned")
            meeting(session, hall, at=datetime(2025, 11, 3, 2, 0, tzinfo=UTC))
            consultation(session, hall, date(2026, 9, 1), step=3)          # its meeting not held yet
            continue
        if MISSES.get(hall) != "results":
            case = consultation(session, hall, date(2026, 4, 15))
            suggestion(session, case, 1, "not_adopted")
            suggestion(session, case, 2, "partly" if hall != ALL else "adopted")
        else:
            meeting(session, hall)
            case = consultation(session, hall, date(2026, 4, 15))
            suggestion(session, case, 1, "not_adopted")
            suggestion(session, case, 2, None)
    session.flush()


def template(sqlite_template, folder) -> object:
    """A migrated SQLite file with the demo people, the consultation deployed and the township built (once per
    module: each test copies it, instead of loading the demo and deploying again)."""
    from domain.consultation.demo import load_demo
    from engine.clock import FrozenClock
    from tests.conftest import CONSULTATION, DATA, copy_sqlite, make_services

    path = folder / "halls.db"
    services = make_services(copy_sqlite(sqlite_template, path), FrozenClock(AT))
    try:
        with services.engine.unit_of_work() as session:
            load_demo(session, AT)
        services.engine.deploy([CONSULTATION], actor="owner")
        services.engine.deploy([DATA / "mini"], actor="owner")
        with services.engine.unit_of_work() as session:
            build(session)
    finally:
        services.close()
    return path
