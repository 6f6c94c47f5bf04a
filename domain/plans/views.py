"""What the plan pages read: a year's plans with their item counts, one plan with its items, the choices an item's
form offers (halls of the plan's area, CPPCC members), and the approved items a consultation may be linked to."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.consultation.models import Consultation
from domain.plans.models import ConsultationPlan, PlanItem
from engine.errors import NotFound
from engine.store import directory
from engine.store.models import OrgUnit, User


@dataclass(frozen=True)
class PlanRow:
    """One plan on the year's list."""

    id: int
    year: int
    tier: str
    org_unit_code: str
    status: str
    note: str | None
    items: int


def year_plans(session: Session, year: int) -> list[PlanRow]:
    """The year's plans, county first, then committees, then townships, with how many items each has."""
    order = {"county": 0, "committee": 1, "township": 2}
    rows = session.execute(
        select(ConsultationPlan.id, ConsultationPlan.year, ConsultationPlan.tier, ConsultationPlan.org_unit_code,
               ConsultationPlan.status, ConsultationPlan.note, func.count(PlanItem.id))
        .outerjoin(PlanItem, PlanItem.plan_id == ConsultationPlan.id).where(ConsultationPlan.year == year)
        .group_by(ConsultationPlan.id))
    return sorted((PlanRow(*row) for row in rows), key=lambda p: (order.get(p.tier, 9), p.org_unit_code))


def plan(session: Session, plan_id: int) -> ConsultationPlan:
    """One plan (detached values are read inside the caller's session)."""
    found = session.get(ConsultationPlan, plan_id)
    if found is None:
        raise NotFound(f"plan {plan_id}")
    return found


def plan_items(session: Session, plan_id: int) -> list[PlanItem]:
    """The plan's items in order."""
    return list(session.scalars(select(PlanItem).where(PlanItem.plan_id == plan_id).order_by(PlanItem.number)))


def item(session: Session, item_id: int) -> PlanItem:
    """One plan item."""
    found = session.get(PlanItem, item_id)
    if found is None:
        raise NotFound(f"plan item {item_id}")
    return found


def halls(session: Session, org_unit: str) -> list[tuple[str, str]]:
    """(code, name) of the halls in the unit's area (every hall for the county and the committees)."""
    return [(u.code, u.name) for u in directory.places(session, "hall", org_unit)]


def plan_units(session: Session) -> list[tuple[str, str, str]]:
    """(code, name, kind) of the units that keep a plan: the county, committees, sector groups, townships."""
    kinds = ("county", "committee", "sector", "township")
    return [tuple(row) for row in session.execute(select(OrgUnit.code, OrgUnit.name, OrgUnit.kind)
                                                   .where(OrgUnit.kind.in_(kinds)).order_by(OrgUnit.id))]


def linkable_items(session: Session, year: int, units: frozenset[str] | None) -> list[tuple[int, str, str]]:
    """(item id, unit code, "number. title") of the approved items of `year` no consultation carries out yet, of
    `units` (None: every unit)."""
    query = (select(PlanItem.id, ConsultationPlan.org_unit_code, PlanItem.number, PlanItem.title)
             .join(ConsultationPlan, ConsultationPlan.id == PlanItem.plan_id)
             .outerjoin(Consultation, Consultation.plan_item_id == PlanItem.id)
             .where(ConsultationPlan.status == "approved", ConsultationPlan.year == year, Consultation.id.is_(None)))
    if units is not None:
        query = query.where(ConsultationPlan.org_unit_code.in_(sorted(units)))
    return [(i, unit, f"{n}. {title}") for i, unit, n, title in
            session.execute(query.order_by(ConsultationPlan.org_unit_code, PlanItem.number))]


def linked_item(session: Session, instance_id: int) -> tuple[PlanItem, ConsultationPlan] | None:
    """The plan item the instance's consultation carries out, with its plan; None when it carries out none."""
    row = session.execute(select(PlanItem, ConsultationPlan)
                          .join(Consultation, Consultation.plan_item_id == PlanItem.id)
                          .join(ConsultationPlan, ConsultationPlan.id == PlanItem.plan_id)
                          .where(Consultation.instance_id == instance_id)).first()
    return (row[0], row[1]) if row else None


def display_names(session: Session, usernames) -> dict[str, str]:
    """username → display name of the given accounts (a plan's lead members)."""
    wanted = sorted({name for name in usernames if name})
    if not wanted:
        return {}
    return dict(session.execute(select(User.username, User.display_name).where(User.username.in_(wanted))).all())
