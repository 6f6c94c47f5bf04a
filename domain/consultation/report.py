"""The monthly report (协商工作月报) of a tier or unit: the month's figures, the tasks overdue at the month's end (or
now, for the month under way) and the month's suggestion ledger in summary — composed from the figures
(domain.consultation.figures), the board's words for late work (domain.work.board) and the ledger
(domain.consultation.ledger). Who may ask for which units is domain.people.policy's (the figures' rule); drawing the
report as a PDF is domain.consultation.report_pdf's."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from domain.consultation import figures as figs
from domain.consultation import ledger
from domain.consultation.vocabulary import TIER_NAMES
from domain.work import board
from engine.hooks import HookRegistry
from engine.store import directory
from engine.store.models import HumanTask, ProcessInstance

_MONTH = re.compile(r"(\d{4})-(\d{2})")
MAX_OVERDUE = 500             # rows the overdue list prints (the total is always counted)
MAX_SUGGESTIONS = 2000        # ledger rows the report prints and counts; more is said on the page
# Whose report it is, in the title, by tier (no tier: every platform of the county).
SCOPE_NAMES = {"county": "县政协", "committee": "专委会（界别）", "township": "乡镇", None: "全县"}
ANSWER_KINDS = (*ledger.ADOPTIONS, ledger.NONE)


class MonthError(ValueError):
    """A month that is not YYYY-MM between 2000-01 and 2100-12."""


def parse_month(text: str | None) -> figs.Period:
    """The month `text` names (YYYY-MM, e.g. 2026-05); raises MonthError."""
    text = (text or "").strip()
    if len(text) > 7 or not _MONTH.fullmatch(text):
        raise MonthError(text)
    try:
        return figs.parse_period(text, date(2000, 1, 1))
    except figs.PeriodError:
        raise MonthError(text) from None


@dataclass(frozen=True)
class OverdueRow:
    """A task late at the report's moment: its case, step, who holds it, due date, working days late, escalation."""

    task_id: str
    instance_id: int
    topic: str
    step: int | None
    task_name: str
    item_label: str | None
    holder: str                   # a person's name, or the unit and role when nobody has claimed it (the board's words)
    unit_name: str
    assigned: bool
    due_at: datetime
    days_late: int
    escalation_level: int


@dataclass(frozen=True)
class DepartmentLine:
    """One department's suggestions of the month: raised, answered, adopted (fully or partly), unanswered, overdue."""

    code: str
    name: str
    raised: int
    answered: int
    adopted: int
    unanswered: int
    overdue: int


@dataclass(frozen=True)
class LedgerSummary:
    """The month's suggestions: how many, per answer kind, per department, and the rows themselves."""

    total: int
    by_answer: dict[str, int]                    # ANSWER_KINDS → count ("none": not answered yet)
    by_department: tuple[DepartmentLine, ...]
    rows: tuple[ledger.LedgerRow, ...]
    truncated: bool                              # more than MAX_SUGGESTIONS: the first ones only


@dataclass(frozen=True)
class MonthlyReport:
    """Everything the monthly report prints."""

    month: figs.Period
    tier: str | None
    units: frozenset[str] | None                 # the consultations' units it counts (None: all)
    scope_name: str
    figures: figs.Figures
    overdue: tuple[OverdueRow, ...]
    overdue_total: int
    overdue_as_of: datetime
    ledger: LedgerSummary
    unit_names: dict[str, str]
    generated_at: datetime

    @property
    def title(self) -> str:
        """E.g. "2026年5月 县政协 协商工作月报"."""
        year, month = self.month.key.split("-")
        return f"{int(year)}年{int(month)}月 {self.scope_name} 协商工作月报"

    @property
    def month_closed(self) -> bool:
        """Whether the month had ended when the report was made (the overdue list is as at its end)."""
        return self.overdue_as_of >= self.month.end


def scope_name(tier: str | None, units: frozenset[str] | None, names: dict[str, str]) -> str:
    """Whose report: the units by name when it is limited to some, else the tier's (or the county's)."""
    if units:
        return "、".join(names.get(code, code) for code in sorted(units))
    return SCOPE_NAMES.get(tier, TIER_NAMES.get(tier or "", tier or ""))


def build(session: Session, month: figs.Period, now: datetime, tier: str | None = None,
          units: frozenset[str] | None = None, hooks: HookRegistry | None = None) -> MonthlyReport:
    """The report of `month` for `tier` (None: all) over the consultations of `units` (None: all); the caller has
    checked that its reader may see them (policy.may_see_figures / figures_units)."""
    names = ledger.unit_names(session)
    as_of = min(now, month.end)
    overdue, total = overdue_at(session, as_of, tier, units, hooks)
    return MonthlyReport(
        month=month, tier=tier, units=units, scope_name=scope_name(tier, units, names),
        figures=figs.compute(session, month, tier, units), overdue=tuple(overdue), overdue_total=total,
        overdue_as_of=as_of, ledger=ledger_summary(session, month, tier, units, now, names), unit_names=names,
        generated_at=now)


# --- the overdue list -----------------------------------------------------------------------------------------
def _within(session: Session, units: frozenset[str] | None):
    """Tasks of the units (and every unit below them), or of cases the units hold (a department's answer on a
    township's topic): the board's scope, by units instead of by reader."""
    if units is None:
        return None
    codes = sorted({code for unit in units for code in directory.units_within(session, unit)})
    return or_(HumanTask.org_unit_code.in_(codes), HumanTask.instance_id.in_(
        select(ProcessInstance.id).where(ProcessInstance.org_unit_code.in_(codes)).scalar_subquery()))


def overdue_at(session: Session, moment: datetime, tier: str | None = None, units: frozenset[str] | None = None,
               hooks: HookRegistry | None = None, limit: int = MAX_OVERDUE) -> tuple[list[OverdueRow], int]:
    """Tasks open at `moment` (created before it, not finished by it, not cancelled) and due before it, most late
    first, at most `limit`, with their total. Due dates and escalation levels are as they stand now (the projection
    keeps no history of them)."""
    open_then = or_(HumanTask.status == "ready",
                    and_(HumanTask.status == "completed", HumanTask.completed_at >= moment))
    where = [open_then, HumanTask.created_at < moment, HumanTask.due_at < moment]
    if tier:
        where.append(HumanTask.tier == tier)
    scope = _within(session, units)
    if scope is not None:
        where.append(scope)
    total = session.scalar(select(func.count()).select_from(HumanTask).where(*where)) or 0
    found = session.execute(
        select(HumanTask, ProcessInstance.process_id).join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        .where(*where).order_by(HumanTask.due_at, HumanTask.id).limit(limit)).all()
    tasks = [task for task, _process in found]
    titles = (hooks or HookRegistry()).titles(session, {(task.instance_id, process) for task, process in found})
    holders = board.holder_words(session, tasks)
    names, years = ledger.unit_names(session), {}
    counted_to = moment - timedelta(microseconds=1)      # a month's end (00:00 of the next) counts no day of the next
    return [OverdueRow(task.id, task.instance_id, titles.get(task.instance_id, ""), task.step, task.name,
                       task.item_label, holders[task.id], names.get(task.org_unit_code or "", task.org_unit_code or ""),
                       task.assignee is not None, task.due_at,
                       board.working_days_late(session, task.due_at, counted_to, years), task.escalation_level or 0)
            for task in tasks], total


# --- the ledger's summary -------------------------------------------------------------------------------------
def ledger_summary(session: Session, month: figs.Period, tier: str | None, units: frozenset[str] | None, now: datetime,
                   names: dict[str, str], limit: int = MAX_SUGGESTIONS) -> LedgerSummary:
    """The suggestions of the month's meetings (as the ledger's period filter reads it) for the tier and units:
    counted per answer kind and per department, and listed by department."""
    wanted = [ledger.LedgerFilter(period=month.key, tier=tier, unit=unit, sort="department", descending=False)
              for unit in (sorted(units) if units is not None else [None])]
    rows: dict[int, ledger.LedgerRow] = {}
    for one in wanted:
        for row in ledger.all_rows(session, None, one, now, limit + 1):
            rows.setdefault(row.suggestion_id, row)
    ordered = sorted(rows.values(), key=lambda r: (names.get(r.department, r.department), r.meeting_date or date.min,
                                                   r.instance_id, r.number))
    truncated = len(ordered) > limit
    ordered = ordered[:limit]
    kinds = Counter(row.adoption or ledger.NONE for row in ordered)
    return LedgerSummary(len(ordered), {kind: kinds.get(kind, 0) for kind in ANSWER_KINDS},
                         _departments(ordered, names), tuple(ordered), truncated)


def _departments(rows: list[ledger.LedgerRow], names: dict[str, str]) -> tuple[DepartmentLine, ...]:
    lines: dict[str, list[int]] = {}
    for row in rows:
        counts = lines.setdefault(row.department, [0, 0, 0, 0, 0])
        counts[0] += 1
        counts[1] += row.adoption is not None
        counts[2] += row.adoption in figs.ADOPTED
        counts[3] += row.adoption is None
        counts[4] += row.overdue
    return tuple(DepartmentLine(code, names.get(code, code), *counts) for code, counts in lines.items())
