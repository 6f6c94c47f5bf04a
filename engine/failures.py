"""Failure domains: an instance that cannot advance goes to `error` alone (timers and deadlines parked, the cause
kept and audited) while the sweep goes on; admins list such instances and retry them once the cause is fixed."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from engine import deadlines
from engine.errors import EngineError, ScriptError
from engine.store import statements
from engine.store.models import AuditEvent, Deadline, ProcessInstance, ProcessVersion
from engine.views import _AsDict

log = logging.getLogger(__name__)

MAX_CAUSE = 2000


@dataclass(frozen=True)
class Swept:
    """One part of a sweep: the rows acted on, and the instances that went to `error` instead."""

    done: tuple[int, ...] = ()
    failed: tuple[int, ...] = ()


@dataclass(frozen=True)
class InstanceErrorView(_AsDict):
    """An instance stopped in `error`: what it is, where it stopped, and why."""

    id: int
    process_id: str
    version: str
    status: str
    step: int | None
    org_unit: str | None
    element: str | None
    error: str | None
    failed_at: datetime | None
    revision: int


def cause_of(exc: BaseException) -> str:
    """The stored cause: an engine error's own message, else the exception's type and text."""
    text = exc.message if isinstance(exc, EngineError) else f"{type(exc).__name__}: {exc}"
    return text[:MAX_CAUSE]


def record(session: Session, row: ProcessInstance, exc: BaseException, now: datetime,
           actor: str | None = None, source: str = "timer") -> None:
    """Put the instance in `error` with the cause, park its timers and deadlines, audit and log it."""
    cause = cause_of(exc)
    element = exc.element_id if isinstance(exc, ScriptError) else None
    row.status, row.error, row.next_timer_at, row.updated_at = "error", cause, None, now
    flag_modified(row, "updated_at")
    park(session, row.id)
    kind = "script_error" if isinstance(exc, ScriptError) else "instance_error"
    statements.insert_later(session, AuditEvent.__table__, {     # in order with the engine's other events
        "instance_id": row.id, "kind": kind, "actor": actor, "task_id": None, "at": now,
        "detail": {"error": cause, "element": element, "source": source}})
    if isinstance(exc, EngineError):     # a diagram's or a value's fault: the cause says it all
        log.warning("instance %s stopped in error (%s): %s", row.id, source, cause)
    else:
        log.error("instance %s stopped in error (%s): %s", row.id, source, cause, exc_info=exc)


def park(session: Session, instance_id: int) -> None:
    """Open deadlines of an instance in `error` wait (no reminders or escalations) until it is retried."""
    session.execute(update(Deadline).where(Deadline.instance_id == instance_id, Deadline.status == "open")
                    .values(next_action_at=None))


def unpark(session: Session, instance_id: int) -> None:
    """Re-arm the open deadlines of an instance leaving `error` (what fell due meanwhile is due at once)."""
    for row in session.scalars(select(Deadline).where(Deadline.instance_id == instance_id, Deadline.status == "open")):
        row.next_action_at = deadlines.next_action(row)


def due_deadlines(session: Session, instance_id: int, now: datetime) -> list[int]:
    """The instance's open deadlines with an action due before `now`."""
    return list(session.scalars(select(Deadline.id).where(
        Deadline.instance_id == instance_id, Deadline.status == "open", Deadline.next_action_at < now)
        .order_by(Deadline.next_action_at)))


def error_views(session: Session, limit: int = 200) -> list[InstanceErrorView]:
    """Instances in `error`, most recent failure first."""
    rows = session.execute(select(ProcessInstance, ProcessVersion.content_hash)
                           .join(ProcessVersion, ProcessVersion.id == ProcessInstance.version_id)
                           .where(ProcessInstance.status == "error")
                           .order_by(ProcessInstance.updated_at.desc(), ProcessInstance.id.desc()).limit(limit)).all()
    return [error_view(session, row, content_hash) for row, content_hash in rows]


def error_view(session: Session, row: ProcessInstance, content_hash: str | None = None) -> InstanceErrorView:
    """One instance as an error view (its status may be anything once retried)."""
    if content_hash is None:
        content_hash = session.get(ProcessVersion, row.version_id).content_hash
    element = None
    if row.status == "error":
        event = session.scalars(select(AuditEvent).where(
            AuditEvent.instance_id == row.id, AuditEvent.kind.in_(("script_error", "instance_error")))
            .order_by(AuditEvent.id.desc()).limit(1)).first()
        element = (event.detail or {}).get("element") if event is not None else None
    return InstanceErrorView(row.id, row.process_id, content_hash[:12], row.status, row.step, row.org_unit_code,
                             element, row.error, row.updated_at, row.revision)
