"""The annual plan's commands and queries: a unit's plan per year, its items, its workflow (draft → submitted →
approved, or returned with a reason), and the link between a plan item and the consultation that carries it out.

Who may do what is domain.people.policy's; every transition and link is audited (domain.people.audit)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.consultation.models import Consultation
from domain.people import audit, policy
from domain.plans import notices
from domain.plans.models import ConsultationPlan, PlanItem
from engine.errors import NotFound
from engine.store import directory
from engine.store.models import OrgUnit, User

MAX_ITEMS, MAX_TITLE, MAX_DESCRIPTION, MAX_NOTE = 200, 200, 2000, 500
EDITABLE = ("draft", "returned")
STATUSES = ("draft", "submitted", "approved", "returned")
SOURCES = ("work_plan", "township")
PLAN_KINDS = {"county": "county", "committee": "committee", "sector": "committee", "township": "township"}
YEARS = range(2000, 2101)
DENIED_EDIT = "只有本单位的协商组织者或政协办公室可以修改本单位的计划"
DENIED_UNLINK = "只有政协办公室或本单位的协商组织者可以解除关联"


class PlanError(ValueError):
    """A refused plan command: the reason in Chinese, and the field it is about (None: the whole plan)."""

    def __init__(self, message: str, field: str | None = None, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.message, self.field = message, field
        self.errors = errors or {field or "plan": message}      # every bad field's message


class PlanDenied(PlanError):
    """The person may not do this to this plan."""


@dataclass(frozen=True)
class ItemInput:
    """What a person typed for one plan item (strings as posted; checked by `check_item`)."""

    title: str
    description: str = ""
    source: str = ""
    hall_code: str = ""
    lead_username: str = ""
    target_month: str = ""


def plan_tier(kind: str) -> str | None:
    """The tier of the plan a unit of `kind` keeps (county, committee or township), None for units without one."""
    return PLAN_KINDS.get(kind)


def _unit(session: Session, code: str) -> OrgUnit:
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if unit is None or plan_tier(unit.kind) is None:
        raise PlanError("没有这个协商平台单位", "org_unit")
    return unit


def _plan(session: Session, plan_id: int) -> ConsultationPlan:
    plan = session.get(ConsultationPlan, plan_id)
    if plan is None:
        raise NotFound(f"plan {plan_id}")
    return plan


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PlanDenied(message)


def check_item(session: Session, plan: ConsultationPlan, typed: ItemInput) -> dict:
    """The item's columns from what was typed, or PlanError naming every bad field (in Chinese; `field` and
    `message` are the first)."""
    title, description = typed.title.strip(), typed.description.strip()
    source = typed.source or ("township" if plan.tier == "township" else "work_plan")
    month, hall, lead = typed.target_month.strip(), typed.hall_code.strip() or None, typed.lead_username.strip() or None
    errors: dict[str, str] = {}
    if not title:
        errors["title"] = "请填写议题名称"
    elif len(title) > MAX_TITLE:
        errors["title"] = f"议题名称不能超过 {MAX_TITLE} 个字"
    if len(description) > MAX_DESCRIPTION:
        errors["description"] = f"说明不能超过 {MAX_DESCRIPTION} 个字"
    if source not in SOURCES:
        errors["source"] = "请从给定选项中选择议题来源"
    if not month.isdigit() or not 1 <= int(month) <= 12:
        errors["target_month"] = "请选择计划月份（1–12 月）"
    if hall is None and plan.tier == "township":
        errors["hall_code"] = "乡镇的议题须选择议事厅（室）"
    elif hall is not None and hall not in {u.code for u in directory.places(session, "hall", plan.org_unit_code)}:
        errors["hall_code"] = "所选议事厅（室）不在本平台辖区"
    if lead is not None and not (policy.may_lead_plan_item(directory.memberships_of(session, lead)) and
                                 session.scalar(select(User.active).where(User.username == lead)) is True):
        errors["lead_username"] = "牵头人须为在册的政协委员"
    if errors:
        field, message = next(iter(errors.items()))
        raise PlanError(message, field, errors)
    return {"title": title, "description": description or None, "source": source, "hall_code": hall,
            "lead_username": lead, "target_month": int(month)}


class Plans:
    """The annual plans' commands (each in a transaction of its own) and the queries the pages use."""

    def __init__(self, unit_of_work, reading, clock):
        self._uow, self._read, self._clock = unit_of_work, reading, clock

    # --- plans ---------------------------------------------------------------------------------------------------
    def open_plan(self, user, year: int, org_unit: str) -> int:
        """The unit's plan for `year`, created as a draft when it has none; its id."""
        if year not in YEARS:
            raise PlanError("年度须在 2000–2100 之间", "year")
        with self._uow() as session:
            unit = _unit(session, org_unit)
            _require(policy.may_edit_plan(user, unit.code), "只有本单位的协商组织者或政协办公室可以编制本单位的计划")
            found = session.scalar(select(ConsultationPlan.id).where(
                ConsultationPlan.year == year, ConsultationPlan.org_unit_code == unit.code))
            if found is not None:
                return found
            now = self._clock.now()
            plan = ConsultationPlan(year=year, tier=plan_tier(unit.kind), org_unit_code=unit.code, status="draft",
                                    created_by=user.username, created_at=now, updated_at=now)
            session.add(plan)
            session.flush()
            audit.record(session, user.username, "plan_created", now, plan_id=plan.id, year=year, org_unit=unit.code)
            return plan.id

    def submit(self, user, plan_id: int) -> None:
        """Draft or returned → submitted, by the unit's organizer or platform lead; a plan needs at least one item."""
        with self._uow() as session:
            plan = self._editable(session, user, plan_id)
            if not session.scalar(select(func.count()).where(PlanItem.plan_id == plan.id)):
                raise PlanError("计划还没有议题，不能报送")
            self._move(session, user, plan, "submitted", "plan_submitted")
            plan.submitted_at = plan.updated_at

    def approve(self, user, plan_id: int) -> None:
        """Submitted → approved, by the county CPPCC office; from then on the plan counts and is no longer edited."""
        with self._uow() as session:
            plan = self._reviewed(session, user, plan_id)
            self._move(session, user, plan, "approved", "plan_approved")
            plan.approved_at, plan.approved_by, plan.note = plan.updated_at, user.username, None

    def return_plan(self, user, plan_id: int, reason: str) -> None:
        """Submitted → returned with the office's reason (required), for the unit to change and submit again."""
        reason = reason.strip()
        if len(reason) < 2:
            raise PlanError("退回须写明理由", "note")
        if len(reason) > MAX_NOTE:
            raise PlanError(f"退回理由不能超过 {MAX_NOTE} 个字", "note")
        with self._uow() as session:
            plan = self._reviewed(session, user, plan_id)
            plan.note = reason
            self._move(session, user, plan, "returned", "plan_returned", reason=reason)

    def _editable(self, session: Session, user, plan_id: int) -> ConsultationPlan:
        plan = _plan(session, plan_id)
        _require(policy.may_edit_plan(user, plan.org_unit_code), DENIED_EDIT)
        if plan.status not in EDITABLE:
            raise PlanError("计划已报送或已批准，不能再修改")
        return plan

    def _reviewed(self, session: Session, user, plan_id: int) -> ConsultationPlan:
        plan = _plan(session, plan_id)
        _require(policy.may_approve_plans(user), "只有县政协办公室可以审批计划")
        if plan.status != "submitted":
            raise PlanError("只有已报送的计划可以审批")
        return plan

    def _move(self, session: Session, user, plan: ConsultationPlan, status: str, kind: str, **detail) -> None:
        now = self._clock.now()
        audit.record(session, user.username, kind, now, plan_id=plan.id, year=plan.year,
                     org_unit=plan.org_unit_code, before=plan.status, after=status, **detail)
        plan.status, plan.updated_at = status, now
        if status in ("approved", "returned"):
            _tell_unit(session, plan, status, now)

    # --- items ---------------------------------------------------------------------------------------------------
    def add_item(self, user, plan_id: int, typed: ItemInput) -> int:
        """Add an item at the end of the plan; its id."""
        with self._uow() as session:
            plan = self._editable(session, user, plan_id)
            count, last = session.execute(select(func.count(), func.max(PlanItem.number))
                                          .where(PlanItem.plan_id == plan.id)).one()
            if count >= MAX_ITEMS:
                raise PlanError(f"一份计划最多 {MAX_ITEMS} 个议题")
            now = self._clock.now()
            item = PlanItem(plan_id=plan.id, number=(last or 0) + 1, platform=plan.tier,
                            org_unit_code=plan.org_unit_code, created_at=now, **check_item(session, plan, typed))
            session.add(item)
            plan.updated_at = now
            session.flush()
            return item.id

    def update_item(self, user, item_id: int, typed: ItemInput) -> None:
        """Change an item of a draft or returned plan."""
        with self._uow() as session:
            item = self._item(session, item_id)
            plan = self._editable(session, user, item.plan_id)
            for name, value in check_item(session, plan, typed).items():
                setattr(item, name, value)
            plan.updated_at = self._clock.now()

    def remove_item(self, user, item_id: int) -> None:
        """Remove an item (and renumber the rest); refused while a consultation carries it out."""
        with self._uow() as session:
            item = self._item(session, item_id)
            plan = self._editable(session, user, item.plan_id)
            if session.scalar(select(Consultation.id).where(Consultation.plan_item_id == item.id)) is not None:
                raise PlanError("该议题已关联协商事项，请先解除关联再删除")
            session.delete(item)
            session.flush()
            self._renumber(session, plan, [i.id for i in self._items(session, plan.id)])

    def move_item(self, user, item_id: int, offset: int) -> None:
        """Move an item one place up (-1) or down (+1)."""
        with self._uow() as session:
            item = self._item(session, item_id)
            plan = self._editable(session, user, item.plan_id)
            order = [i.id for i in self._items(session, plan.id)]
            at = order.index(item.id)
            to = max(0, min(len(order) - 1, at + (1 if offset > 0 else -1)))
            order[at], order[to] = order[to], order[at]
            self._renumber(session, plan, order)

    def _renumber(self, session: Session, plan: ConsultationPlan, order: list[int]) -> None:
        items = {i.id: i for i in self._items(session, plan.id)}
        for index, item_id in enumerate(order):        # off the unique (plan, number) range first
            items[item_id].number = MAX_ITEMS * 10 + index
        session.flush()
        for index, item_id in enumerate(order):
            items[item_id].number = index + 1
        plan.updated_at = self._clock.now()

    @staticmethod
    def _items(session: Session, plan_id: int) -> list[PlanItem]:
        return list(session.scalars(select(PlanItem).where(PlanItem.plan_id == plan_id).order_by(PlanItem.number)))

    @staticmethod
    def _item(session: Session, item_id: int) -> PlanItem:
        item = session.get(PlanItem, item_id)
        if item is None:
            raise NotFound(f"plan item {item_id}")
        return item

    # --- consultations carrying out an item -----------------------------------------------------------------------
    def link(self, user, instance_id: int, item_id: int) -> None:
        """Name `item_id` as the plan item the instance's consultation carries out (the office, the item's unit's
        organizers and leads); one item has at most one consultation."""
        with self._uow() as session:
            consultation = _consultation(session, instance_id)
            item = self._item(session, item_id)
            check_link(session, user, item, consultation.id)
            consultation.plan_item_id = item.id
            audit.record(session, user.username, "plan_item_linked", self._clock.now(), instance_id=instance_id,
                         plan_item_id=item.id, plan_id=item.plan_id)

    def unlink(self, user, instance_id: int) -> None:
        """The consultation no longer carries out a plan item."""
        with self._uow() as session:
            consultation = _consultation(session, instance_id)
            if consultation.plan_item_id is None:
                return
            item = self._item(session, consultation.plan_item_id)
            plan = _plan(session, item.plan_id)
            _require(policy.may_link_plan_item(user, plan.org_unit_code), DENIED_UNLINK)
            audit.record(session, user.username, "plan_item_unlinked", self._clock.now(), instance_id=instance_id,
                         plan_item_id=item.id, plan_id=item.plan_id)
            consultation.plan_item_id = None


def _consultation(session: Session, instance_id: int) -> Consultation:
    found = session.scalar(select(Consultation).where(Consultation.instance_id == instance_id))
    if found is None:
        raise NotFound(f"consultation of instance {instance_id}")
    return found


def check_link(session: Session, user, item: PlanItem, consultation_id: int | None) -> None:
    """Refuse linking `item` to a consultation: the person may not, the plan is not approved, or another
    consultation already carries the item out (PlanError, in Chinese)."""
    plan = _plan(session, item.plan_id)
    _require(policy.may_link_plan_item(user, plan.org_unit_code), "只有政协办公室或本单位的协商组织者可以关联计划议题")
    if plan.status != "approved":
        raise PlanError("只能关联已批准计划中的议题", "plan_item")
    taken = session.scalar(select(Consultation.instance_id).where(Consultation.plan_item_id == item.id,
                                                                   Consultation.id != (consultation_id or 0)))
    if taken is not None:
        raise PlanError(f"该议题已由协商事项 #{taken} 承接，一个议题只能关联一个协商事项", "plan_item")


def _tell_unit(session: Session, plan: ConsultationPlan, status: str, now: datetime) -> None:
    """Tell the unit's organizers and leads that its plan was approved or returned (the outbox's in-app notice)."""
    notices.plan_decided(session, plan, status, now)
