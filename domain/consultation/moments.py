"""The moments of a consultation its proposer hears about (accepted, declined, meeting held, results published),
found in the save that made them happen and written as a notify request to the outbox, as a service task would:
dispatch turns it into an in-app notice (when they have an account) and a text message (when they left a phone)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from domain.consultation.views import tracking_code_of
from engine.store.models import HumanTask, OutboxMessage, ProcessInstance

MOMENTS = ("accepted", "declined", "meeting_held", "published")


def happened(session: Session, instance: ProcessInstance, data: dict, now: datetime, advance,
             finished: Collection[str] | None = None) -> list[str]:
    """The moments this save made happen; `finished`: the tasks this save completed, when the caller read them."""
    if finished is None:
        finished = set(session.scalars(select(HumanTask.task_spec).where(
            HumanTask.instance_id == instance.id, HumanTask.status == "completed", HumanTask.completed_at == now)))
    calls = list(advance.service_calls)
    found = []
    if "triage" in finished and data.get("decision") == "accept":
        found.append("accepted")
    if any(c.operator == "notify" and (c.params or {}).get("kind") == "declined" for c in calls):
        found.append("declined")
    if "hold_meeting" in finished and data.get("meeting_held_on"):
        found.append("meeting_held")
    if any(c.operator == "publish" for c in calls):
        found.append("published")
    return found


def words(moment: str, data: dict, code: str | None) -> tuple[str, dict[str, str]]:
    """The in-app text and the text-message template variables (in template order) of a moment."""
    title = str(data.get("title") or "")
    if moment == "accepted":
        return f"您反映的《{title}》已受理，进入协商。查询码：{code or '-'}。", {"title": title, "code": code or ""}
    if moment == "declined":
        reason = str(data.get("public_reason") or "")
        return f"您反映的《{title}》未予受理。理由：{reason}", {"title": title, "reason": reason}
    if moment == "meeting_held":
        held = str(data.get("meeting_held_on") or "")
        return f"您反映的《{title}》已于 {held} 召开协商会议。", {"title": title, "date": held}
    report = str(data.get("report_title") or "")
    return f"您反映的《{title}》已完成协商，成果《{report}》已公开。", {"title": title, "report": report}


_TOLD = select(OutboxMessage.idempotency_key).where(
    OutboxMessage.idempotency_key.in_(bindparam("keys", expanding=True)))     # built once


def tell(session: Session, instance: ProcessInstance, data: dict, now: datetime, advance,
         finished: Collection[str] | None = None) -> None:
    """Ask for the proposer to be told each moment this save made happen (each moment once per instance);
    `finished` as `happened` takes it."""
    phone = str(data.get("contact_phone") or "").strip() or None
    if not phone:       # in-app, the proposer with an account hears through the diagram's notify tasks
        return
    moments = happened(session, instance, data, now, advance, finished)
    if moments:         # a moment is told once: a save that finds it again (the same day's work) reads one row
        told = set(session.scalars(_TOLD, {"keys": [moment_key(instance.id, moment) for moment in moments]}))
        moments = [moment for moment in moments if moment_key(instance.id, moment) not in told]
    code = tracking_code_of(session, instance.id) if moments else None
    for moment in moments:
        message, values = words(moment, data, code)
        tell_proposer(session, instance.id, moment, now, message=message, values=values, phone=phone, in_app=False)


def moment_key(instance_id: int, moment: str) -> str:
    """The idempotency key of the request telling one moment of one instance."""
    return f"{instance_id}:moment:{moment}"


def tell_proposer(session: Session, instance_id: int, moment: str, now: datetime, *, message: str,
                  values: dict[str, str], phone: str | None = None, in_app: bool = True) -> OutboxMessage | None:
    """Ask for the proposer to be told `moment` (once per instance and moment, however often this is called):
    in-app when `in_app`, by text message with the template `values` when they left `phone`. None: nothing to do."""
    if moment not in MOMENTS:
        raise ValueError(f"unknown moment {moment!r}")
    key = moment_key(instance_id, moment)
    if not (phone or in_app) or session.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)):
        return None
    params = {"kind": moment, "to": "proposer" if in_app else "", "moment": moment, "message": message[:500],
              "values": dict(values), "channels": ["inapp", "sms"] if in_app else ["sms"]}   # never group robots
    if phone:
        params["phone"] = phone
    row = OutboxMessage(idempotency_key=key, instance_id=instance_id, task_id=None, operator="notify",
                        channel="dispatch", params=params, status="pending", attempts=0, created_at=now,
                        next_attempt_at=now)
    session.add(row)
    return row
