"""The county's figures kept as counters (figure_count), so a year's figures are a sum over a few hundred rows rather
than a grouping of every task and record of the year on each request.

Each consultation's share of the counters (figure_share: per month, tier, org unit, metric and step) is computed from
its records by `shares` — at every save of the instance, in the same transaction (`refresh`, from the consultation's
`on_save` hook), and for every consultation by `rebuild` (`xieshang figures rebuild`). `refresh` adds the difference
between the new share and the stored one to the counters, so the counters always equal the sum of the shares, and a
rebuild gives the same numbers as the saves did (tests/processes/test_figure_counts.py walks the scenarios).

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
from datetime import UTC, date, datetime

from sqlalchemy import ForeignKey, Index, Integer, String, delete, func, select
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


def shares(session: Session, instance_ids: Iterable[int]) -> dict[int, Counter]:
    """Per consultation instance among `instance_ids`: its counters, from its records (figures' definitions)."""
    ids = sorted(set(instance_ids))
    if not ids:
        return {}
    cases = session.execute(
        select(Consultation.id, Consultation.instance_id, Consultation.tier, Consultation.org_unit_code,
               Consultation.meeting_date, IntakeItem.source, IntakeItem.created_at)
        .outerjoin(IntakeItem, IntakeItem.id == Consultation.intake_id)
        .where(Consultation.instance_id.in_(ids))).all()
    out: dict[int, Counter] = {row.instance_id: Counter() for row in cases}
    unit_of = {row.instance_id: row.org_unit_code or "" for row in cases}
    met = set(session.scalars(select(HumanTask.instance_id).where(
        HumanTask.instance_id.in_(ids), HumanTask.task_spec == MEETING_TASK, HumanTask.status == "completed")))
    held = {row.id: row for row in cases if row.instance_id in met and row.meeting_date is not None}
    for row in cases:
        tier, unit = row.tier or "", row.org_unit_code or ""
        if row.source == "member" and row.created_at is not None:
            out[row.instance_id][(_month(row.created_at), tier, unit, "proposed", 0)] += 1
        if row.id in held:
            out[row.instance_id][(_month(row.meeting_date), tier, unit, "held", 0)] += 1
    if held:
        _meeting_shares(session, held, out)
    _task_shares(session, out, unit_of)
    return out


def _task_shares(session: Session, out: dict[int, Counter], unit_of: dict[int, str]) -> None:
    """Research done, each step's completed and on-time tasks, its tasks with a due time and those finished late (by
    the month created), and each finished step's span in whole days (the heatmap's histogram)."""
    spans: dict[tuple[int, int], list] = {}
    for instance_id, spec, step, tier, due, created, done, status in session.execute(
            select(HumanTask.instance_id, HumanTask.task_spec, HumanTask.step, HumanTask.tier, HumanTask.due_at,
                   HumanTask.created_at, HumanTask.completed_at, HumanTask.status)
            .where(HumanTask.instance_id.in_(list(out)), HumanTask.step.in_(STEPS))):
        tier, unit, counts = tier or "", unit_of[instance_id], out[instance_id]
        if due is not None:
            counts[(_month(created), tier, unit, "due", step)] += 1
            counts[(_month(created), tier, unit, "late", step)] += done is not None and _aware(done) > _aware(due)
        span = spans.setdefault((instance_id, step), [tier, created, done])
        span[1], span[2] = min(span[1], created), None if done is None or span[2] is None else max(span[2], done)
        if status != "completed" or done is None:
            continue
        month = _month(done)
        if spec == RESEARCH_TASK:
            counts[(month, tier, unit, "research", 0)] += 1
        if due is not None:
            counts[(month, tier, unit, "completed", step)] += 1
            counts[(month, tier, unit, "on_time", step)] += _aware(done) <= _aware(due)
    for (instance_id, step), (tier, began, ended) in spans.items():
        if ended is not None:
            days = span_days((_aware(ended) - _aware(began)).total_seconds() / 86400)
            out[instance_id][(_month(ended), tier, unit_of[instance_id], f"{SPAN}{days}", step)] += 1
            out[instance_id][(_month(ended), tier, "", f"{SPAN_ALL}{days}", step)] += 1


def span_days(days: float) -> int:
    """A step's span as the histogram's bucket, its upper bound in whole days: exact to the day up to 30 days (a part
    day counting as one: 2.1 days → 3), then by 5 days up to 90 (31.2 → 35), then by 30 days (91 → 120)."""
    whole = max(0, math.ceil(round(days, 6)))
    step = 1 if whole <= 30 else 5 if whole <= 90 else 30
    return -(-whole // step) * step


def _meeting_shares(session: Session, held: dict, out: dict[int, Counter]) -> None:
    """Attendees (the latest meeting record's) and suggestions of the held meetings, in the meeting's month."""
    by_instance = {row.instance_id: row for row in held.values()}
    attendees: dict[int, set[str]] = {}
    for instance_id, data in session.execute(
            select(TaskSubmission.instance_id, TaskSubmission.data)
            .where(TaskSubmission.instance_id.in_(sorted(by_instance)), TaskSubmission.task_spec == MEETING_TASK)
            .order_by(TaskSubmission.id)):
        people = (data or {}).get("attendees")
        if isinstance(people, list):
            attendees[instance_id] = {a for a in people if isinstance(a, str)}
    attendees.update(signed_in(session, sorted(held)))
    for instance_id, people in attendees.items():
        row = by_instance[instance_id]
        if people:
            out[instance_id][(_month(row.meeting_date), row.tier or "", row.org_unit_code or "", "attendances",
                              0)] += len(people)
    for consultation_id, adoption, satisfaction in session.execute(
            select(Suggestion.consultation_id, Suggestion.adoption, Suggestion.satisfaction)
            .where(Suggestion.consultation_id.in_(sorted(held)))):
        row = held[consultation_id]
        key = (_month(row.meeting_date), row.tier or "", row.org_unit_code or "")
        counts = out[row.instance_id]
        counts[(*key, "suggestions", 0)] += 1
        if adoption in ANSWERED:
            counts[(*key, "answered", 0)] += 1
            counts[(*key, "adopted", 0)] += adoption in ADOPTED
        if satisfaction:
            counts[(*key, "visited", 0)] += 1
            counts[(*key, "satisfied", 0)] += satisfaction in SATISFIED


def signed_in(session: Session, consultation_ids: list[int]) -> dict[int, set[str]]:
    """Instance → the people with an account signed in to its consultation meeting (协商议事会), for consultations
    whose meeting record has any sign-in: where one exists, attendance is what participation counts; older cases
    (no meeting record, or nobody signed in on it) keep the step-4 form's attendees."""
    found: dict[int, set[str]] = {}
    if not consultation_ids:
        return found
    for instance_id, username in session.execute(
            select(Consultation.instance_id, MeetingAttendance.username)
            .join(Meeting, Meeting.consultation_id == Consultation.id)
            .join(MeetingAttendance, MeetingAttendance.meeting_id == Meeting.id)
            .where(Consultation.id.in_(consultation_ids), Meeting.kind == "consultation",
                   Meeting.status != "cancelled", MeetingAttendance.username.isnot(None))):
        found.setdefault(instance_id, set()).add(username)
    return found


def _add(session: Session, delta: Counter) -> None:
    """Add `delta` to the counters, in key order (two saves lock the rows they share in the same order)."""
    rows = [{"month": k[0], "tier": k[1], "org_unit_code": k[2], "metric": k[3], "step": k[4], "value": v}
            for k, v in sorted(delta.items()) if v]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(FigureCount.__table__)
    session.execute(statement.on_conflict_do_update(
        index_elements=["month", "tier", "org_unit_code", "metric", "step"],
        set_={"value": FigureCount.__table__.c.value + statement.excluded.value}), rows)


def _stored(session: Session, instance_ids: list[int]) -> dict[int, Counter]:
    found: dict[int, Counter] = defaultdict(Counter)
    for instance_id, month, tier, unit, metric, step, value in session.execute(
            select(FigureShare.instance_id, FigureShare.month, FigureShare.tier, FigureShare.org_unit_code,
                   FigureShare.metric, FigureShare.step, FigureShare.value)
            .where(FigureShare.instance_id.in_(instance_ids))):
        found[instance_id][(month, tier, unit, metric, step)] = value
    return found


def _kept(counts: Counter) -> dict:
    """The counts as stored: the keys with a value."""
    return {key: value for key, value in counts.items() if value}


def _store(session: Session, instance_ids: list[int], new: dict[int, Counter]) -> None:
    session.execute(delete(FigureShare).where(FigureShare.instance_id.in_(instance_ids)))
    rows = [{"instance_id": iid, "month": k[0], "tier": k[1], "org_unit_code": k[2], "metric": k[3], "step": k[4],
             "value": v} for iid, counts in new.items() for k, v in sorted(counts.items()) if v]
    if rows:
        session.execute(FigureShare.__table__.insert(), rows)


def refresh(session: Session, instance_ids: Iterable[int]) -> None:
    """Bring the counters up to date with the records of these instances (same transaction as the records)."""
    ids = sorted(set(instance_ids))
    session.flush()
    new, old = shares(session, ids), _stored(session, ids)
    # most saves change no share (a task without a due time done, a form saved): those write nothing
    changed = [iid for iid in ids if _kept(new.get(iid, Counter())) != _kept(old.get(iid, Counter()))]
    if not changed:
        return
    delta: Counter = Counter()
    for iid in changed:
        delta.update(new.get(iid, Counter()))
        delta.subtract(old.get(iid, Counter()))
    _add(session, delta)
    _store(session, changed, {iid: new[iid] for iid in changed if iid in new})


def rebuild(session: Session, batch: int = BATCH) -> int:
    """Recompute every share and counter from the records; returns the number of consultations counted."""
    session.execute(delete(FigureCount))
    session.execute(delete(FigureShare))
    ids = list(session.scalars(select(Consultation.instance_id).order_by(Consultation.instance_id)))
    total: Counter = Counter()
    for start in range(0, len(ids), batch):
        part = ids[start:start + batch]
        new = shares(session, part)
        _store(session, part, new)
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

