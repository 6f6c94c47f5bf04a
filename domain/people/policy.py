"""Who may see an instance: one rule for pages, the API and the CLI."""

from __future__ import annotations

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from domain.people.accounts import UserView
from engine.store.models import HumanTask, ProcessInstance

COUNTY_WIDE = {"admin", "office", "supervisor", "platform_lead", "process_owner"}


def sees_everything(user: UserView) -> bool:
    """Admins and the county CPPCC's office, supervisors, leadership and process owners see every instance."""
    return user.is_admin or any(role in COUNTY_WIDE and org == "county" for role, org in user.memberships)


def visible_instances(user: UserView):
    """SQL condition on ProcessInstance: the instances `user` may see."""
    if sees_everything(user):
        return ProcessInstance.id.isnot(None)
    orgs = sorted({org for _, org in user.memberships})
    involved = exists().where(HumanTask.instance_id == ProcessInstance.id).where(or_(
        HumanTask.assignee == user.username, HumanTask.completed_by == user.username,
        HumanTask.org_unit_code.in_(orgs)))
    return or_(ProcessInstance.started_by == user.username, ProcessInstance.org_unit_code.in_(orgs), involved)


def can_view_instance(session: Session, user: UserView, instance_id: int) -> bool:
    """Whether `user` may see the instance: county-wide roles, its org unit, its starter, or people on its tasks."""
    return session.scalar(select(ProcessInstance.id).where(ProcessInstance.id == instance_id,
                                                           visible_instances(user))) is not None
