"""Telling a unit that the county CPPCC office approved or returned its annual plan: one request in the outbox,
which the dispatcher turns into a notice for each of the unit's organizers and platform leads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from domain.plans.models import ConsultationPlan
from engine.store.models import OutboxMessage

BODIES = {"approved": "{year} 年度协商计划已由县政协办公室批准。",
          "returned": "{year} 年度协商计划被县政协办公室退回，理由：{note}"}


def plan_decided(session: Session, plan: ConsultationPlan, status: str, now: datetime) -> OutboxMessage:
    """Ask for the plan's unit (its organizers and platform leads) to be told of the office's decision."""
    unit = plan.org_unit_code
    message = OutboxMessage(
        idempotency_key=f"plan:{plan.id}:{status}:{now.isoformat()}", instance_id=None, task_id=None,
        operator="notify", channel="dispatch", status="pending", attempts=0,
        params={"kind": "result", "to": f"organizer@{unit},platform_lead@{unit}",
                "subject": f"{plan.year} 年度协商计划",
                "message": BODIES[status].format(year=plan.year, note=plan.note or "")},
        created_at=now, next_attempt_at=now)
    session.add(message)
    return message
