"""The suggestion ledger (建议办理台账): every suggestion raised at a consultation meeting with its department, answer,
promise, follow-up and evidence, filtered, sorted and paged in SQL over the consultation records and the task
projection (never by loading workflows). Who sees which rows is domain.people.policy's `suggestion_reach`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session

from domain.consultation.models import Consultation, Suggestion
from domain.people import policy
from domain.people.accounts import UserView
from domain.work.models import Upload
from engine.store import keyset
from engine.store.models import HumanTask, OrgUnit, ProcessInstance
from engine.store.submissions import TaskSubmission

ADOPTIONS = ("adopted", "partly", "not_adopted", "solved")
ANSWERED = ADOPTIONS          # "not_ours" sends a suggestion back: it is not an answer
SATISFACTIONS = ("satisfied", "basically_satisfied", "unsatisfied")
SETTLED = ("satisfied", "basically_satisfied")
NONE = "none"                 # filter value: not answered yet / not visited yet
SORTS = ("meeting", "promised", "department", "topic")
PER_PAGE = 25
MAX_PER_PAGE = 100
ANSWER_TASKS = ("answer_suggestion", "reanswer_suggestion")      # the department's
OFFICE_TASKS = ("reassign_department", "settle_suggestion")      # the county office's, for a returned suggestion
_PERIOD = re.compile(r"(\d{4})(?:-(\d{2})|-Q([1-4]))?")
_CODE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
PLATFORM_KINDS = ("county", "committee", "sector", "township")
MAX_LABEL = 120               # as engine.store.projection labels a multi-instance task's item


class BadFilter(ValueError):
    """A filter in the address that cannot be read: `field` and the message in the reader's language."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field, self.message = field_name, message


@dataclass(frozen=True)
class LedgerFilter:
    """What the ledger is narrowed to; every field comes from the page's address (so other pages link to it)."""

    tier: str | None = None
    unit: str | None = None
    department: str | None = None
    adoption: tuple[str, ...] = ()          # codes of ADOPTIONS, or NONE for not answered yet
    answered: bool | None = None
    satisfaction: tuple[str, ...] = ()      # codes of SATISFACTIONS, or NONE for not visited yet
    period: str | None = None               # YYYY, YYYY-Qn or YYYY-MM, of the meeting
    overdue: bool = False
    sort: str = "meeting"
    descending: bool = True
    after: str | None = None                # a cursor of the ledger (engine.store.keyset): the page after it
    before: str | None = None               # … or before it
    per_page: int = PER_PAGE

    def period_range(self) -> tuple[date, date] | None:
        """[first day, first day after) of the period, or None."""
        if not self.period:
            return None
        year, month, quarter = _PERIOD.fullmatch(self.period).groups()
        if month is None and quarter is None:
            return date(int(year), 1, 1), date(int(year) + 1, 1, 1)
        first, count = (int(month), 1) if month is not None else (3 * int(quarter) - 2, 3)
        start = date(int(year), first, 1)
        after = first - 1 + count          # months after January of the first month after the period
        return start, date(start.year + after // 12, after % 12 + 1, 1)

    def as_args(self, **changes) -> dict[str, str]:
        """The filter as address parameters (defaults left out), with `changes` applied."""
        kept = replace(self, **changes)
        args = {"tier": kept.tier, "unit": kept.unit, "department": kept.department,
                "adoption": ",".join(kept.adoption), "satisfaction": ",".join(kept.satisfaction),
                "answered": None if kept.answered is None else str(int(kept.answered)), "period": kept.period,
                "overdue": "1" if kept.overdue else None, "sort": None if kept.sort == "meeting" else kept.sort,
                "dir": None if kept.descending else "asc", "after": kept.after, "before": kept.before,
                "per_page": None if kept.per_page == PER_PAGE else str(kept.per_page)}
        return {key: value for key, value in args.items() if value}


def _codes(args: Mapping[str, str], name: str, allowed: tuple[str, ...], message: str) -> tuple[str, ...]:
    raw = (args.get(name) or "").strip()
    if len(raw) > 200:
        raise BadFilter(name, message)
    codes = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    if any(code not in allowed for code in codes):
        raise BadFilter(name, message)
    return codes


def _flag(args: Mapping[str, str], name: str, message: str) -> bool | None:
    raw = (args.get(name) or "").strip()
    if raw in ("", "0", "1"):
        return None if raw == "" else raw == "1"
    raise BadFilter(name, message)


def _number(args: Mapping[str, str], name: str, default: int, low: int, high: int, message: str) -> int:
    raw = (args.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadFilter(name, message)
    return int(raw)


def _cursor(args: Mapping[str, str], name: str, message: str) -> str | None:
    raw = (args.get(name) or "").strip()
    if len(raw) > keyset.MAX_CURSOR or not re.fullmatch(r"[A-Za-z0-9_-]*", raw):
        raise BadFilter(name, message)
    return raw or None


def _code(args: Mapping[str, str], name: str, message: str) -> str | None:
    raw = (args.get(name) or "").strip()
    if raw and not _CODE.fullmatch(raw):
        raise BadFilter(name, message)
    return raw or None


def parse_filter(args: Mapping[str, str], messages: Mapping[str, str]) -> LedgerFilter:
    """The filter from address parameters; raises BadFilter with `messages[field]` (the reader's language) for the
    first parameter that cannot be read."""
    period = (args.get("period") or "").strip() or None
    if period is not None:
        match = _PERIOD.fullmatch(period)
        if match is None or not 2000 <= int(match.group(1)) <= 2100 or \
                (match.group(2) is not None and not 1 <= int(match.group(2)) <= 12):
            raise BadFilter("period", messages["period"])
    sort = (args.get("sort") or "meeting").strip()
    if sort not in SORTS:
        raise BadFilter("sort", messages["sort"])
    direction = (args.get("dir") or "desc").strip()
    if direction not in ("asc", "desc"):
        raise BadFilter("sort", messages["sort"])
    return LedgerFilter(
        tier=_code(args, "tier", messages["tier"]), unit=_code(args, "unit", messages["unit"]),
        department=_code(args, "department", messages["department"]),
        adoption=_codes(args, "adoption", ADOPTIONS + (NONE,), messages["adoption"]),
        answered=_flag(args, "answered", messages["answered"]),
        satisfaction=_codes(args, "satisfaction", SATISFACTIONS + (NONE,), messages["satisfaction"]),
        period=period, overdue=bool(_flag(args, "overdue", messages["overdue"])), sort=sort,
        descending=direction == "desc", after=_cursor(args, "after", messages["page"]),
        before=_cursor(args, "before", messages["page"]),
        per_page=_number(args, "per_page", PER_PAGE, 1, MAX_PER_PAGE, messages["per_page"]))


@dataclass(frozen=True)
class OpenTask:
    """The suggestion's task waiting for someone now: its id, spec, the role and org unit holding it, due date."""

    id: str
    task_spec: str
    role: str | None
    org_unit: str | None
    due_at: object
    overdue: bool


@dataclass(frozen=True)
class LedgerRow:
    """One suggestion as the ledger shows it."""

    suggestion_id: int
    number: int
    text: str
    instance_id: int
    topic: str
    tier: str | None
    unit: str | None
    meeting_date: date | None
    department: str
    departments_before: tuple[str, ...]
    adoption: str | None
    reason: str | None
    measures: str | None
    promised_date: date | None
    answer_round: int
    satisfaction: str | None
    follow_up: str | None
    overdue: bool
    status: str                       # a code of STATUS_NAMES in webui (words there)
    open_task: OpenTask | None = None
    evidence: tuple[tuple[str, str], ...] = ()     # (upload id, original name)


@dataclass
class LedgerPage:
    """One page of the ledger, with the total and the names of the org units it mentions."""

    rows: list[LedgerRow]
    total: int
    filter: LedgerFilter
    unit_names: dict[str, str] = field(default_factory=dict)
    next: str | None = None                 # the cursor of the page after this one (None: the last page)
    previous: str | None = None             # … before it (None: the first page)


def units_below(session: Session, codes: set[str]) -> set[str]:
    """The org units `codes` and every unit under them (a township and its villages' halls)."""
    if not codes:
        return set()
    parents = dict(session.execute(select(OrgUnit.id, OrgUnit.parent_id)).all())
    code_of = dict(session.execute(select(OrgUnit.id, OrgUnit.code)).all())
    found = {unit_id for unit_id, code in code_of.items() if code in codes}
    changed = True
    while changed:
        more = {unit_id for unit_id, parent in parents.items() if parent in found and unit_id not in found}
        found |= more
        changed = bool(more)
    return {code_of[unit_id] for unit_id in found} | codes


def _reach(session: Session, user: UserView):
    """SQL condition over Consultation and Suggestion: the rows `user` may see."""
    reach = policy.suggestion_reach(user)
    if reach.everything:
        return None
    conditions = []
    if reach.departments:
        conditions.append(Suggestion.department_code.in_(sorted(reach.departments)))
    if reach.units:
        conditions.append(Consultation.org_unit_code.in_(sorted(units_below(session, set(reach.units)))))
    if reach.visible_cases:
        conditions.append(Consultation.instance_id.in_(select(ProcessInstance.id)
                                                      .where(policy.visible_instances(user))))
    return or_(*conditions) if conditions else false()


def _overdue(today: date):
    return and_(Suggestion.promised_date < today, Suggestion.adoption.in_(("adopted", "partly")),
                or_(Suggestion.satisfaction.is_(None), Suggestion.satisfaction.notin_(SETTLED)))


def _with_none(column, codes: tuple[str, ...]):
    named = [code for code in codes if code != NONE]
    parts = [column.in_(named)] if named else []
    if NONE in codes:
        parts.append(column.is_(None))
    return or_(*parts)


def _conditions(session: Session, wanted: LedgerFilter, today: date) -> list:
    conditions = []
    if wanted.tier:
        conditions.append(Consultation.tier == wanted.tier)
    if wanted.unit:
        conditions.append(Consultation.org_unit_code.in_(sorted(units_below(session, {wanted.unit}))))
    if wanted.department:
        conditions.append(Suggestion.department_code == wanted.department)
    if wanted.adoption:
        conditions.append(_with_none(Suggestion.adoption, wanted.adoption))
    if wanted.answered is not None:
        answered = Suggestion.adoption.in_(ANSWERED)
        conditions.append(answered if wanted.answered else or_(Suggestion.adoption.is_(None),
                                                                Suggestion.adoption.notin_(ANSWERED)))
    if wanted.satisfaction:
        conditions.append(_with_none(Suggestion.satisfaction, wanted.satisfaction))
    span = wanted.period_range()
    if span:
        conditions.append(and_(Consultation.meeting_date >= span[0], Consultation.meeting_date < span[1]))
    if wanted.overdue:
        conditions.append(_overdue(today))
    return conditions


def _keys(wanted: LedgerFilter) -> list[keyset.Key]:
    """The ledger's order: the sort column (rows without its date last, either way), then the newest case first,
    then the suggestion's number — unique, so pages never overlap."""
    column, kind = {"meeting": (Consultation.meeting_date, "date"), "promised": (Suggestion.promised_date, "date"),
                    "department": (Suggestion.department_code, "str"), "topic": (Consultation.title, "str")}[
        wanted.sort]
    return [keyset.Key(keyset.flag(column.is_(None)), False, "bool"), keyset.Key(column, wanted.descending, kind),
            keyset.Key(Consultation.instance_id, True, "int"), keyset.Key(Suggestion.number, False, "int")]


def _key_values(wanted: LedgerFilter, suggestion: Suggestion, consultation: Consultation) -> list:
    value = {"meeting": consultation.meeting_date, "promised": suggestion.promised_date,
             "department": suggestion.department_code, "topic": consultation.title}[wanted.sort]
    return [int(value is None), value, consultation.instance_id, suggestion.number]


def _sort_name(wanted: LedgerFilter) -> str:
    return wanted.sort + ("-desc" if wanted.descending else "-asc")


def _query(session: Session, user: UserView | None, wanted: LedgerFilter, today: date):
    query = select(Suggestion, Consultation).join(Consultation, Consultation.id == Suggestion.consultation_id)
    reach = _reach(session, user) if user is not None else None
    if reach is not None:
        query = query.where(reach)
    return query.where(*_conditions(session, wanted, today))


def label_of(text: str) -> str:
    """The label the task projection gives the task working on a suggestion with this text."""
    words = " ".join(text.split())
    return words[:MAX_LABEL - 1] + "…" if len(words) > MAX_LABEL else words


def _open_tasks(session: Session, instance_ids: set[int], now) -> dict[tuple[int, str], OpenTask]:
    if not instance_ids:
        return {}
    found: dict[tuple[int, str], OpenTask] = {}
    for task in session.scalars(select(HumanTask).where(
            HumanTask.instance_id.in_(sorted(instance_ids)), HumanTask.status == "ready",
            HumanTask.task_spec.in_(ANSWER_TASKS + OFFICE_TASKS)).order_by(HumanTask.created_at)):
        if task.item_label:
            found[(task.instance_id, task.item_label)] = OpenTask(
                task.id, task.task_spec, task.role, task.org_unit_code, task.due_at,
                bool(task.due_at and task.due_at < now))
    return found


def _evidence(session: Session, instance_ids: set[int]) -> dict[tuple[int, int], list[tuple[str, str]]]:
    """(instance, suggestion number) → the files attached to the follow-up visits that covered it."""
    if not instance_ids:
        return {}
    visits = {row.task_id: row for row in session.scalars(select(TaskSubmission).where(
        TaskSubmission.instance_id.in_(sorted(instance_ids)), TaskSubmission.task_spec == "follow_up_visit"))}
    if not visits:
        return {}
    found: dict[tuple[int, int], list[tuple[str, str]]] = {}
    for upload in session.scalars(select(Upload).where(Upload.task_id.in_(sorted(visits)),
                                                       Upload.attached_at.isnot(None)).order_by(Upload.created_at)):
        visit = visits[upload.task_id]
        for item in (visit.data or {}).get("visits") or []:
            if isinstance(item, dict) and isinstance(item.get("suggestion_id"), int):
                found.setdefault((visit.instance_id, item["suggestion_id"]), []).append(
                    (upload.id, upload.filename))
    return found


def status_of(suggestion: Suggestion, overdue: bool, task: OpenTask | None) -> str:
    """Where the suggestion stands, as a code (the page says it in words)."""
    if task is not None and task.task_spec in OFFICE_TASKS:
        return "rerouting"
    if task is not None and task.task_spec == "reanswer_suggestion":
        return "supervised"
    if suggestion.adoption not in ANSWERED:
        return "awaiting_answer"
    if suggestion.satisfaction in SETTLED:
        return "closed"
    if overdue:
        return "overdue"
    if suggestion.satisfaction == "unsatisfied":
        return "reanswered" if suggestion.answer_round >= 2 else "unsatisfied"
    return "awaiting_visit"


def ledger(session: Session, user: UserView, wanted: LedgerFilter, now) -> LedgerPage:
    """One page of the suggestions `user` may see, narrowed and sorted as `wanted` says."""
    today = now.date() if hasattr(now, "date") else now
    query, keys = _query(session, user, wanted, today), _keys(wanted)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    backwards = wanted.before is not None
    cursor = wanted.before if backwards else wanted.after
    if cursor is not None:           # raises keyset.BadCursor for a cursor this ledger did not make
        query = query.where(keyset.beyond(keys, keyset.decode(cursor, _sort_name(wanted), keys), backwards))
    found = session.execute(query.order_by(*keyset.order(keys, backwards)).limit(wanted.per_page + 1)).all()
    more = len(found) > wanted.per_page
    found = found[:wanted.per_page]
    if backwards:
        found.reverse()
    ends = [keyset.encode(_sort_name(wanted), _key_values(wanted, *found[i])) for i in (0, -1)] if found else [None] * 2
    return LedgerPage(_rows(session, found, now, today), total or 0, wanted, unit_names(session),
                      next=ends[1] if (more if not backwards else cursor is not None) else None,
                      previous=ends[0] if (more if backwards else cursor is not None) else None)


def all_rows(session: Session, user: UserView | None, wanted: LedgerFilter, now, limit: int) -> list[LedgerRow]:
    """Every row of the filtered ledger (for an export), at most `limit`, in the page's order; `user` None: every
    suggestion the filter selects (a caller that has checked who may read them, e.g. the monthly report)."""
    today = now.date()
    found = session.execute(_query(session, user, wanted, today).order_by(*keyset.order(_keys(wanted)))
                            .limit(limit)).all()
    return _rows(session, found, now, today)


def _rows(session: Session, found, now, today: date) -> list[LedgerRow]:
    instance_ids = {consultation.instance_id for _s, consultation in found}
    tasks = _open_tasks(session, instance_ids, now)
    files = _evidence(session, instance_ids)
    rows = []
    for suggestion, consultation in found:
        overdue = bool(suggestion.promised_date and suggestion.promised_date < today
                       and suggestion.adoption in ("adopted", "partly")
                       and suggestion.satisfaction not in SETTLED)
        task = tasks.get((consultation.instance_id, label_of(suggestion.text)))
        rows.append(LedgerRow(
            suggestion.id, suggestion.number, suggestion.text, consultation.instance_id,
            consultation.topic or consultation.title, consultation.tier, consultation.org_unit_code,
            consultation.meeting_date, suggestion.department_code, tuple(suggestion.departments_before or ()),
            suggestion.adoption if suggestion.adoption in ANSWERED else None, suggestion.reason,
            suggestion.measures, suggestion.promised_date, suggestion.answer_round, suggestion.satisfaction,
            suggestion.follow_up, overdue, status_of(suggestion, overdue, task), task,
            tuple(files.get((consultation.instance_id, suggestion.number), ()))))
    return rows


def unit_names(session: Session) -> dict[str, str]:
    """Org unit code → name."""
    return dict(session.execute(select(OrgUnit.code, OrgUnit.name)).all())


def choices(session: Session) -> dict[str, list[tuple[str, str]]]:
    """The units and departments the filter offers: (code, name) by kind."""
    rows = session.execute(select(OrgUnit.code, OrgUnit.name, OrgUnit.kind).order_by(OrgUnit.id)).all()
    departments = [(code, name) for code, name, kind in rows if kind == "department"]
    units = [(code, name) for code, name, kind in rows if kind in PLATFORM_KINDS]
    return {"units": units, "departments": departments}
