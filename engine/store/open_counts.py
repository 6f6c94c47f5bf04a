"""Open human tasks kept as counts per (task's org unit, instance's org unit, due day), so a board of open, overdue and
at-risk tasks per unit sums a few thousand counts rather than counting every open task on each request.

A count is keyed by the local (county time) day a task is due on, not by "overdue": whether a task is late depends on
the moment one asks, the day it is due on does not, so the counts need no sweep as time passes. A reader sums the
days before today for "overdue" and reads the tasks due on the boundary days themselves (`day_bounds`).

The counts move in the same flush as the rows they count: a `before_flush` listener on the engine's sessions
(`install`) sees every human_task row added, closed, or whose due time or org unit changed, and every instance whose
org unit changed, whichever module wrote it, and adds the difference with upserts in key order (two concurrent saves
lock the counts they share in the same order: no deadlock, no lost count). `rebuild` recomputes them from the rows;
`all_counts` is what a check compares.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Index, Integer, String, and_, case, delete, event, func, inspect, literal, literal_column, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from engine.clock import LOCAL_TZ
from engine.store import statements
from engine.store.db import Base
from engine.store.models import HumanTask, ProcessInstance

OPEN = "ready"
NONE = ""                       # the key's value for "no org unit" / "no due time"
ANY = "*"                       # the instance unit of the rows that count every instance's tasks
DAY, MONTH = "d", "m"

Key = tuple[str, str, str]      # (task's org unit, instance's org unit, due day YYYY-MM-DD), NONE when absent
Row = tuple[str, str, str, str]  # (task's org unit, instance's org unit or ANY, span, due day or month)


class OpenTaskCount(Base):
    """How many open tasks of one org unit, on instances of one org unit (ANY: of every unit), are due on one local
    day (span "d") or in one local month (span "m": a reader sums past months without reading their days)."""

    __tablename__ = "open_task_count"
    # a unit's supervisor also reads other units' tasks on the unit's cases (by the case's unit); the county-wide
    # reads the ANY rows of a span and range
    __table_args__ = (Index("ix_open_task_count_read", "span", "instance_unit_code", "due", "org_unit_code", "tasks"),)
    org_unit_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    instance_unit_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    span: Mapped[str] = mapped_column(String(1), primary_key=True)
    due: Mapped[str] = mapped_column(String(10), primary_key=True)
    tasks: Mapped[int] = mapped_column(Integer, default=0)


def due_day(moment: datetime | None) -> str:
    """The local day `moment` falls on (naive values are UTC, as the database returns them), NONE for no moment."""
    if moment is None:
        return NONE
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(LOCAL_TZ).date().isoformat()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The local day as [start, end) moments."""
    start = datetime.combine(day, datetime.min.time(), LOCAL_TZ)
    return start, start + timedelta(days=1)


def install(factory: sessionmaker) -> None:
    """Keep the counts up to date in every session `factory` makes."""
    event.listen(factory, "before_flush", _before_flush)


def value_before_flush(state, name: str):
    """The attribute's value before this flush's changes (its current value when unchanged)."""
    history = state.attrs[name].history
    if history.deleted:
        return history.deleted[0]
    return history.unchanged[0] if history.unchanged else getattr(state.obj(), name)


def _before_flush(session: Session, _context, _instances) -> None:
    delta: Counter = Counter()
    moved_instances: dict[int, tuple[str, str]] = {}
    for obj in session.dirty:
        if isinstance(obj, ProcessInstance):
            state = inspect(obj)
            if state.attrs.org_unit_code.history.has_changes() and obj.id is not None:
                old = value_before_flush(state, "org_unit_code") or NONE
                if old != (obj.org_unit_code or NONE):
                    moved_instances[obj.id] = (old, obj.org_unit_code or NONE)
    changed = [obj for obj in (*session.new, *session.dirty, *session.deleted) if isinstance(obj, HumanTask)]
    units = _instance_units(session, {row.instance_id for row in changed}, moved_instances)
    seen = set()
    for row in changed:
        seen.add(row.id)
        old_unit, new_unit = units.get(row.instance_id, (NONE, NONE))
        state = inspect(row)
        if (state.persistent or state.deleted) and value_before_flush(state, "status") == OPEN:
            before = value_before_flush(state, "org_unit_code") or NONE
            delta[(before, old_unit, due_day(value_before_flush(state, "due_at")))] -= 1
        if row.status == OPEN and row not in session.deleted:
            delta[(row.org_unit_code or NONE, new_unit, due_day(row.due_at))] += 1
    if moved_instances:
        _move_untouched(session, moved_instances, seen, delta)
    add(session, delta)


def _instance_units(session: Session, ids: set[int], moved: dict[int, tuple[str, str]]) -> dict[int, tuple[str, str]]:
    """(before this flush, after it) org unit of each instance among `ids`."""
    found = {iid: pair for iid, pair in moved.items() if iid in ids}
    rest = sorted(iid for iid in ids if iid not in found and iid is not None)
    for iid in list(rest):
        obj = session.identity_map.get(inspect(ProcessInstance).identity_key_from_primary_key((iid,)))
        if obj is not None and not inspect(obj).expired:
            found[iid] = (obj.org_unit_code or NONE,) * 2
            rest.remove(iid)
    if rest:
        connection = session.connection()
        for iid, code in connection.execute(select(ProcessInstance.id, ProcessInstance.org_unit_code)
                                            .where(ProcessInstance.id.in_(rest))):
            found[iid] = (code or NONE,) * 2
    return found


def _move_untouched(session: Session, moved: dict[int, tuple[str, str]], seen: set[str], delta: Counter) -> None:
    """Open tasks this flush does not otherwise change, on instances whose org unit changed, move with them."""
    rows = session.connection().execute(
        select(HumanTask.id, HumanTask.instance_id, HumanTask.org_unit_code, HumanTask.due_at)
        .where(HumanTask.instance_id.in_(sorted(moved)), HumanTask.status == OPEN))
    for task_id, iid, code, due in rows:
        if task_id in seen:
            continue
        old, new = moved[iid]
        day = due_day(due)
        delta[(code or NONE, old, day)] -= 1
        delta[(code or NONE, new, day)] += 1


def instance_moved(session: Session, instance_id: int, old: str, new: str) -> None:
    """An instance's org unit changed from `old` to `new` outside a flush (written directly): its open tasks' counts,
    as stored now, move with it."""
    delta: Counter = Counter()
    _move_untouched(session, {instance_id: (old, new)}, set(), delta)
    add(session, delta)


def spread(delta: Counter) -> Counter:
    """Day-level counts as the stored rows: per day and per month, per instance unit and for ANY."""
    rows: Counter = Counter()
    for (unit, instance_unit, day), n in delta.items():
        for target in (instance_unit, ANY):
            rows[(unit, target, DAY, day)] += n
            rows[(unit, target, MONTH, day[:7])] += n
    return rows


def add(session: Session, delta: Counter) -> None:
    """Add day-level `delta` to the stored counts, in key order (concurrent saves lock the counts they share in the
    same order)."""
    statements.together(session.connection(), [adding(delta)])


def adding(delta: Counter) -> statements.Rows:
    """Day-level `delta` as the rows to add to the stored counts, in key order (for `statements.together`)."""
    return statements.Rows(OpenTaskCount.__table__,
                           [{"org_unit_code": k[0], "instance_unit_code": k[1], "span": k[2], "due": k[3], "tasks": v}
                            for k, v in sorted(spread(delta).items()) if v],
                           ("org_unit_code", "instance_unit_code", "span", "due"), adding="tasks")


def _day_expression(dialect: str):
    """SQL for `due_day` of human_task.due_at (stored as naive UTC; the county's time has one fixed offset)."""
    hours = int(LOCAL_TZ.utcoffset(None).total_seconds() // 3600)
    if dialect == "sqlite":
        day = func.date(HumanTask.due_at, f"{hours:+d} hours", type_=String)
    else:
        day = func.to_char(HumanTask.due_at + literal_column(f"interval '{hours} hours'"), "YYYY-MM-DD",
                           type_=String)
    return func.coalesce(day, NONE)


def recount(session: Session) -> Counter:
    """The counts as the open rows say they should be (one grouping in SQL)."""
    day = _day_expression(session.get_bind().dialect.name)
    unit, instance_unit = func.coalesce(HumanTask.org_unit_code, NONE), func.coalesce(ProcessInstance.org_unit_code,
                                                                                      NONE)
    query = (select(unit, instance_unit, day, func.count())
             .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
             .where(HumanTask.status == OPEN).group_by(unit, instance_unit, day))
    return Counter({(code, instance_code, due): n for code, instance_code, due, n in session.execute(query)})


def rebuild(session: Session) -> int:
    """Recompute every count from the open rows; returns the number of open tasks counted."""
    session.flush()
    counts = recount(session)
    session.execute(delete(OpenTaskCount))
    add(session, counts)
    return sum(counts.values())


def all_counts(session: Session) -> dict[Row, int]:
    """Every non-zero stored count (a rebuild check compares these)."""
    return {(r.org_unit_code, r.instance_unit_code, r.span, r.due): r.tasks
            for r in session.scalars(select(OpenTaskCount)) if r.tasks}


def expected(session: Session) -> dict[Row, int]:
    """The non-zero stored counts a recount of the open rows gives."""
    return {key: n for key, n in spread(recount(session)).items() if n}


def per_unit(session: Session, today: date, until_day: date, codes: list[str] | None) -> dict[str, list[int]]:
    """Task org unit → [open, due before `today`, due after `today` and before `until_day`] from the counts (tasks
    due on those two days themselves count as open only: whether they are late depends on the hour); only tasks of
    `codes` or on cases of `codes` unless None. Reads the months' rows and this month's days up to `until_day`."""
    first, last, month = today.isoformat(), until_day.isoformat(), today.isoformat()[:7]
    tasks, due = OpenTaskCount.tasks, OpenTaskCount.due
    months = select(OpenTaskCount.org_unit_code, func.sum(tasks),
                    func.sum(case((and_(due != NONE, due < month), tasks), else_=0)), literal(0)) \
        .where(OpenTaskCount.span == MONTH)
    days = select(OpenTaskCount.org_unit_code, literal(0), func.sum(case((due < first, tasks), else_=0)),
                  func.sum(case((due > first, tasks), else_=0))) \
        .where(OpenTaskCount.span == DAY, due >= f"{month}-01", due < last, due != first)
    found: dict[str, list[int]] = {}
    for query in (months, days):
        for part in _scoped(query, codes):
            for code, *sums in session.execute(part.group_by(OpenTaskCount.org_unit_code)):
                totals = found.setdefault(code, [0, 0, 0])
                for index, n in enumerate(sums):
                    totals[index] += int(n or 0)
    return found


def _scoped(query, codes: list[str] | None) -> list:
    """The ANY rows of every unit, or of `codes` plus other units' rows on the cases of `codes`."""
    if codes is None:
        return [query.where(OpenTaskCount.instance_unit_code == ANY)]
    return [query.where(OpenTaskCount.instance_unit_code == ANY, OpenTaskCount.org_unit_code.in_(codes)),
            query.where(OpenTaskCount.instance_unit_code.in_(codes), OpenTaskCount.org_unit_code.not_in(codes))]
