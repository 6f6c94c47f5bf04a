"""The county's figures kept as counters (figure_count), so a year's figures are a sum over a few hundred rows rather
than a grouping of every task and record of the year on each request.

Each consultation's share of the counters (figure_share: per month, tier, org unit, metric and step) has one
definition, `case_share`, over its record, its tasks and its held meeting's attendees and suggestions. It is kept at
every save of the instance, in the same transaction, from what the save already holds (`refresh_saved`, from the
consultation's `on_save` hook); for given consultations from the database by `refresh` (e.g. after a meeting's
sign-ins); for every consultation by `rebuild` (`xieshang figures rebuild`). A refresh adds the difference between the
new share and the stored one to the counters and writes the share rows that changed, so the counters always equal the
sum of the shares, and a rebuild gives the same numbers as the saves did (tests/processes/test_figure_counts.py walks
the scenarios).

Metrics, in the months (county time) domain.consultation.figures counts them in:
- held, attendances, suggestions, answered, adopted, visited, satisfied: the month the meeting was held on, the
  consultation's tier and org unit (a meeting counts once its `hold_meeting` task is completed); attendances are the
  people with an account signed in to the consultation's meeting record when it has sign-ins (`signed_in`), else
  the attendees the step-4 form names;
- proposed: the month a member's topic came in, the consultation's tier and org unit;
- research: research tasks completed, the month completed, the task's tier and the consultation's unit;
- completed / on_time (per step 1–6): tasks completed with a due time / of them by that time, likewise;
- due / late (per step): tasks with a due time / of them completed after it, the month the task was created;
- span:<days> (per step): the heatmap's histogram — a case's step (its first task created → its last completed,
  counted once all its tasks are completed) by the days it took (`span_days`: exact to the day up to 30 days, then
  by 5 and by 30 days, so the rows per month stay bounded), the month the step finished; span_all:<days> the same
  summed over the org units (org unit ""), read by county-wide readers. The median is read from it.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import NamedTuple

from sqlalchemy import ForeignKey, Index, Integer, String, bindparam, delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from domain.consultation.models import Consultation, IntakeItem, Suggestion
from domain.meetings.models import Meeting, MeetingAttendance
from engine.clock import LOCAL_TZ
from engine.store.db import Base
from engine.store.models import HumanTask
from engine.store.submissions import TaskSubmission

MEETING_TASK = "hold_meeting"
RESEARCH_TASK = "research"
ADOPTED = ("adopted", "partly")
ANSWERED = ("adopted", "partly", "not_adopted", "solved")     # "not ours" sends a suggestion back: not an answer
SATISFIED = ("satisfied", "basically_satisfied")
STEPS = (1, 2, 3, 4, 5, 6)
METRICS = ("held", "attendances", "suggestions", "answered", "adopted", "visited", "satisfied", "proposed",
           "research", "completed", "on_time", "due", "late", "span:<days>", "span_all:<days>")
COUNTED = METRICS[:-2]        # every metric but the histogram's
SPAN = "span:"                # "span:12": the step's spans of 11–12 days in one org unit (the heatmap's medians)
SPAN_ALL = "span_all:"        # the same over every org unit (org unit ""), so a county-wide reader reads fewer rows
BATCH = 400                   # instances per query when rebuilding

Key = tuple[str, str, str, str, int]      # (month YYYY-MM, tier, org unit, metric, step; 0 when not per step)


class FigureCount(Base):
    """One counter: the sum of every consultation's share of (month, tier, org unit, metric, step)."""

    __tablename__ = "figure_count"
    __table_args__ = (Index("ix_figure_count_read", "month", "metric", "step", "tier", "org_unit_code", "value"),
                      Index("ix_figure_count_unit", "org_unit_code", "month", "metric", "step", "tier", "value"))
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    tier: Mapped[str] = mapped_column(String(20), primary_key=True)
    org_unit_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    metric: Mapped[str] = mapped_column(String(20), primary_key=True)
    step: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class FigureShare(Base):
    """One consultation's part of a counter, kept so a save can add just the difference."""

    __tablename__ = "figure_share"
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    tier: Mapped[str] = mapped_column(String(20), primary_key=True)
    org_unit_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    metric: Mapped[str] = mapped_column(String(20), primary_key=True)
    step: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


_OFFSET = LOCAL_TZ.utcoffset(None)       # the county's time has one offset (no daylight saving)


def _month(moment: datetime | date) -> str:
    if isinstance(moment, datetime):
        moment = moment + _OFFSET if moment.tzinfo is None else moment.astimezone(LOCAL_TZ)   # naive: UTC
    return f"{moment.year:04d}-{moment.month:02d}"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    """What a consultation's share reads from its record and its intake item."""

    id: int
    instance_id: int
    tier: str | None
    org_unit_code: str | None
    meeting_date: date | None
    source: str | None            # the intake item's
    created_at: datetime | None   # the intake item's


class TaskRow(NamedTuple):
    """What a consultation's share reads from one of its human tasks."""

    task_spec: str
    step: int | None
    tier: str | None
    due_at: datetime | None
    created_at: datetime
    completed_at: datetime | None
    status: str


_TASK = HumanTask.__table__.c
_TASK_COLUMNS = (_TASK.task_spec, _TASK.step, _TASK.tier, _TASK.due_at, _TASK.created_at, _TASK.completed_at,
                 _TASK.status)
# Core statements (no ORM layer, no autoflush), built once: a save runs them with its instance id
TASKS_OF = select(*_TASK_COLUMNS).where(_TASK.instance_id == bindparam("instance_id"))
_SHARE = FigureShare.__table__.c
_STORED_OF = select(_SHARE.month, _SHARE.tier, _SHARE.org_unit_code, _SHARE.metric, _SHARE.step, _SHARE.value) \
    .where(_SHARE.instance_id == bindparam("instance_id"))


def tasks_of(session: Session, instance_id: int) -> list[TaskRow]:
    """The instance's human tasks as its share reads them (as flushed: the caller flushes a save's rows first)."""
    return [TaskRow(*row) for row in session.execute(TASKS_OF, {"instance_id": instance_id})]


def held(case: Case, tasks: Iterable[TaskRow]) -> bool:
    """The consultation's meeting counts: its `hold_meeting` task is completed and the meeting has a date."""
    return case.meeting_date is not None and any(t.task_spec == MEETING_TASK and t.status == "completed"
                                                 for t in tasks)


def case_share(case: Case, tasks: list[TaskRow], attendees: set[str] | None = None,
               suggestions: Iterable[tuple[str | None, str | None]] = ()) -> Counter:
    """One consultation's counters from its record, its tasks and, when its meeting was held, the meeting's
    attendees and its suggestions' (adoption, satisfaction) — the figures' definitions (module docstring)."""
    counts: Counter = Counter()
    tier, unit = case.tier or "", case.org_unit_code or ""
    if case.source == "member" and case.created_at is not None:
        counts[(_month(case.created_at), tier, unit, "proposed", 0)] += 1
    if held(case, tasks):
        key = (_month(case.meeting_date), tier, unit)
        counts[(*key, "held", 0)] += 1
        if attendees:
            counts[(*key, "attendances", 0)] += len(attendees)
        for adoption, satisfaction in suggestions:
            counts[(*key, "suggestions", 0)] += 1
            if adoption in ANSWERED:
                counts[(*key, "answered", 0)] += 1
                counts[(*key, "adopted", 0)] += adoption in ADOPTED
            if satisfaction:
                counts[(*key, "visited", 0)] += 1
                counts[(*key, "satisfied", 0)] += satisfaction in SATISFIED
    _task_counts(counts, tasks, unit)
    return counts


def _task_counts(counts: Counter, tasks: Iterable[TaskRow], unit: str) -> None:
    """Research done, each step's completed and on-time tasks, its tasks with a due time and those finished late (by
    the month created), and each finished step's span in whole days (the heatmap's histogram)."""
    spans: dict[int, list] = {}
    for spec, step, tier, due, created, done, status in tasks:
        if step not in STEPS:
            continue
        tier = tier or ""
        if due is not None:
            counts[(_month(created), tier, unit, "due", step)] += 1
            counts[(_month(created), tier, unit, "late", step)] += done is not None and _aware(done) > _aware(due)
        span = spans.setdefault(step, [tier, created, done])
        if (created, tier) < (span[1], span[0]):        # the step's tier: its first task's, whatever the read order
            span[0], span[1] = tier, created
        span[2] = None if done is None or span[2] is None else max(span[2], done)
        if status != "completed" or done is None:
            continue
        month = _month(done)
        if spec == RESEARCH_TASK:
            counts[(month, tier, unit, "research", 0)] += 1
        if due is not None:
            counts[(month, tier, unit, "completed", step)] += 1
            counts[(month, tier, unit, "on_time", step)] += _aware(done) <= _aware(due)
    for step, (tier, began, ended) in spans.items():
        if ended is not None:
            days = span_days((_aware(ended) - _aware(began)).total_seconds() / 86400)
            counts[(_month(ended), tier, unit, f"{SPAN}{days}", step)] += 1
            counts[(_month(ended), tier, "", f"{SPAN_ALL}{days}", step)] += 1


def shares(session: Session, instance_ids: Iterable[int]) -> dict[int, Counter]:
    """Per consultation instance among `instance_ids`: its counters, from its records (figures' definitions)."""
    ids = sorted(set(instance_ids))
    if not ids:
        return {}
    cases = [Case(*row) for row in session.execute(
        select(Consultation.id, Consultation.instance_id, Consultation.tier, Consultation.org_unit_code,
               Consultation.meeting_date, IntakeItem.source, IntakeItem.created_at)
        .outerjoin(IntakeItem, IntakeItem.id == Consultation.intake_id)
        .where(Consultation.instance_id.in_(ids)))]
    tasks: dict[int, list[TaskRow]] = defaultdict(list)
    for instance_id, *row in session.execute(
            select(_TASK.instance_id, *_TASK_COLUMNS).where(
                _TASK.instance_id.in_([case.instance_id for case in cases]),
                or_(_TASK.step.in_(STEPS), _TASK.task_spec == MEETING_TASK))):
        tasks[instance_id].append(TaskRow(*row))
    met = [case for case in cases if held(case, tasks[case.instance_id])]
    people = attendees(session, met)
    said: dict[int, list] = defaultdict(list)
    if met:
        for consultation_id, adoption, satisfaction in session.execute(
                select(Suggestion.consultation_id, Suggestion.adoption, Suggestion.satisfaction)
                .where(Suggestion.consultation_id.in_(sorted(case.id for case in met)))):
            said[consultation_id].append((adoption, satisfaction))
    return {case.instance_id: case_share(case, tasks[case.instance_id], people.get(case.instance_id),
                                         said[case.id]) for case in cases}


def span_days(days: float) -> int:
    """A step's span as the histogram's bucket, its upper bound in whole days: exact to the day up to 30 days (a part
    day counting as one: 2.1 days → 3), then by 5 days up to 90 (31.2 → 35), then by 30 days (91 → 120)."""
    whole = max(0, math.ceil(round(days, 6)))
    step = 1 if whole <= 30 else 5 if whole <= 90 else 30
    return -(-whole // step) * step


_MEETING_FORMS = (select(TaskSubmission.instance_id, TaskSubmission.data["attendees"])
                  .where(TaskSubmission.instance_id.in_(bindparam("instance_ids", expanding=True)),
                         TaskSubmission.task_spec == MEETING_TASK)
                  .order_by(TaskSubmission.id))
_SIGNED_IN = (select(Consultation.instance_id, MeetingAttendance.username)
              .join(Meeting, Meeting.consultation_id == Consultation.id)
              .join(MeetingAttendance, MeetingAttendance.meeting_id == Meeting.id)
              .where(Consultation.id.in_(bindparam("consultation_ids", expanding=True)),
                     Meeting.kind == "consultation", Meeting.status != "cancelled",
                     MeetingAttendance.username.isnot(None)))


def attendees(session: Session, cases: list[Case]) -> dict[int, set[str]]:
    """Instance → the people its held meeting counts as attendances: those signed in to its meeting record where any
    did (`signed_in`), else the latest meeting form's attendees."""
    found: dict[int, set[str]] = {}
    if not cases:
        return found
    for instance_id, people in session.execute(
            _MEETING_FORMS, {"instance_ids": sorted(case.instance_id for case in cases)}):
        if isinstance(people, list):
            found[instance_id] = {a for a in people if isinstance(a, str)}
    found.update(signed_in(session, sorted(case.id for case in cases)))
    return found


def signed_in(session: Session, consultation_ids: list[int]) -> dict[int, set[str]]:
    """Instance → the people with an account signed in to its consultation meeting (协商议事会), for consultations
    whose meeting record has any sign-in: where one exists, attendance is what participation counts; older cases
    (no meeting record, or nobody signed in on it) keep the step-4 form's attendees."""
    found: dict[int, set[str]] = {}
    if not consultation_ids:
        return found
    for instance_id, username in session.execute(_SIGNED_IN, {"consultation_ids": consultation_ids}):
        found.setdefault(instance_id, set()).add(username)
    return found


_KEY = ("month", "tier", "org_unit_code", "metric", "step")
_UPSERTS: dict[tuple[str, str], object] = {}


def _upsert(session: Session, table, adding: bool):
    """INSERT … ON CONFLICT of the dialect, built once: the value added to the row's (counters) or replacing it
    (shares)."""
    dialect = session.get_bind().dialect.name
    found = _UPSERTS.get((dialect, table.name))
    if found is None:
        statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
        value = table.c.value + statement.excluded.value if adding else statement.excluded.value
        keys = [*(["instance_id"] if "instance_id" in table.c else []), *_KEY]
        found = _UPSERTS[(dialect, table.name)] = statement.on_conflict_do_update(index_elements=keys,
                                                                                  set_={"value": value})
    return found


def _add(session: Session, delta: Counter) -> None:
    """Add `delta` to the counters, in key order (two saves lock the rows they share in the same order)."""
    rows = [dict(zip(_KEY, k, strict=True), value=v) for k, v in sorted(delta.items()) if v]
    if rows:
        session.execute(_upsert(session, FigureCount.__table__, adding=True), rows)


def _stored(session: Session, instance_ids: list[int]) -> dict[int, Counter]:
    found: dict[int, Counter] = defaultdict(Counter)
    for instance_id, month, tier, unit, metric, step, value in session.execute(
            select(_SHARE.instance_id, _SHARE.month, _SHARE.tier, _SHARE.org_unit_code, _SHARE.metric, _SHARE.step,
                   _SHARE.value).where(_SHARE.instance_id.in_(instance_ids))):
        found[instance_id][(month, tier, unit, metric, step)] = value
    return found


def _kept(counts: Counter) -> dict:
    """The counts as stored: the keys with a value."""
    return {key: value for key, value in counts.items() if value}


_DROP = delete(FigureShare.__table__).where(_SHARE.instance_id == bindparam("iid"),
                                            *(_SHARE[k] == bindparam(f"k_{k}") for k in _KEY))


def _store(session: Session, new: dict[int, Counter], old: dict[int, Counter]) -> None:
    """Write the shares' changes: the rows whose value changed or came, and delete the rows whose value went to 0."""
    changed, gone = [], []
    for iid, counts in sorted(new.items()):
        kept, before = _kept(counts), old.get(iid, {})
        changed += [dict(zip(_KEY, k, strict=True), instance_id=iid, value=v)
                    for k, v in sorted(kept.items()) if before.get(k) != v]
        gone += [{"iid": iid, **{f"k_{n}": part for n, part in zip(_KEY, k, strict=True)}}
                 for k in sorted(before) if k not in kept]
    if gone:
        session.execute(_DROP, gone)
    if changed:       # nothing stored before (a rebuild): plain rows
        statement = _upsert(session, FigureShare.__table__, adding=False) if old else FigureShare.__table__.insert()
        session.execute(statement, changed)


def _apply(session: Session, new: dict[int, Counter], old: dict[int, Counter]) -> None:
    """Add the differences between the new shares and the stored ones to the counters and store the new shares."""
    delta: Counter = Counter()
    for iid, counts in new.items():
        delta.update(counts)
        delta.subtract(old.get(iid, Counter()))
    _add(session, delta)
    _store(session, new, old)


def refresh(session: Session, instance_ids: Iterable[int]) -> None:
    """Bring the counters up to date with the records of these instances (same transaction as the records)."""
    ids = sorted(set(instance_ids))
    session.flush()
    new, old = shares(session, ids), _stored(session, ids)
    # most saves change no share (a task without a due time done, a form saved): those write nothing
    _apply(session, {iid: new.get(iid, Counter()) for iid in ids
                     if _kept(new.get(iid, Counter())) != _kept(old.get(iid, Counter()))}, old)


def refresh_saved(session: Session, case: Case, tasks: list[TaskRow],
                  suggestions: Iterable[tuple[str | None, str | None]]) -> None:
    """`refresh` for one consultation as its save left it: its record and suggestions as synced (in memory, not
    flushed yet) and its tasks as flushed; reads only its attendees (once its meeting is held) and its stored share."""
    people = attendees(session, [case]).get(case.instance_id) if held(case, tasks) else None
    new = _kept(case_share(case, tasks, people, suggestions))
    old = {(month, tier, unit, metric, step): value for month, tier, unit, metric, step, value
           in session.execute(_STORED_OF, {"instance_id": case.instance_id})}
    if new != old:
        _apply(session, {case.instance_id: Counter(new)}, {case.instance_id: Counter(old)})


def rebuild(session: Session, batch: int = BATCH) -> int:
    """Recompute every share and counter from the records; returns the number of consultations counted."""
    session.execute(delete(FigureCount))
    session.execute(delete(FigureShare))
    ids = list(session.scalars(select(Consultation.instance_id).order_by(Consultation.instance_id)))
    total: Counter = Counter()
    for start in range(0, len(ids), batch):
        part = ids[start:start + batch]
        new = shares(session, part)
        _store(session, new, {})
        for share in new.values():
            total.update(share)
    _add(session, total)
    return len(ids)


def fill_if_empty(session: Session) -> int:
    """Rebuild when consultations exist but nothing was ever counted (the upgrade that added the counters); returns
    the consultations counted (0 when there was nothing to do)."""
    if session.scalar(select(FigureShare.instance_id).limit(1)) is not None or \
            session.scalar(select(Consultation.id).limit(1)) is None:
        return 0
    return rebuild(session)


def _scoped(query, months: Iterable[str], tier: str | None, units: frozenset[str] | None):
    query = query.where(FigureCount.month.in_(sorted(months)))
    if tier:
        query = query.where(FigureCount.tier == tier)
    if units is not None:
        query = query.where(FigureCount.org_unit_code.in_(sorted(units)))
    return query


def monthly(session: Session, months: Iterable[str], tier: str | None = None,
            units: frozenset[str] | None = None) -> dict[tuple[str, str, int], int]:
    """(month, metric, step) → the sum of the counters of `months` (one tier / the units' consultations); the
    histogram of step spans is left out (`step_spans` reads it)."""
    value = func.sum(FigureCount.value)
    query = _scoped(select(FigureCount.month, FigureCount.metric, FigureCount.step, value), months, tier, units)
    return {(month, metric, step): int(total) for month, metric, step, total in session.execute(
        query.where(FigureCount.metric.in_(COUNTED)).group_by(FigureCount.month, FigureCount.metric,
                                                               FigureCount.step)) if total}


def step_spans(session: Session, months: Iterable[str], tier: str | None = None,
               units: frozenset[str] | None = None) -> dict[int, Counter]:
    """Step → its histogram over `months`: a bucket's upper bound in days (`span_days`) → steps finished in it."""
    prefix = SPAN if units is not None else SPAN_ALL
    value = func.sum(FigureCount.value)
    query = (_scoped(select(FigureCount.metric, FigureCount.step, value), months, tier, units)
             .where(FigureCount.metric >= prefix, FigureCount.metric < prefix[:-1] + chr(ord(prefix[-1]) + 1))
             .group_by(FigureCount.metric, FigureCount.step))
    found: dict[int, Counter] = defaultdict(Counter)
    for metric, step, total in session.execute(query):
        if total:
            found[step][int(metric[len(prefix):])] += int(total)
    return found


def held_where(session: Session, months: Iterable[str], tier: str | None = None,
               units: frozenset[str] | None = None) -> dict[tuple[str, str, str], int]:
    """(month, tier, org unit) → consultations held there in `months`."""
    query = _scoped(select(FigureCount.month, FigureCount.tier, FigureCount.org_unit_code, FigureCount.value)
                    .where(FigureCount.metric == "held"), months, tier, units)
    return {(month, row_tier, unit): value for month, row_tier, unit, value in session.execute(query) if value}


def all_counts(session: Session) -> dict[Key, int]:
    """Every non-zero counter (a rebuild check compares these)."""
    return {(r.month, r.tier, r.org_unit_code, r.metric, r.step): r.value
            for r in session.scalars(select(FigureCount)) if r.value}

