"""Backlog gauges for monitoring: a handful of COUNT queries, each answered from an index, and a liveness ping."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from .models import Deadline, OutboxMessage, ProcessInstance

UNDELIVERED = ("pending", "failed", "sending")     # waiting for (another) attempt; `parked` waits for a person


@dataclass(frozen=True)
class Backlog:
    """What waits for the sweep or for an administrator, right now."""

    due_timers: int             # instances whose next timer is due and not yet fired
    due_deadlines: int          # open deadlines with a reminder or escalation due
    outbox_backlog: int         # deliveries not yet made (pending, retrying or being sent)
    parked_deliveries: int      # deliveries that gave up and wait for a person to retry them
    instances_in_error: int     # instances stopped in `error`


def backlog(session: Session, now: datetime) -> Backlog:
    """Count the backlog (each query filters on an indexed column: status, next_timer_at, next_action_at)."""
    def count(query) -> int:
        return session.scalar(query) or 0

    return Backlog(
        due_timers=count(select(func.count()).select_from(ProcessInstance)
                         .where(ProcessInstance.next_timer_at <= now)),
        due_deadlines=count(select(func.count()).select_from(Deadline)
                            .where(Deadline.status == "open", Deadline.next_action_at <= now)),
        outbox_backlog=count(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.status.in_(UNDELIVERED))),
        parked_deliveries=count(select(func.count()).select_from(OutboxMessage)
                                .where(OutboxMessage.status == "parked")),
        instances_in_error=count(select(func.count()).select_from(ProcessInstance)
                                 .where(ProcessInstance.status == "error")))


def ping(session: Session, timeout_ms: int = 2000) -> None:
    """SELECT 1, bounded by `timeout_ms` on PostgreSQL (a statement timeout for this transaction only); raises the
    driver's error when the database cannot answer."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL statement_timeout = {int(timeout_ms)}"))
    session.execute(text("SELECT 1"))
