"""The inbox: tabs, search, filters, badges and paging over the human-task projection; drafts, comments,
read marks and returns (退回)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from operator import attrgetter

from sqlalchemy import (
    Integer,
    String,
    and_,
    bindparam,
    case,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from domain.people.accounts import UserView
from domain.work.models import Comment, TaskDraft, TaskRead
from engine.hooks import HookRegistry
from engine.store import keyset, task_counts
from engine.store.models import HumanTask, ProcessInstance

TABS = ("assigned", "claimable", "involved", "done")
WORK_TABS = ("assigned", "claimable")    # where a person lands: the tabs with work to do, never their history
AT_RISK_WINDOW = timedelta(days=1)
COUNT_CAP = 9_999            # a count that is not kept is counted up to here, then shown as "9,999+"
INVOLVED_CAP = 99            # … but the tasks on cases one took part in only to "99+": they are found case by case
CASE_ROWS = 500              # one case's rows read at once and paged here; a case with more is paged by statements
INVOLVED_CASES = 200         # 我参与的: open tasks on the cases of one's last 200 tasks done and last 200 cases started
PER_PAGE, MAX_PER_PAGE = 20, 100
BadCursor = keyset.BadCursor
# a page's cursor: (0 for a task with a due time, 1 without; the due time, or the completion time in `done`; id)
CURSOR_KEYS = [keyset.Key(None, False, "bool"), keyset.Key(None, False, "time"), keyset.Key(None, False, "str")]
# The statements name the person and the filters' values as bound parameters, so the statement built for one set of
# memberships and filters serves every request like it: built once, and SQLAlchemy finds its compiled SQL by a key
# it keeps, not by walking a new statement each time (building the four tabs' counts cost more than running them).
ME = bindparam("username", type_=String)
# what a page row reads of a task (columns, not ORM objects: a read-only list, rows of every tab built per request)
ROW_COLUMNS = (HumanTask.id, HumanTask.instance_id, HumanTask.name, HumanTask.item_label, HumanTask.step,
               HumanTask.tier, HumanTask.org_unit_code, HumanTask.assignee, HumanTask.status, HumanTask.due_at,
               HumanTask.remind_at, HumanTask.completed_at, HumanTask.escalation_level)
FILTERS = {"step": HumanTask.step == bindparam("step", type_=Integer),
           "tier": HumanTask.tier == bindparam("tier", type_=String),
           "instance_id": HumanTask.instance_id == bindparam("instance_id", type_=Integer)}


@dataclass(frozen=True)
class InboxItem:
    """One row of the inbox."""

    task_id: str
    instance_id: int
    name: str
    title: str
    step: int | None
    tier: str | None
    org_unit: str | None
    assignee: str | None
    status: str
    due_at: datetime | None
    completed_at: datetime | None
    overdue: bool
    at_risk: bool
    read: bool
    escalation_level: int = 0
    item_label: str | None = None

    def as_dict(self) -> dict:
        """JSON-ready (times as ISO strings): the API's row, without dataclasses.asdict's deep copy per field."""
        return {name: value.isoformat() if isinstance(value, datetime) else value
                for name, value in zip(ITEM_FIELDS, attrgetter(*ITEM_FIELDS)(self), strict=True)}


ITEM_FIELDS = tuple(f.name for f in fields(InboxItem))


@dataclass(frozen=True)
class InboxPage:
    """A page of one tab, with every tab's count and the cursors of the pages either side (None: no such page).

    A count in `capped` was counted only up to `cap` and means "at least" (shown as "9,999+")."""

    tab: str
    items: tuple[InboxItem, ...]
    per_page: int
    counts: dict
    next: str | None = None
    prev: str | None = None
    capped: frozenset = field(default_factory=frozenset)
    cap: int = COUNT_CAP

    @property
    def total(self) -> int:
        """This tab's count (at least this many when capped)."""
        return self.counts[self.tab]

    def shown(self, tab: str) -> str:
        """A tab's count as a person reads it: "1,234", or "9,999+" when capped."""
        return shown(self.counts[tab], tab in self.capped)

    @property
    def labels(self) -> dict[str, str]:
        """Every tab's count as a person reads it."""
        return {tab: self.shown(tab) for tab in TABS}


def shown(count: int, capped: bool) -> str:
    """A count as a person reads it: "1,234", or "9,999+" when it was counted only that far."""
    return f"{count:,}+" if capped else f"{count:,}"


def tab_labels(session: Session, user: UserView) -> dict[str, str]:
    """Every tab's count as a person reads it, without a page (the 督办 tab shows them beside its own)."""
    query = _statement(_counts_query, _memberships(user), (), COUNT_CAP, False)
    counts, capped = _counted(session.execute(query, {"username": user.username}).one(), COUNT_CAP, _KEPT)
    return {tab: shown(counts[tab], tab in capped) for tab in TABS}


def _memberships(user: UserView) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(set(user.memberships)))


@lru_cache(maxsize=2048)
def _cached(build, key: tuple):
    return build(*key)


def _statement(build, *key, matching=None, cursor: list | None = None):
    """`build(*key)` — the same statement object for the same key — unless a search or a cursor makes it one of a
    kind (their values are written into the statement)."""
    if matching is None and cursor is None:
        return _cached(build, key)
    return build(*key, matching, cursor) if cursor is not None else build(*key, matching)


def _conditions(named: tuple[str, ...], matching) -> list:
    """The filters by their bound parameters, the search's condition, and the mark that it needs the instance."""
    return [FILTERS[name] for name in named] + ([matching, "search"] if matching is not None else [])


def _arms(memberships: tuple, tab: str, filters: list) -> list:
    """The tab's rows as index ranges: one condition per range (claimable: one per membership)."""
    if tab == "assigned":
        arms = [and_(HumanTask.status == "ready", HumanTask.assignee == ME)]
    elif tab == "claimable":
        arms = [and_(HumanTask.status == "ready", HumanTask.role == role, HumanTask.org_unit_code == org,
                     HumanTask.assignee.is_(None)) for role, org in memberships]
    elif tab == "done":
        arms = [and_(HumanTask.completed_by == ME, HumanTask.status == "completed")]
    else:
        # the cases of the tasks one did last and of the cases one started last: two index ranges, not a whole
        # history (an office that did 20,000 tasks would otherwise look through all their cases on every page)
        took_part = (select(HumanTask.instance_id).where(HumanTask.completed_by == ME,
                                                         HumanTask.status == "completed")
                     .order_by(HumanTask.completed_at.desc()).limit(INVOLVED_CASES).subquery())
        started = (select(ProcessInstance.id).where(ProcessInstance.started_by == ME)
                   .order_by(ProcessInstance.id.desc()).limit(INVOLVED_CASES).subquery())
        cases = union_all(select(took_part.c.instance_id), select(started.c.id)).scalar_subquery()
        arms = [and_(HumanTask.status == "ready", HumanTask.instance_id.in_(cases))]
    return [(arm, *filters) for arm in arms]


def _select(columns, conditions):
    query = select(*columns).select_from(HumanTask)       # the tasks' rows, even when no column names the table
    if "search" in conditions:
        query = query.join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
    return query.where(*(c for c in conditions if not isinstance(c, str)))


def _segments(tab: str, cursor: list | None, backwards: bool, few: bool = False) -> list[tuple[int, list, list]]:
    """(segment, its keys, its conditions) for the rows beyond `cursor`: the open tabs list tasks with a due time
    (segment 0, by due time and id) before those without (segment 1, by id); `done` the latest completed first."""
    if tab == "done":
        keys = [keyset.Key(HumanTask.completed_at, True, "time"), keyset.Key(HumanTask.id, True, "str")]
        return [(0, keys, [] if cursor is None else [keyset.beyond(keys, cursor[1:], backwards)])]
    due, task_id = HumanTask.due_at, HumanTask.id
    if few:     # a few rows found case by case: an expression keeps the database from walking
        due, task_id = func.coalesce(due, due), func.coalesce(task_id, task_id)    # every open task in due order
    dated = [keyset.Key(due, False, "time"), keyset.Key(task_id, False, "str")]
    undated = [keyset.Key(task_id, False, "str")]
    segment = None if cursor is None else cursor[0]
    found = []
    if not (segment == 1 and not backwards):
        found.append((0, dated, [due.is_not(None)] + (
            [keyset.beyond(dated, cursor[1:], backwards)] if segment == 0 else [])))
    if not (segment in (0, None) and backwards):
        found.append((1, undated, [due.is_(None)] + (
            [keyset.beyond(undated, cursor[2:], backwards)] if segment == 1 else [])))
    return found


def _page_ids(tab: str, arms: list, cursor: list | None, backwards: bool, limit: int, few: bool):
    """One subquery of (segment, sort, id) for the next `limit` rows: each index range read up to `limit` rows in
    order, then merged (a range's first rows are an index seek however many rows it holds); `few` rows (one case's,
    or 我参与的) are read at once and sorted together."""
    parts = []
    sort = HumanTask.completed_at if tab == "done" else HumanTask.due_at
    if few:
        return _few_ids(arms, _segments(tab, cursor, backwards, few), backwards, limit)
    for arm in arms:
        for segment, keys, conditions in _segments(tab, cursor, backwards):
            # the indexes are (status, role, unit, assignee, due_at, id) and (status, assignee, due_at, id);
            # PostgreSQL does not take `assignee IS NULL` (nor `due_at IS NULL`) as fixing the column's place in the
            # order, so without these constant leading terms it read every later row and sorted them: 102,058 rows,
            # 74 ms for the office's claimable page 51, against 21 rows and 0.06 ms with them. Same rows, same order.
            lead = ((HumanTask.assignee,) if tab == "claimable" else ()) + ((HumanTask.due_at,) if segment else ())
            order = [term.desc() if backwards else term for term in lead] + keyset.order(keys, backwards)
            part = (_select((literal(segment, Integer).label("segment"), sort.label("sort"), HumanTask.id), arm)
                    .where(*conditions).order_by(*order).limit(limit).subquery())
            parts.append(select(part.c.segment, part.c.sort, part.c.id))
    return (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("page_ids")


def _few_ids(arms: list, segments: list, backwards: bool, limit: int):
    """The page ids of a tab with few rows (我参与的: the open tasks on one's recent cases; any open tab within one
    case): its rows read once, both segments in one sort, rather than the case list looked up again for each segment
    or each membership's range read on its own."""
    segment = case((HumanTask.due_at.is_(None), 1), else_=0)
    beyond = or_(*(and_(*conditions) for _, _, conditions in segments))
    keys = [segment, func.coalesce(HumanTask.due_at, HumanTask.due_at), func.coalesce(HumanTask.id, HumanTask.id)]
    part = (_select((segment.label("segment"), HumanTask.due_at.label("sort"), HumanTask.id), _joined(arms))
            .where(beyond)
            .order_by(*(key.desc() if backwards else key for key in keys)).limit(limit))
    return part.subquery("page_ids")


def _joined(arms: list) -> tuple:
    """One tab's arms as one (condition, *filters) arm: the ranges OR-ed (each arm carries the same filters)."""
    return arms[0] if len(arms) == 1 else (or_(*(arm[0] for arm in arms)), *arms[0][1:])


def _capped_count(arms: list, cap: int):
    # each arm limited inside its own subquery: SQLite refuses a LIMIT on a member of a compound SELECT. The rows
    # select no column of their own, so an index that answers the arm's conditions answers the count (selecting the
    # task's id cost a lookup in the table per row: 我参与的's count 0.9 ms median against 0.18 on SQLite, 1M rows).
    limited = [_select((literal_column("1").label("one"),), arm).limit(cap + 1).subquery() for arm in arms]
    rows = union_all(*(select(part.c.one) for part in limited)) if len(limited) > 1 else select(limited[0].c.one)
    return select(func.count()).select_from(rows.subquery()).scalar_subquery()


def _caps(cap: int) -> dict[str, int]:
    return {name: min(cap, INVOLVED_CAP) if name == "involved" else cap for name in TABS}


_KEPT = frozenset({"assigned", "claimable", "done"})     # the tabs whose counts are kept, when nothing filters them


def _counts_query(memberships: tuple, named: tuple, cap: int, one_case: bool, matching=None):
    """Every tab's count in one statement: kept counts when nothing filters the tabs; else counted up to the cap,
    each tab over its index ranges; or, for one case, every tab in one pass over that case's few rows."""
    filters, caps = _conditions(named, matching), _caps(cap)
    if one_case:
        columns = []
        for name in TABS:
            arms = _arms(memberships, name, [])
            condition = or_(*(arm[0] for arm in arms)) if arms else false()
            columns.append(func.count(case((condition, 1))).label(name))
        return _select(columns, filters)
    columns = {}
    if not filters:
        held, unheld, done = task_counts.held_and_unheld(ME, memberships)
        columns = {"assigned": held, "claimable": unheld, "done": done}
    for name in TABS:
        if name not in columns:
            arms = _arms(memberships, name, filters)       # built only for a tab that is counted
            columns[name] = _capped_count(arms, caps[name]) if arms else literal(0)
    return select(*(columns[name].label(name) for name in TABS))


def _counted(values, cap: int, kept: frozenset) -> tuple[dict, frozenset]:
    """(counts, the capped ones) from the counts statement's row: counted tabs cut at their cap."""
    caps = _caps(cap)
    counts = {name: int(getattr(values, name) or 0) for name in TABS}
    capped = frozenset(name for name in TABS if name not in kept and counts[name] > caps[name])
    return {name: counts[name] if name in kept else min(counts[name], caps[name]) for name in TABS}, capped


def _page_query(tab: str, memberships: tuple, named: tuple, per_page: int, few: bool, backwards: bool,
                matching=None, cursor: list | None = None):
    """The page's rows (ROW_COLUMNS, process id, read time), `per_page + 1` of them to tell whether more follow; None
    for a tab with no rows to look at (claimable for a person with no membership)."""
    arms = _arms(memberships, tab, _conditions(named, matching))
    if not arms:
        return None
    page_ids = _page_ids(tab, arms, cursor, backwards, per_page + 1, few)
    direction = tab == "done"
    order = [page_ids.c.segment.desc() if backwards else page_ids.c.segment]
    order += [c.desc() if direction != backwards else c for c in (page_ids.c.sort, page_ids.c.id)]
    return (select(*ROW_COLUMNS, ProcessInstance.process_id, TaskRead.read_at)
            .join(page_ids, page_ids.c.id == HumanTask.id)
            .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
            .outerjoin(TaskRead, and_(TaskRead.task_id == HumanTask.id, TaskRead.username == ME))
            .order_by(*order).limit(per_page + 1))


def inbox(session: Session, user: UserView, now: datetime, tab: str | None = None, search: str = "",
          step: int | None = None, tier: str | None = None, instance_id: int | None = None,
          after: str | None = None, before: str | None = None, per_page: int = PER_PAGE,
          hooks: HookRegistry | None = None, cap: int | None = None) -> InboxPage:
    """One page of a tab, soonest due first (tasks without a due time last; the latest first in `done`), after or
    before a cursor of an earlier page (raises BadCursor); titles from each process's hooks. Two statements: the
    counts and the page (plus the page's titles); one when the tab is counted empty, or the rows of one case.

    `tab=None` lands on the first tab that has work (the assigned tab when all are empty)."""
    per_page, cap = max(1, min(per_page, MAX_PER_PAGE)), COUNT_CAP if cap is None else cap
    hooks = hooks if hooks is not None else HookRegistry()
    params = {"username": user.username, "step": step, "tier": tier or None, "instance_id": instance_id}
    named = tuple(name for name in FILTERS if params[name] is not None)
    matching = or_(hooks.matching(session, search), HumanTask.name.ilike(f"%{search}%")) if search else None
    one_case = instance_id is not None     # that case's few rows: counted and paged by the case's own index
    memberships = _memberships(user)
    found = None
    if one_case:              # read at once, then counted and paged here: one statement, unless the case is huge
        found = session.execute(_statement(_case_rows_query, memberships, named, CASE_ROWS, matching=matching),
                                params).all()
        found = found if len(found) <= CASE_ROWS else None
    if found is not None:
        counts, capped = _tallied(found, cap)
    else:
        query = _statement(_counts_query, memberships, named, cap, one_case, matching=matching)
        kept = _KEPT if not named and matching is None and not one_case else frozenset()
        counts, capped = _counted(session.execute(query, params).one(), cap, kept)
    if tab is None:
        tab = next((name for name in WORK_TABS if counts[name]), "assigned")
    tab = tab if tab in TABS else "assigned"
    backwards = before is not None and after is None
    cursor = None
    if after is not None or before is not None:
        cursor = keyset.decode(after if after is not None else before, tab, CURSOR_KEYS)
    if not counts[tab]:     # counted (or kept) as empty: no page to read
        return InboxPage(tab, (), per_page, counts, capped=capped, cap=cap)
    if found is not None:
        rows = _case_slice(found, tab, cursor, backwards, per_page + 1)
    else:
        few = tab == "involved" or one_case and tab != "done"
        query = _statement(_page_query, tab, memberships, named, per_page, few, backwards, matching=matching,
                           cursor=cursor)
        rows = session.execute(query, params).all()
    more = len(rows) > per_page
    rows = rows[:per_page]
    if backwards:
        rows.reverse()
    titles = hooks.titles(session, {(row.instance_id, row.process_id) for row in rows})
    items = tuple(_item(row, titles[row.instance_id], now) for row in rows)
    first, last = (_cursor(tab, rows[0]), _cursor(tab, rows[-1])) if rows else (None, None)
    following = last if (more and not backwards) or (backwards and cursor is not None) else None
    preceding = first if (more and backwards) or (not backwards and cursor is not None) else None
    return InboxPage(tab, items, per_page, counts, following, preceding, capped, cap)


def _case_rows_query(memberships: tuple, named: tuple, limit: int, matching=None):
    """One case's rows in any tab (`limit` + 1 at most, to tell a huge case), each with its process id, the person's
    read time and a 0/1 column per tab (the tabs' own conditions)."""
    conditions = {}
    for name in TABS:
        arms = _arms(memberships, name, [])
        conditions[name] = or_(*(arm[0] for arm in arms)) if arms else false()
    filters = [c for c in _conditions(named, matching) if not isinstance(c, str)]
    return (select(*ROW_COLUMNS, ProcessInstance.process_id, TaskRead.read_at,
                   *(case((condition, 1), else_=0).label(name) for name, condition in conditions.items()))
            .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
            .outerjoin(TaskRead, and_(TaskRead.task_id == HumanTask.id, TaskRead.username == ME))
            .where(or_(*conditions.values()), *filters).limit(limit + 1))


def _tallied(found: list, cap: int) -> tuple[dict, frozenset]:
    """Every tab's count among one case's rows, capped as the counts statement caps them."""
    caps, totals = _caps(cap), {name: sum(getattr(row, name) for row in found) for name in TABS}
    return ({name: min(total, caps[name]) for name, total in totals.items()},
            frozenset(name for name, total in totals.items() if total > caps[name]))


EARLIEST = datetime.min.replace(tzinfo=UTC)


def _case_slice(found: list, tab: str, cursor: list | None, backwards: bool, limit: int) -> list:
    """Up to `limit` of one case's rows of `tab` beyond the cursor, as the page statement orders them (before the
    cursor: nearest first, as the statement reads them backwards): open tabs soonest due first and those without a
    due time last, `done` the latest completed first."""
    if tab == "done":
        def key(task):
            return task.completed_at or EARLIEST, task.id
        mark = None if cursor is None else (cursor[1] or EARLIEST, cursor[2])
    else:
        def key(task):
            return int(task.due_at is None), task.due_at or EARLIEST, task.id
        mark = None if cursor is None else (cursor[0], cursor[1] or EARLIEST, cursor[2])
    ordered = sorted((row for row in found if getattr(row, tab)), key=key, reverse=tab == "done")
    if mark is not None:
        later = (lambda row: key(row) < mark) if tab == "done" else (lambda row: key(row) > mark)
        ordered = ([row for row in reversed(ordered) if not later(row) and key(row) != mark] if backwards
                   else [row for row in ordered if later(row)])
    return ordered[:limit]


def _cursor(tab: str, row) -> str:
    if tab == "done":
        return keyset.encode(tab, (0, row.completed_at, row.id))
    return keyset.encode(tab, (int(row.due_at is None), row.due_at, row.id))


def _item(row, title: str, now: datetime) -> InboxItem:
    """A page row (ROW_COLUMNS, the process id, the person's read time) as the inbox shows it."""
    open_ = row.status == "ready"
    overdue = open_ and row.due_at is not None and row.due_at < now
    at_risk = open_ and not overdue and row.due_at is not None and (
        (row.remind_at is not None and row.remind_at <= now) or row.due_at - now <= AT_RISK_WINDOW)
    return InboxItem(row.id, row.instance_id, row.name, title, row.step, row.tier, row.org_unit_code, row.assignee,
                     row.status, row.due_at, row.completed_at, overdue, at_risk, row.read_at is not None,
                     row.escalation_level if open_ else 0, row.item_label)


def save_draft(session: Session, task_id: str, username: str, data: dict, now: datetime) -> None:
    """Keep what a person typed without submitting it."""
    draft = session.get(TaskDraft, (task_id, username))
    if draft is None:
        session.add(TaskDraft(task_id=task_id, username=username, data=data, saved_at=now))
    else:
        draft.data, draft.saved_at = data, now


def draft_of(session: Session, task_id: str, username: str) -> dict | None:
    """A person's saved draft for a task."""
    draft = session.get(TaskDraft, (task_id, username))
    return None if draft is None else dict(draft.data)


def add_comment(session: Session, instance_id: int, task_id: str | None, author: str, body: str, now: datetime,
                kind: str = "comment") -> None:
    """Record a comment (or a return's reason)."""
    session.add(Comment(instance_id=instance_id, task_id=task_id, author=author, kind=kind, body=body.strip(),
                        created_at=now))


def comments(session: Session, instance_id: int) -> list[Comment]:
    """An instance's comments, oldest first."""
    return list(session.scalars(select(Comment).where(Comment.instance_id == instance_id).order_by(Comment.id)))


def mark_read(session: Session, task_id: str, username: str, now: datetime) -> None:
    """Mark a task as read (已阅) for a person."""
    if session.get(TaskRead, (task_id, username)) is None:
        session.add(TaskRead(task_id=task_id, username=username, read_at=now))
