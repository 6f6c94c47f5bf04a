"""The notification centre as a channel: one Notification row per delivery, written in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.notifications.channels.base import Channel, Recipient
from domain.notifications.models import Notification
from engine.store.models import OutboxMessage


class InApp(Channel):
    """The person's notification centre (站内通知)."""

    name = "inapp"
    in_transaction = True

    def reach(self, session: Session, people: Sequence[Recipient], kind: str) -> dict[str, dict]:
        """Everyone whose role's rule lets `kind` through in-app."""
        return {p.username: {} for p in people if self.cfg.allows(p.role, self.name, kind)}

    def send(self, session: Session, message: OutboxMessage, now: datetime) -> None:
        """Insert the notification unless one with this key exists (a racing insert loses on the key)."""
        write_notification(session, message, now)


def write_notification(session: Session, message: OutboxMessage, now: datetime) -> None:
    """Insert the in-app notification unless one with this key exists (a racing insert loses on the key)."""
    if session.scalar(select(Notification.id).where(Notification.idempotency_key == message.idempotency_key)):
        return
    p = message.params or {}
    try:
        with session.begin_nested():
            session.add(Notification(
                idempotency_key=message.idempotency_key, username=message.recipient, kind=p.get("kind", "result"),
                level=int(p.get("level", 0)), instance_id=message.instance_id, task_id=message.task_id,
                title=p.get("title", "")[:200], body=p.get("body", ""), created_at=now))
    except IntegrityError:
        pass    # another delivery of the same key got there first: exactly one notification either way
