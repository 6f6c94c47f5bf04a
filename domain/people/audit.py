"""Admin actions (people, roles, org units, tokens, the calendar, retries): who did what, and when.

They are audit events without an instance, kept beside the engine's (calendar edits and retries already write
theirs); admins read them newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine.store.models import AuditEvent

ADMIN_KINDS = ("user_created", "user_updated", "password_reset", "user_deactivated", "user_reactivated",
               "role_granted", "role_revoked", "org_unit_saved", "token_revoked", "calendar_days_entered",
               "calendar_day_removed", "instance_retried", "delivery_retried")


@dataclass(frozen=True)
class AdminAction:
    """One audited admin action."""

    id: int
    at: datetime
    actor: str | None
    kind: str
    instance_id: int | None
    detail: dict


def record(session: Session, actor: str, kind: str, at: datetime, instance_id: int | None = None, **detail) -> None:
    """Audit one admin action in the caller's transaction."""
    session.add(AuditEvent(instance_id=instance_id, task_id=None, kind=kind, actor=actor, at=at, detail=detail))


def log(unit_of_work, actor: str, kind: str, at: datetime, instance_id: int | None = None, **detail) -> None:
    """Audit one admin action in a transaction of its own (for actions whose service does not audit them)."""
    with unit_of_work() as session:
        record(session, actor, kind, at, instance_id, **detail)


def admin_actions(session: Session, page: int = 1, per_page: int = 50, actor: str = "",
                  kind: str = "") -> tuple[list[AdminAction], int]:
    """One page of admin actions, newest first, and how many there are (optionally by one actor or of one kind)."""
    query = select(AuditEvent).where(AuditEvent.kind.in_(ADMIN_KINDS))
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if kind:
        query = query.where(AuditEvent.kind == kind)
    if not kind or kind == "instance_retried":     # retries are instance events: keep only those an admin did
        query = query.where(or_(AuditEvent.kind != "instance_retried", AuditEvent.actor.is_not(None)))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                           .offset((page - 1) * per_page).limit(per_page))
    return [AdminAction(r.id, r.at, r.actor, r.kind, r.instance_id, dict(r.detail or {})) for r in rows], total
