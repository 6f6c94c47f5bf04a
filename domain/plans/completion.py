"""Plan completion (计划完成情况), by SQL over the records (no workflow is loaded): per tier and per unit of a year's
approved plans, the items planned, started (a consultation carries them out, neither declined nor stopped), held
(its meeting step, `hold_meeting`, was completed) and completed (the consultation finished). Plans not approved
never count."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session

from domain.consultation.models import Consultation
from domain.plans.models import ConsultationPlan, PlanItem
from engine.store.models import HumanTask

MEETING_TASK = "hold_meeting"
MEASURES = ("planned", "started", "held", "completed")
TIERS = ("county", "committee", "township")


@dataclass(frozen=True)
class Completion:
    """Items planned, started, held and completed (one unit, one tier or the whole county)."""

    planned: int = 0
    started: int = 0
    held: int = 0
    completed: int = 0

    def __add__(self, other: Completion) -> Completion:
        return Completion(*(getattr(self, m) + getattr(other, m) for m in MEASURES))

    def value(self, measure: str) -> int:
        """The number of one measure."""
        return getattr(self, measure)

    @property
    def held_percent(self) -> float | None:
        """Items held over items planned, in percent (None when nothing was planned)."""
        return round(100 * self.held / self.planned, 1) if self.planned else None


@dataclass(frozen=True)
class YearCompletion:
    """A year's completion: per (tier, unit), per tier and in all."""

    year: int
    by_unit: dict[tuple[str, str], Completion]
    by_tier: dict[str, Completion]
    total: Completion


@dataclass(frozen=True)
class ItemState:
    """One approved plan item and where its consultation stands."""

    item_id: int
    plan_id: int
    tier: str
    org_unit_code: str
    number: int
    title: str
    target_month: int
    hall_code: str | None
    lead_username: str | None
    instance_id: int | None
    status: str | None
    step: int | None
    held: bool

    def counts(self, measure: str) -> bool:
        """Whether the item counts under `measure`."""
        started = self.instance_id is not None and self.status not in ("declined", "cancelled")
        return {"planned": True, "started": started, "held": started and self.held,
                "completed": started and self.status == "completed"}[measure]


def _held():
    return exists().where(HumanTask.instance_id == Consultation.instance_id, HumanTask.task_spec == MEETING_TASK,
                          HumanTask.status == "completed")


def _started():
    return and_(Consultation.id.is_not(None), Consultation.status.not_in(("declined", "cancelled")))


def _approved(query, year: int, units: frozenset[str] | None):
    query = query.where(ConsultationPlan.year == year, ConsultationPlan.status == "approved")
    if units is not None:
        query = query.where(ConsultationPlan.org_unit_code.in_(sorted(units)))
    return query


def compute(session: Session, year: int, units: frozenset[str] | None = None) -> YearCompletion:
    """The year's completion over the approved plans (of `units`; None: every unit)."""
    started = _started()

    def total(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    query = _approved(select(ConsultationPlan.tier, ConsultationPlan.org_unit_code, func.count(PlanItem.id),
                             total(started), total(and_(started, _held())),
                             total(and_(started, Consultation.status == "completed")))
                      .join(PlanItem, PlanItem.plan_id == ConsultationPlan.id)
                      .outerjoin(Consultation, Consultation.plan_item_id == PlanItem.id), year, units)
    by_unit = {(tier, unit): Completion(*map(int, numbers))
               for tier, unit, *numbers in session.execute(
                   query.group_by(ConsultationPlan.tier, ConsultationPlan.org_unit_code))}
    by_tier: dict[str, Completion] = {}
    for (tier, _unit), numbers in by_unit.items():
        by_tier[tier] = by_tier.get(tier, Completion()) + numbers
    return YearCompletion(year, by_unit, by_tier, sum(by_tier.values(), Completion()))


def items(session: Session, year: int, units: frozenset[str] | None = None, tier: str | None = None,
          unit: str | None = None, measure: str = "planned", plan_id: int | None = None) -> list[ItemState]:
    """The approved items behind one number (tier and/or unit, and a measure), in plan and item order; with
    `plan_id`, that plan's items whatever its status (the plan page's list)."""
    query = (select(PlanItem.id, ConsultationPlan.id, ConsultationPlan.tier, ConsultationPlan.org_unit_code,
                    PlanItem.number, PlanItem.title, PlanItem.target_month, PlanItem.hall_code,
                    PlanItem.lead_username, Consultation.instance_id, Consultation.status, Consultation.step,
                    _held())
             .join(PlanItem, PlanItem.plan_id == ConsultationPlan.id)
             .outerjoin(Consultation, Consultation.plan_item_id == PlanItem.id))
    query = query.where(ConsultationPlan.id == plan_id) if plan_id is not None else _approved(query, year, units)
    if tier:
        query = query.where(ConsultationPlan.tier == tier)
    if unit:
        query = query.where(ConsultationPlan.org_unit_code == unit)
    rows = [ItemState(*row[:12], bool(row[12])) for row in session.execute(
        query.order_by(ConsultationPlan.tier, ConsultationPlan.org_unit_code, PlanItem.number))]
    return [row for row in rows if row.counts(measure)]
