"""Inbox counts kept beside the human-task rows, so a tab's count is read, not counted: ready tasks held by each person
("a", username), ready unheld tasks per (role, org unit) ("c", role, unit: a person's claimable count sums their
memberships' rows) and tasks each person completed ("d", username).

Like engine.store.open_counts, the counts move in the same flush as the rows: a `before_flush` listener sees every
human_task row added, changed or deleted (claim, release, reassign, complete, cancel, a migration's rewrite — whichever
module wrote it), takes the row's old key away and adds its new one, with upserts in key order (two concurrent saves
lock the counts they share in the same order: no deadlock, no lost count). `rebuild` recomputes them from the rows
(bulk loads bypass the flush); `all_counts` and `expected` are what a check compares.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Integer, String, and_, case, delete, event, func, inspect, literal, or_, select, tuple_
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from engine.store import statements
from engine.store.db import Base
from engine.store.models import HumanTask
from engine.store.open_counts import value_before_flush

HELD, UNHELD, DONE = "a", "c", "d"
NONE = ""
Key = tuple[str, str, str]          # (kind, subject: username or role, org unit or NONE)


class InboxCount(Base):
    """How many tasks one person holds (HELD) or completed (DONE), or how many ready unheld tasks one (role, org
    unit) has (UNHELD)."""

    __tablename__ = "inbox_count"
    kind: Mapped[str] = mapped_column(String(1), primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_unit_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    tasks: Mapped[int] = mapped_column(Integer, default=0)


def key_of(status: str | None, assignee: str | None, role: str | None, org_unit: str | None,
           completed_by: str | None) -> Key | None:
    """The count a row with these values belongs to (None: no count)."""
    if status == "ready":
        return (HELD, assignee, NONE) if assignee else (UNHELD, role or NONE, org_unit or NONE)
    if status == "completed" and completed_by:
        return DONE, completed_by, NONE
    return None


FIELDS = ("status", "assignee", "role", "org_unit_code", "completed_by")


def install(factory: sessionmaker) -> None:
    """Keep the counts up to date in every session `factory` makes."""
    event.listen(factory, "before_flush", _before_flush)


def _before_flush(session: Session, _context, _instances) -> None:
    delta: Counter = Counter()
    for row in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(row, HumanTask):
            continue
        state = inspect(row)
        if state.persistent or state.deleted:
            old = key_of(*(value_before_flush(state, name) for name in FIELDS))
            if old is not None:
                delta[old] -= 1
        if row not in session.deleted:
            new = key_of(*(getattr(row, name) for name in FIELDS))
            if new is not None:
                delta[new] += 1
    add(session, delta)


def add(session: Session, delta: Counter) -> None:
    """Add `delta` to the stored counts, in key order."""
    statements.together(session.connection(), [adding(delta)])


def adding(delta: Counter) -> statements.Rows:
    """`delta` as the rows to add to the stored counts, in key order (for `statements.together`)."""
    return statements.Rows(InboxCount.__table__, [{"kind": k[0], "subject": k[1], "org_unit_code": k[2], "tasks": v}
                                                  for k, v in sorted(delta.items()) if v],
                           ("kind", "subject", "org_unit_code"), adding="tasks")


def recount(session: Session) -> Counter:
    """The counts as the rows say they should be (one grouping in SQL)."""
    held = HumanTask.assignee.is_not(None)
    kind = case((HumanTask.status == "completed", literal(DONE)), (held, literal(HELD)), else_=literal(UNHELD))
    subject = case((HumanTask.status == "completed", HumanTask.completed_by), (held, HumanTask.assignee),
                   else_=func.coalesce(HumanTask.role, NONE))
    unit = case((or_(HumanTask.status == "completed", held), literal(NONE)),
                else_=func.coalesce(HumanTask.org_unit_code, NONE))
    counted = or_(HumanTask.status == "ready", and_(HumanTask.status == "completed",
                                                   HumanTask.completed_by.is_not(None)))
    query = select(kind, subject, unit, func.count()).where(counted).group_by(kind, subject, unit)
    return Counter({(k, s, u): n for k, s, u, n in session.execute(query)})


def rebuild(session: Session) -> int:
    """Recompute every count from the rows; returns the number of tasks counted."""
    session.flush()
    counts = recount(session)
    session.execute(delete(InboxCount))
    add(session, counts)
    return sum(counts.values())


def all_counts(session: Session) -> dict[Key, int]:
    """Every non-zero stored count."""
    return {(r.kind, r.subject, r.org_unit_code): r.tasks for r in session.scalars(select(InboxCount)) if r.tasks}


def expected(session: Session) -> dict[Key, int]:
    """The non-zero counts a recount of the rows gives."""
    return {key: n for key, n in recount(session).items() if n}


def held_and_unheld(username: str, memberships) -> tuple:
    """Scalar SQL for (tasks `username` holds, unheld tasks of their (role, org unit) memberships, tasks they
    completed): three reads of the primary key."""
    def total(*conditions):
        return select(func.coalesce(func.sum(InboxCount.tasks), 0)).where(*conditions).scalar_subquery()

    pairs = sorted(set(memberships))
    unheld = (total(InboxCount.kind == UNHELD, tuple_(InboxCount.subject, InboxCount.org_unit_code).in_(pairs))
              if pairs else literal(0))
    return (total(InboxCount.kind == HELD, InboxCount.subject == username, InboxCount.org_unit_code == NONE),
            unheld,
            total(InboxCount.kind == DONE, InboxCount.subject == username, InboxCount.org_unit_code == NONE))
