"""The county's figures, computed from the records (never typed): consultations held, member participation,
suggestions and their adoption, on-time rate per step, residents' satisfaction, and each step's time and breaches.

Every number comes from the records, never a workflow: the counts and rates from counters kept at every save
(domain.consultation.figure_counts, rebuilt from the records by `xieshang figures rebuild`), the step times from SQL
over the human_task projection for the open tasks past their due time. Definitions (the page says them too):
- a consultation is *held* when its meeting step (the `hold_meeting` task) was completed, counted in the period of
  the date its meeting record says the meeting was held on (`consultation.meeting_date`);
- a suggestion belongs to the period its meeting was held in (as the suggestion ledger's `period` filter reads it);
- adoption rate = (adopted + partly adopted) / answered (adopted, partly, not adopted, already solved; "not ours"
  sends the suggestion back to be re-routed and is no answer);
- on-time rate per step = tasks completed by their due time / tasks completed (tasks without a due time not counted);
- satisfaction rate = (satisfied + basically satisfied) / suggestions visited (with a satisfaction recorded).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.consultation import figure_counts
from domain.consultation.models import Consultation
from engine.clock import LOCAL_TZ
from engine.store.models import HumanTask

MEETING_TASK, RESEARCH_TASK = figure_counts.MEETING_TASK, figure_counts.RESEARCH_TASK
ADOPTED, ANSWERED, SATISFIED = figure_counts.ADOPTED, figure_counts.ANSWERED, figure_counts.SATISFIED
STEPS = figure_counts.STEPS
_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2})|-Q([1-4]))?$")


class PeriodError(ValueError):
    """A period that is not YYYY, YYYY-Qn or YYYY-MM (or is out of range)."""


@dataclass(frozen=True)
class Period:
    """A calendar year, quarter or month in the county's time zone, as a half-open UTC range."""

    key: str          # "2026", "2026-Q2", "2026-05"
    start: datetime
    end: datetime

    @property
    def months(self) -> tuple[str, ...]:
        """The months (YYYY-MM) the period covers."""
        out, day = [], self.start.astimezone(LOCAL_TZ).date()
        while datetime(day.year, day.month, 1, tzinfo=LOCAL_TZ) < self.end:
            out.append(f"{day.year:04d}-{day.month:02d}")
            day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        return tuple(out)


def _local(year: int, month: int) -> datetime:
    return datetime(year + (month - 1) // 12, (month - 1) % 12 + 1, 1, tzinfo=LOCAL_TZ)


def parse_period(text: str | None, today: date) -> Period:
    """The period `text` names (YYYY, YYYY-Qn, YYYY-MM); this year when empty. Raises PeriodError."""
    text = (text or str(today.year)).strip()
    found = _PERIOD.match(text)
    if not found or not 2000 <= int(found.group(1)) <= 2100:
        raise PeriodError(text)
    year, month, quarter = int(found.group(1)), found.group(2), found.group(3)
    if month is not None:
        if not 1 <= int(month) <= 12:
            raise PeriodError(text)
        first, count = int(month), 1
    elif quarter is not None:
        first, count = 3 * int(quarter) - 2, 3
    else:
        first, count = 1, 12
    return Period(text, _local(year, first), _local(year, first + count))


@dataclass(frozen=True)
class Ratio:
    """A rate with its numerator and denominator; `percent` is None when nothing was counted (shown as "—")."""

    numerator: int
    denominator: int

    @property
    def percent(self) -> float | None:
        """The rate in percent, one decimal, or None for an empty denominator."""
        return None if not self.denominator else round(100 * self.numerator / self.denominator, 1)


@dataclass(frozen=True)
class StepTime:
    """One step over a period: how long cases spent on it and how often its tasks broke their deadline."""

    step: int
    cases: int                       # cases whose step finished in the period
    median_days: float | None
    breached: int                    # tasks late (finished after, or still open past, their due time)
    with_due: int                    # tasks of the step with a due time

    @property
    def breach(self) -> Ratio:
        """Breached over tasks with a due time."""
        return Ratio(self.breached, self.with_due)


@dataclass(frozen=True)
class Figures:
    """The figures of one period (and tier, and the units the reader may see)."""

    period: Period
    tier: str | None
    held_by_tier: dict[str, int]
    held_by_unit: dict[tuple[str, str], int]       # (tier, org unit) → consultations held
    held_by_month: dict[str, dict[str, int]]       # month → tier → held
    research_done: int
    attendances: int
    proposed: int
    suggestions: int
    adoption: Ratio
    answered_by_month: dict[str, Ratio]
    on_time: dict[int, Ratio]                      # step → on time / completed
    satisfaction: Ratio
    satisfaction_by_month: dict[str, Ratio]

    @property
    def held(self) -> int:
        """Consultations held in the period."""
        return sum(self.held_by_tier.values())

    @property
    def participation(self) -> int:
        """Member participation in person-times: research done, meetings attended (the meeting record's sign-ins
        where it has any, else the step-4 form's attendees), topics proposed."""
        return self.research_done + self.attendances + self.proposed


def _scoped(query, tier: str | None, units: frozenset[str] | None):
    if tier:
        query = query.where(Consultation.tier == tier)
    if units is not None:
        query = query.where(Consultation.org_unit_code.in_(sorted(units)))
    return query


def compute(session: Session, period: Period, tier: str | None = None,
            units: frozenset[str] | None = None) -> Figures:
    """The period's figures for `tier` (None: every tier), over the consultations of `units` (None: all): a sum of
    the period's months' counters (domain.consultation.figure_counts, kept at every save)."""
    held_by_tier, held_by_unit, totals = Counter(), Counter(), Counter()
    held_by_month: dict[str, Counter] = defaultdict(Counter)
    for (month, row_tier, unit), value in figure_counts.held_where(session, period.months, tier, units).items():
        held_by_tier[row_tier] += value
        held_by_unit[(row_tier, unit)] += value
        held_by_month[month][row_tier] += value
    monthly: dict[str, Counter] = defaultdict(Counter)
    for (month, metric, step), value in figure_counts.monthly(session, period.months, tier, units).items():
        totals[(metric, step)] += value
        monthly[metric][month] += value
    answered = {m: Ratio(monthly["adopted"][m], n) for m, n in sorted(monthly["answered"].items()) if n}
    satisfied = {m: Ratio(monthly["satisfied"][m], n) for m, n in sorted(monthly["visited"].items()) if n}
    return Figures(
        period=period, tier=tier, held_by_tier=dict(held_by_tier), held_by_unit=dict(held_by_unit),
        held_by_month={m: dict(c) for m, c in held_by_month.items()},
        research_done=totals[("research", 0)], attendances=totals[("attendances", 0)],
        proposed=totals[("proposed", 0)], suggestions=totals[("suggestions", 0)], adoption=_total(answered.values()),
        answered_by_month=answered, on_time=_on_time(totals), satisfaction=_total(satisfied.values()),
        satisfaction_by_month=satisfied)


def _total(ratios) -> Ratio:
    ratios = list(ratios)
    return Ratio(sum(r.numerator for r in ratios), sum(r.denominator for r in ratios))


def _on_time(totals: Counter) -> dict[int, Ratio]:
    return {step: Ratio(totals[("on_time", step)], totals[("completed", step)]) for step in STEPS}


def _step_tasks(tier: str | None, units: frozenset[str] | None, *columns):
    """Tasks of steps 1–6 of the tier's consultations (a task carries its consultation's tier), of the units'
    consultations when the reader is limited to some (a department's task names the department)."""
    query = select(*columns).select_from(HumanTask).where(HumanTask.step.in_(STEPS))
    if tier:
        query = query.where(HumanTask.tier == tier)
    if units is not None:     # a subquery, not a join: the planner keeps reading the open tasks' index alone
        query = query.where(HumanTask.instance_id.in_(
            select(Consultation.instance_id).where(Consultation.org_unit_code.in_(sorted(units)))))
    return query


def on_time_by_step(session: Session, period: Period, tier: str | None = None,
                    units: frozenset[str] | None = None) -> dict[int, Ratio]:
    """Per step 1–6: tasks completed in the period by their due time, over those completed (with a due time)."""
    totals: Counter = Counter()
    for (_month, metric, step), value in figure_counts.monthly(session, period.months, tier, units).items():
        totals[(metric, step)] += value
    return _on_time(totals)


def step_times(session: Session, period: Period, now: datetime, tier: str | None = None,
               units: frozenset[str] | None = None) -> dict[int, StepTime]:
    """Per step 1–6: the median days a case spent on it (its first task created → its last completed, for steps
    finished in the period; from the kept histogram, in whole days with a part day counting as one), and the breach
    rate of its tasks created in the period (late when finished after their due time — kept — or still open past
    it now — counted over the open tasks)."""
    spans = figure_counts.step_spans(session, period.months, tier, units)
    totals: Counter = Counter()
    for (_month, metric, step), value in figure_counts.monthly(session, period.months, tier, units).items():
        totals[(metric, step)] += value
    open_late = (_step_tasks(tier, units, HumanTask.step, func.count())
                 .where(HumanTask.status == "ready", HumanTask.due_at < now,     # ix_human_task_open_created alone
                        HumanTask.created_at >= period.start, HumanTask.created_at < period.end)
                 .group_by(HumanTask.step))
    late = Counter({step: totals[("late", step)] for step in STEPS})
    late.update({step: count for step, count in session.execute(open_late)})
    return {step: StepTime(step, spans[step].total(), histogram_median(spans[step]), late[step],
                           totals[("due", step)]) for step in STEPS}


def histogram_median(histogram: Counter) -> float | None:
    """The median of the values a histogram (value → how many) counts: the middle one, or the mean of the middle
    two; None when it is empty."""
    count = histogram.total()
    if not count:
        return None
    middle, seen, values = ((count - 1) // 2, count // 2), 0, []
    for value in sorted(histogram):
        values += [value for index in middle if seen <= index < seen + histogram[value]]
        seen += histogram[value]
    return round(sum(values) / 2, 1)
