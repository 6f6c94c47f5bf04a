"""The overdue board (督办): a platform-unit matrix of overdue and at-risk open tasks, and the list behind each cell
(filtered, sorted, paged, exported) — all from SQL over the human-task projection, deadlines and org units."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache

from sqlalchemy import and_, bindparam, case, func, or_, select
from sqlalchemy.orm import Session

from domain.calendar.workdays import add_working_days, year_calendar
from domain.people import policy
from domain.people.accounts import UserView
from domain.people.roles import ROLE_NAMES
from domain.work.models import TaskUrge
from engine.clock import LOCAL_TZ
from engine.hooks import HookRegistry
from engine.store import directory, keyset, open_counts
from engine.store.models import HumanTask, OrgUnit, ProcessInstance, User

AT_RISK_WORKING_DAYS = 2          # open tasks due within this many working days are at risk (临期)
# The units a task counts under: the first of these kinds up its org unit's chain (a village hall counts under its
# township); the board's sections in this order.
BOARD_KINDS = ("county", "committee", "sector", "township", "department")
STATES = ("overdue", "at_risk", "open")
SORTS = ("due", "-due", "step", "-step", "unit", "-unit", "escalation", "-escalation", "urges", "-urges",
         "extensions", "-extensions")
MAX_PER_PAGE = 100
MAX_LATE_SPAN = 3660              # working days late are counted over at most ten years


# --- who and where --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Units:
    """The org tree as the board needs it: each code's name, kind and the board unit it counts under."""

    names: dict[str, str]
    kinds: dict[str, str]
    board_unit: dict[str, str]

    @classmethod
    def load(cls, session: Session) -> Units:
        rows = session.execute(select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.kind, OrgUnit.parent_id)).all()
        by_id = {row.id: row for row in rows}
        board: dict[str, str] = {}
        for row in rows:
            seen, current = 0, row
            while current is not None and current.kind not in BOARD_KINDS and seen < 20:
                current, seen = by_id.get(current.parent_id), seen + 1
            if current is not None and current.kind in BOARD_KINDS:
                board[row.code] = current.code
        return cls({r.code: r.name for r in rows}, {r.code: r.kind for r in rows}, board)

    def ancestors(self, session: Session, code: str | None) -> frozenset[str]:
        """`code` and the units above it (a supervisor of any of them watches a task there)."""
        found, parents = set(), dict(session.execute(select(OrgUnit.code, OrgUnit.parent_id)).all())
        codes_by_id = dict(session.execute(select(OrgUnit.id, OrgUnit.code)).all())
        while code and code not in found:
            found.add(code)
            parent = parents.get(code)
            code = codes_by_id.get(parent) if parent is not None else None
        return frozenset(found)


def scope_codes(session: Session, user: UserView) -> frozenset[str] | None:
    """The org unit codes whose tasks `user` watches on the board (with every unit below them); None for all."""
    units = policy.supervised_units(user)
    if units is None:
        return None
    return frozenset(code for unit in units for code in directory.units_within(session, unit))


def _scope_condition(codes: frozenset[str] | None):
    """Tasks of the units, or of instances of the units (a department's answer on a township's topic); the
    instances by their own indexed column, so the condition needs no join."""
    if codes is None:
        return None
    ordered = sorted(codes)
    return or_(HumanTask.org_unit_code.in_(ordered), HumanTask.instance_id.in_(
        select(ProcessInstance.id).where(ProcessInstance.org_unit_code.in_(ordered)).scalar_subquery()))


def _split(codes: frozenset[str], where: list, *columns) -> tuple:
    """Open tasks matching `where` within `_scope_condition(codes)`, as two SELECTs of `columns` that each read an
    index: the units' own tasks (by status and org unit), and other units' tasks on the units' cases (the cases by
    their org unit, then their tasks by case). The second states the status so that no index on it can be used:
    a planner without statistics (SQLite) would otherwise walk every open task and look up its case."""
    ordered = sorted(codes)
    own = select(*columns).select_from(HumanTask).where(
        HumanTask.status == "ready", *where, HumanTask.org_unit_code.in_(ordered))
    theirs = (select(*columns).select_from(ProcessInstance)
              .join(HumanTask, HumanTask.instance_id == ProcessInstance.id)
              .where(ProcessInstance.org_unit_code.in_(ordered), (HumanTask.status + "") == "ready", *where,
                     or_(HumanTask.org_unit_code.is_(None), HumanTask.org_unit_code.not_in(ordered))))
    return own, theirs


def task_units(session: Session, human: HumanTask) -> frozenset[str]:
    """The units a task belongs to for supervision: its own unit, its instance's, and every unit above them."""
    units = Units.load(session)
    instance_unit = session.scalar(select(ProcessInstance.org_unit_code).where(
        ProcessInstance.id == human.instance_id))
    return units.ancestors(session, human.org_unit_code) | units.ancestors(session, instance_unit)


def holder_words(session: Session, tasks, unit_names: dict[str, str] | None = None) -> dict[str, str]:
    """Who holds each task, in words: the person by name, or the role and unit when nobody has claimed it (the units'
    names read here unless the caller has them: `unit_names`)."""
    tasks = list(tasks)
    people = {t.assignee for t in tasks if t.assignee}
    names = dict(session.execute(select(User.username, User.display_name).where(
        User.username.in_(sorted(people)))).all()) if people else {}
    if unit_names is None:
        unit_names = _unit_names(session, {t.org_unit_code for t in tasks if not t.assignee and t.org_unit_code})
    words = {}
    for t in tasks:
        if t.assignee:
            words[t.id] = names.get(t.assignee) or t.assignee
        else:
            role = ROLE_NAMES.get(t.role or "", t.role or "")
            words[t.id] = "·".join(w for w in (unit_names.get(t.org_unit_code, t.org_unit_code or ""), role) if w) \
                + "（待认领）"
    return words


def _unit_names(session: Session, codes: set[str]) -> dict[str, str]:
    """{code: name} of these org units (one statement; none for no codes)."""
    return dict(session.execute(select(OrgUnit.code, OrgUnit.name).where(OrgUnit.code.in_(sorted(codes)))).all()) \
        if codes else {}


# --- time -----------------------------------------------------------------------------------------------------
def at_risk_until(session: Session, now: datetime, days: int = AT_RISK_WORKING_DAYS) -> datetime:
    """Open tasks due before this moment (and not yet overdue) are at risk."""
    return add_working_days(session, now, days)[0]


def working_days_late(session: Session, due_at: datetime | None, now: datetime, cache: dict | None = None) -> int:
    """Working days (the domain calendar) after the due date up to today, Beijing dates; 0 when not late."""
    if due_at is None or due_at >= now:
        return 0
    cache = {} if cache is None else cache
    first = due_at.astimezone(LOCAL_TZ).date() + timedelta(days=1)
    last = min(now.astimezone(LOCAL_TZ).date(), first + timedelta(days=MAX_LATE_SPAN - 1))
    count = 0
    for year in range(first.year, last.year + 1):        # counted a year at a time, not a day at a time
        if year not in cache:
            cache[year] = year_calendar(session, year)
        count += cache[year].working_days(max(first, date(year, 1, 1)), min(last, date(year, 12, 31)))
    return count


# --- the matrix -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cell:
    """One unit's row: its open, overdue and at-risk task counts."""

    unit: str
    name: str
    kind: str
    open: int = 0
    overdue: int = 0
    at_risk: int = 0


@dataclass(frozen=True)
class Matrix:
    """The board: rows per section (unit kind), the totals, and the moment at-risk counts up to."""

    sections: tuple[tuple[str, tuple[Cell, ...]], ...]
    total: Cell
    now: datetime
    at_risk_until: datetime
    everything: bool = False


def matrix(session: Session, user: UserView, now: datetime, days: int = AT_RISK_WORKING_DAYS) -> Matrix:
    """Open-task counts per board unit within what `user` watches: every county, committee, sector and township
    unit (zeros included) for the county-wide; their own units for a unit's supervisor; departments with open
    tasks (the suggestion answers) for both."""
    until = at_risk_until(session, now, days)
    codes = scope_codes(session, user)
    grouped = _kept(session, codes, now, until)
    units = Units.load(session)
    counts: dict[str, list[int]] = {}
    for code, open_, overdue, at_risk in grouped:
        target = units.board_unit.get(code or "", "")
        sums = counts.setdefault(target, [0, 0, 0])
        sums[0], sums[1], sums[2] = sums[0] + open_, sums[1] + (overdue or 0), sums[2] + (at_risk or 0)
    shown = [code for code, kind in units.kinds.items() if kind in BOARD_KINDS and (
        (codes is None and kind != "department") or code in counts or (codes is not None and code in
                                                                          (policy.supervised_units(user) or ())))]
    sections = []
    for kind in BOARD_KINDS:
        cells = tuple(Cell(code, units.names[code], kind, *counts.get(code, (0, 0, 0)))
                      for code in shown if units.kinds[code] == kind)
        if cells:
            sections.append((kind, cells))
    everything = [sum(c[i] for c in counts.values()) for i in range(3)]
    return Matrix(tuple(sections), Cell("", "", "", *everything), now, until, codes is None)


def _kept(session: Session, codes: frozenset[str] | None, now: datetime, until: datetime) -> list[tuple]:
    """(task org unit, open, overdue, at risk) rows from the kept counts and the tasks due on the boundary days."""
    today, until_day = now.astimezone(LOCAL_TZ).date(), until.astimezone(LOCAL_TZ).date()
    grouped = [(code, *sums) for code, sums in open_counts.per_unit(
        session, today, until_day, None if codes is None else sorted(codes)).items()]
    return grouped + _boundary_days(session, codes, now, until, (today, until_day))


def _boundary_days(session: Session, codes: frozenset[str] | None, now: datetime, until: datetime,
                   days: tuple[date, ...]) -> list[tuple]:
    """(org unit, 0, overdue, at risk) of the open tasks due on `days` (today, the last at-risk day): the kept counts
    hold them by day only, the hour decides. A day's rows (a few thousand in a big county) read by the (status, due_at)
    index with their cases' units and summed per (task unit, case unit) in SQL, kept to what `codes` watches here."""
    found = []
    late = func.sum(case((HumanTask.due_at < now, 1), else_=0))
    risk = func.sum(case((and_(HumanTask.due_at >= now, HumanTask.due_at < until), 1), else_=0))
    for start, end in (open_counts.day_bounds(day) for day in sorted(set(days))):    # one range each: an index seek
        rows = session.execute(
            select(HumanTask.org_unit_code, ProcessInstance.org_unit_code, late, risk)
            .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
            .where(HumanTask.status == "ready", HumanTask.due_at >= start, HumanTask.due_at < end)
            .group_by(HumanTask.org_unit_code, ProcessInstance.org_unit_code))
        found += [(code, 0, int(overdue or 0), int(at_risk or 0)) for code, case_unit, overdue, at_risk in rows
                  if codes is None or code in codes or case_unit in codes]
    return found


# --- the list -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    """What the list is narrowed to; every value already checked (see `parse_filters`)."""

    state: str = "overdue"
    tier: str | None = None
    unit: str | None = None
    step: int | None = None
    department: str | None = None
    due_from: date | None = None
    due_to: date | None = None
    version: int | None = None
    sort: str = "due"
    errors: dict = field(default_factory=dict)


def parse_filters(args, tiers, steps) -> Filters:
    """Filters from a query string; a bad value is dropped and named in `errors` (the page says which)."""
    errors: dict[str, str] = {}

    def text(name: str, limit: int = 64) -> str | None:
        value = (args.get(name) or "").strip()
        if len(value) > limit:
            errors[name] = "too_long"
            return None
        return value or None

    def day(name: str) -> date | None:
        value = text(name, 10)
        try:
            return date.fromisoformat(value) if value else None
        except ValueError:
            errors[name] = "date"
            return None

    def number(name: str) -> int | None:
        value = text(name, 9)
        if value is None:
            return None
        if not value.isdigit():
            errors[name] = "number"
            return None
        return int(value)

    state = text("state") or "overdue"
    if state not in STATES:
        errors["state"], state = "choice", "overdue"
    tier = text("tier")
    if tier is not None and tier not in tiers:
        errors["tier"], tier = "choice", None
    step = number("step")
    if step is not None and step not in steps:
        errors["step"], step = "choice", None
    sort = text("sort") or "due"
    if sort not in SORTS:
        errors["sort"], sort = "choice", "due"
    due_from, due_to = day("from"), day("to")
    if due_from and due_to and due_from > due_to:
        errors["to"] = "order"
    return Filters(state, tier, text("unit"), step, text("department"), due_from, due_to, number("version"), sort,
                   errors)


@dataclass(frozen=True)
class Row:
    """One late (or soon late) task."""

    task_id: str
    instance_id: int
    title: str
    step: int | None
    task_name: str
    item_label: str | None
    holder: str
    assignee: str | None
    role: str | None
    unit: str | None
    unit_name: str
    tier: str | None
    due_at: datetime | None
    days_late: int
    escalation_level: int
    extensions: int
    urges: int
    last_urged_at: datetime | None


@dataclass(frozen=True)
class Page:
    """One page of the list: its rows, how many match in all, and the cursors of the pages next to it (None at
    either end)."""

    rows: tuple[Row, ...]
    total: int
    per_page: int
    next: str | None = None
    previous: str | None = None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), LOCAL_TZ)


def _conditions(session: Session, user: UserView, now: datetime, filters: Filters, days: int,
                scoped: bool = True) -> list:
    """The WHERE of the list: open tasks `user` watches that match `filters` (unless not `scoped`: then only the
    filters' conditions, neither status nor scope — `_count` adds them)."""
    where = [HumanTask.status == "ready"] if scoped else []
    scope = _scope_condition(scope_codes(session, user)) if scoped else None
    if scope is not None:
        where.append(scope)
    if filters.state == "overdue":
        where.append(HumanTask.due_at < now)
    elif filters.state == "at_risk":
        where += [HumanTask.due_at >= now, HumanTask.due_at < at_risk_until(session, now, days)]
    if filters.tier:
        where.append(HumanTask.tier == filters.tier)
    if filters.unit:
        where.append(HumanTask.org_unit_code.in_(sorted(directory.units_within(session, filters.unit))))
    if filters.department:
        where += [HumanTask.role == "department", HumanTask.org_unit_code == filters.department]
    if filters.step is not None:
        where.append(HumanTask.step == filters.step)
    if filters.due_from:
        where.append(HumanTask.due_at >= _day_start(filters.due_from))
    if filters.due_to:
        where.append(HumanTask.due_at < _day_start(filters.due_to + timedelta(days=1)))
    if filters.version is not None:
        where.append(HumanTask.instance_id.in_(select(ProcessInstance.id).where(
            ProcessInstance.version_id == filters.version).scalar_subquery()))
    return where


def _sort_keys(filters: Filters, urges, extensions) -> list[keyset.Key]:
    """The list's order as keyset keys: the sort column, then the due time (tasks without one last), then the id."""
    name, descending = filters.sort.lstrip("-"), filters.sort.startswith("-")
    undated = [] if filters.state in ("overdue", "at_risk") else \
        [keyset.Key(keyset.flag(HumanTask.due_at.is_(None)), False, "bool")]           # (those states have a due time)
    if name == "due":
        return undated + [keyset.Key(HumanTask.due_at, descending, "time"), keyset.Key(HumanTask.id, False, "str")]
    column, kind = {"step": (func.coalesce(HumanTask.step, 0), "int"),
                    "unit": (func.coalesce(HumanTask.org_unit_code, ""), "str"),
                    "escalation": (func.coalesce(HumanTask.escalation_level, 0), "int"),
                    "urges": (urges, "int"), "extensions": (extensions, "int")}[name]
    return [keyset.Key(column, descending, kind), *undated, keyset.Key(HumanTask.due_at, False, "time"),
            keyset.Key(HumanTask.id, False, "str")]


def _key_values(filters: Filters, row) -> list:
    task, _process, urges, _last, extensions = row
    name = filters.sort.lstrip("-")
    undated = [] if filters.state in ("overdue", "at_risk") else [int(task.due_at is None)]
    if name == "due":
        return undated + [task.due_at, task.id]
    value = {"step": task.step or 0, "unit": task.org_unit_code or "", "escalation": task.escalation_level or 0,
             "urges": urges, "extensions": extensions}[name]
    return [value, *undated, task.due_at, task.id]


def _query(session: Session, user: UserView, now: datetime, filters: Filters, days: int):
    """(the SELECT without ORDER BY, its keyset keys)."""
    # urges and extensions are kept on the row (indexed for sorting); the last urge's time only for the page's rows
    urges, extensions = HumanTask.urges, HumanTask.extensions
    last = select(func.max(TaskUrge.at)).where(TaskUrge.task_id == HumanTask.id).scalar_subquery()
    query = (select(HumanTask, ProcessInstance.process_id, urges, last.label("last"), extensions)
             .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
             .where(*_conditions(session, user, now, filters, days)))
    return query, _sort_keys(filters, urges, extensions)


def tasks(session: Session, user: UserView, now: datetime, filters: Filters, after: str | None = None,
          before: str | None = None, per_page: int = 25, hooks: HookRegistry | None = None,
          days: int = AT_RISK_WORKING_DAYS) -> Page:
    """One page of the open tasks `user` watches that match `filters`: the first, or the one after / before a
    cursor (raises keyset.BadCursor for one this list did not make); `per_page` is held to 1…MAX_PER_PAGE."""
    per_page = max(1, min(MAX_PER_PAGE, per_page))
    query, keys = _query(session, user, now, filters, days)
    backwards = before is not None
    cursor = before if backwards else after
    if cursor is not None:
        query = query.where(keyset.beyond(keys, keyset.decode(cursor, filters.sort, keys), backwards))
    rows = session.execute(query.order_by(*keyset.order(keys, backwards)).limit(per_page + 1)).all()
    more = len(rows) > per_page
    rows = rows[:per_page]
    if backwards:
        rows.reverse()
    total = _kept_total(session, user, now, filters, days)
    if total is None:
        total = _count(session, user, _conditions(session, user, now, filters, days, scoped=False))
    first = keyset.encode(filters.sort, _key_values(filters, rows[0])) if rows else None
    last = keyset.encode(filters.sort, _key_values(filters, rows[-1])) if rows else None
    return Page(tuple(_rows(session, rows, now, hooks)), total, per_page,
                next=last if (more if not backwards else cursor is not None) else None,
                previous=first if (more if backwards else cursor is not None) else None)


def _kept_total(session: Session, user: UserView, now: datetime, filters: Filters, days: int) -> int | None:
    """The list's total from the kept counts when only its state narrows it (the board's links, the first page);
    None when another filter does (then the rows are counted)."""
    if (filters.tier, filters.unit, filters.step, filters.department, filters.due_from, filters.due_to,
            filters.version) != (None,) * 7:
        return None
    if filters.state == "overdue":     # the 督办 tab's default: no at-risk day to read (its thousands of tasks)
        return overdue_count(session, user, now)
    grouped = _kept(session, scope_codes(session, user), now, at_risk_until(session, now, days))
    column = {"open": 1, "overdue": 2, "at_risk": 3}[filters.state]
    return sum(row[column] or 0 for row in grouped)


def _count(session: Session, user: UserView, where: list) -> int:
    """How many open tasks match `where` within what `user` watches (two index-only counts for a unit's
    supervisor)."""
    codes = scope_codes(session, user)
    if codes is None:
        return session.scalar(select(func.count()).select_from(HumanTask).where(
            HumanTask.status == "ready", *where)) or 0
    return sum(session.scalar(query) or 0 for query in _split(codes, where, func.count()))


def all_tasks(session: Session, user: UserView, now: datetime, filters: Filters, limit: int,
              hooks: HookRegistry | None = None, days: int = AT_RISK_WORKING_DAYS) -> list[Row]:
    """Every matching task up to `limit` (an export), in the list's order."""
    query, keys = _query(session, user, now, filters, days)
    rows = session.execute(query.order_by(*keyset.order(keys)).limit(limit)).all()
    return _rows(session, rows, now, hooks)


def _rows(session: Session, rows, now: datetime, hooks: HookRegistry | None) -> list[Row]:
    hooks = hooks if hooks is not None else HookRegistry()
    titles = hooks.titles(session, {(row[0].instance_id, row[1]) for row in rows})
    names = _unit_names(session, {row[0].org_unit_code for row in rows if row[0].org_unit_code})   # read once
    holders = holder_words(session, [row[0] for row in rows], names)
    years: dict = {}
    return [Row(t.id, t.instance_id, titles.get(t.instance_id, ""), t.step, t.name, t.item_label, holders[t.id],
                t.assignee, t.role, t.org_unit_code, names.get(t.org_unit_code or "", t.org_unit_code or ""), t.tier,
                t.due_at, working_days_late(session, t.due_at, now, years), t.escalation_level or 0, extensions,
                urges, last)
            for t, _process, urges, last, extensions in rows]


def overdue_count(session: Session, user: UserView, now: datetime) -> int:
    """Overdue open tasks within what `user` watches (the supervisor's inbox says so), in one statement: the kept
    counts (engine.store.open_counts) of the months and days before today, and today's tasks due before now counted
    by the (status, due_at) index; not a count of every late task (100,000 in a big county). Built once per scope."""
    codes, today = scope_codes(session, user), now.astimezone(LOCAL_TZ).date()
    params = {"month": f"{today:%Y-%m}", "month_start": f"{today:%Y-%m}-01", "today": today.isoformat(),
              "day_start": open_counts.day_bounds(today)[0], "now": now}      # every page of such a person asks
    return int(session.scalar(_overdue_query(codes), params) or 0)


@lru_cache(maxsize=256)
def _overdue_query(codes: frozenset[str] | None):
    kept, moment = open_counts.OpenTaskCount, HumanTask.__table__.c.due_at.type
    spans = [and_(kept.span == open_counts.MONTH, kept.due != open_counts.NONE, kept.due < bindparam("month")),
             and_(kept.span == open_counts.DAY, kept.due >= bindparam("month_start"), kept.due < bindparam("today"))]
    scopes = [kept.instance_unit_code == open_counts.ANY]
    if codes is not None:     # the units' own tasks, and other units' tasks on the units' cases (as the board's matrix)
        scopes = [and_(scopes[0], kept.org_unit_code.in_(sorted(codes))),
                  and_(kept.instance_unit_code.in_(sorted(codes)), kept.org_unit_code.not_in(sorted(codes)))]
    parts = [select(func.coalesce(func.sum(kept.tasks), 0)).where(span, scope).scalar_subquery()
             for span in spans for scope in scopes]
    late = [HumanTask.due_at >= bindparam("day_start", type_=moment), HumanTask.due_at < bindparam("now", type_=moment)]
    if codes is None:
        parts.append(select(func.count()).select_from(HumanTask).where(HumanTask.status == "ready", *late)
                     .scalar_subquery())
    else:
        parts += [query.scalar_subquery() for query in _split(codes, late, func.count())]
    return select(sum(parts[1:], parts[0]))
