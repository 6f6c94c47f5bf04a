"""Starting a consultation from a plan item (source `plan`): what the intake form is given, and the check made
when it starts, whichever page or API started it (domain.consultation.intake calls `check_start`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.people.accounts import UserView
from domain.plans.models import ConsultationPlan, PlanItem
from domain.plans.service import PlanError, check_link
from engine.errors import PermissionDenied, ValidationFailed
from engine.store import directory
from engine.store.models import User

NOT_FROM_PLAN = "只有从年度计划发起的议题可以关联计划议题 (only a topic started from the plan names a plan item)"
NO_ITEM = "没有这个计划议题 (no such plan item)"
NOT_SIGNED_IN = "须登录后发起 (sign in first)"
TITLE_LIMIT = 60        # the intake form's title
SCOPES = {"county": "county", "committee": "county", "township": "township"}


def person(session: Session, username: str) -> UserView | None:
    """The active account `username` with its memberships, as the policy reads a person."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        return None
    return UserView(user.username, user.display_name, user.active,
                    tuple(sorted(directory.memberships_of(session, username))))


def check_start(session: Session, actor: str | None, data: dict) -> None:
    """Refuse a start from a plan item the actor may not start from, of a plan not approved, or already carried
    out by another consultation (PermissionDenied / ValidationFailed on `plan_item`)."""
    user = person(session, actor) if actor else None
    if user is None:
        raise PermissionDenied(NOT_SIGNED_IN)
    item = session.get(PlanItem, data.get("plan_item")) if isinstance(data.get("plan_item"), int) else None
    if item is None:
        raise ValidationFailed({"plan_item": [NO_ITEM]})
    try:
        check_link(session, user, item, None)
    except PlanError as exc:
        if exc.field is None:
            raise PermissionDenied(exc.message) from None
        raise ValidationFailed({"plan_item": [exc.message]}) from None


def start_data(session: Session, item_id: int, title: str, description: str, category: str) -> dict:
    """The intake data of a consultation carrying out `item_id`: its topic, the plan's tier as the scope (a
    township's plan routes to that township) and the item."""
    item = session.get(PlanItem, item_id)
    plan = session.get(ConsultationPlan, item.plan_id)
    data = {"title": title, "description": description, "category": category, "scope": SCOPES[plan.tier],
            "source": "plan", "plan_item": item.id}
    if plan.tier == "township":
        data["township"] = plan.org_unit_code
    return data


def prefill(item: PlanItem) -> dict:
    """The start form's first values: the item's title (cut to the intake's limit) and description."""
    return {"title": item.title[:TITLE_LIMIT], "description": item.description or item.title, "category": ""}
