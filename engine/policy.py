"""Who may act on a task and who manages it: the Protocol the engine asks, and its plain default.

The product gives the engine its own policy (domain/people/policy.py); a bare engine uses `RoleHolders`.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session

from engine.errors import PermissionDenied
from engine.store import directory
from engine.store.directory import PLAIN_RULES, DirectoryRules
from engine.store.models import HumanTask


class TaskPolicy(Protocol):
    """The two questions the engine's task commands ask before they change a task."""

    def require_candidate(self, session: Session, human: HumanTask, actor: str) -> None:
        """Raise PermissionDenied unless `actor` may act on the task now."""

    def is_manager(self, session: Session, human: HumanTask, actor: str) -> bool:
        """Whether `actor` may release or reassign a task that is not theirs."""


class RoleHolders:
    """The engine's default: the assignee, or an active holder of the task's role in its org unit, may act;
    nobody manages another person's task."""

    def __init__(self, rules: DirectoryRules = PLAIN_RULES):
        self.rules = rules

    def require_candidate(self, session: Session, human: HumanTask, actor: str) -> None:
        """Raise PermissionDenied unless `actor` is the task's assignee or may take it through its role."""
        if human.assignee and human.assignee != actor:
            raise PermissionDenied(f"此任务已指派给 {human.assignee} (assigned to {human.assignee})")
        if not human.assignee and not human.role:
            raise PermissionDenied("此任务尚无办理人，请管理员转办 (nobody is assigned to this task; an admin can "
                                   "reassign it)")
        if human.assignee:
            allowed = directory.may_act(session, actor, human.role, human.org_unit_code, self.rules.inherited_roles)
        else:
            allowed = (human.role, human.org_unit_code) in directory.memberships_of(session, actor)
        if not allowed:
            raise PermissionDenied(f"{actor} {lacks(human)}，不能办理此任务 ({actor} {lacks_en(human)}; "
                                   "cannot act on this task)")

    def is_manager(self, session: Session, human: HumanTask, actor: str) -> bool:
        """Nobody: only the assignee releases or reassigns."""
        return False


def lacks(human: HumanTask) -> str:
    """What a person lacks for a task, in words (never "None")."""
    if not human.role:
        return "不是有效用户"
    return f"在 {human.org_unit_code} 没有 {human.role} 角色" if human.org_unit_code else f"没有 {human.role} 角色"


def lacks_en(human: HumanTask) -> str:
    """The same in English."""
    if not human.role:
        return "is not an active user"
    return f"does not hold the {human.role} role" + (f" in {human.org_unit_code}" if human.org_unit_code else "")
