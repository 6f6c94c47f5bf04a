"""The inbox: tabs, search, filters, badges and paging over the human-task projection; drafts, comments,
read marks and returns (退回)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, false, func, or_, select, union_all
from sqlalchemy.orm import Session

from domain.people.accounts import UserView
from domain.work.models import Comment, TaskDraft, TaskRead
from engine.hooks import HookRegistry
from engine.store.models import HumanTask, ProcessInstance

TABS = ("assigned", "claimable", "involved", "done")
WORK_TABS = ("assigned", "claimable")    # where a person lands: the tabs with work to do, never their history
AT_RISK_WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class InboxItem:
    """One row of the inbox."""

    task_id: str
    instance_id: int
    name: str
    title: str
    step: int | None
    tier: str | None
    org_unit: str | None
    assignee: str | None
    status: str
    due_at: datetime | None
    completed_at: datetime | None
    overdue: bool
    at_risk: bool
    read: bool
    escalation_level: int = 0
    item_label: str | None = None


@dataclass(frozen=True)
class InboxPage:
    """A page of one tab, with every tab's count."""

    tab: str
    items: tuple[InboxItem, ...]
    total: int
    page: int
    per_page: int
    counts: dict

    @property
    def pages(self) -> int:
        """Number of pages in this tab."""
        return max(1, -(-self.total // self.per_page))


def _tab_condition(user: UserView, tab: str):
    if tab == "assigned":
        return and_(HumanTask.status == "ready", HumanTask.assignee == user.username)
    if tab == "claimable":
        branches = [select(HumanTask.id).where(HumanTask.status == "ready", HumanTask.role == role,
                                               HumanTask.org_unit_code == org, HumanTask.assignee.is_(None))
                    for role, org in sorted(set(user.memberships))]
        if not branches:
            return false()
        return HumanTask.id.in_(union_all(*branches).scalar_subquery() if len(branches) > 1
                                else branches[0].scalar_subquery())
    if tab == "done":
        return and_(HumanTask.completed_by == user.username, HumanTask.status == "completed")
    took_part = select(HumanTask.instance_id).where(HumanTask.completed_by == user.username)
    started = select(ProcessInstance.id).where(ProcessInstance.started_by == user.username)
    return and_(HumanTask.instance_id.in_(union_all(took_part, started).scalar_subquery()),
                HumanTask.status == "ready")


def inbox(session: Session, user: UserView, now: datetime, tab: str | None = "assigned", search: str = "",
          step: int | None = None, tier: str | None = None, page: int = 1, per_page: int = 20,
          hooks: HookRegistry | None = None) -> InboxPage:
    """One page of a tab, soonest due first (most recent first in `done`); titles from each process's hooks.

    `tab=None` lands on the first tab that has items (the assigned tab when all are empty)."""
    page = max(1, page)
    hooks = hooks if hooks is not None else HookRegistry()
    filters = []
    if search:
        filters.append(or_(hooks.matching(session, search), HumanTask.name.ilike(f"%{search}%")))
    if step is not None:
        filters.append(HumanTask.step == step)
    if tier:
        filters.append(HumanTask.tier == tier)

    def base(condition):
        return (select(HumanTask, ProcessInstance.process_id, TaskRead.read_at)
                .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
                .outerjoin(TaskRead, and_(TaskRead.task_id == HumanTask.id, TaskRead.username == user.username))
                .where(condition, *filters))

    counts = {name: session.scalar(select(func.count()).select_from(base(_tab_condition(user, name)).subquery()))
              for name in TABS}
    if tab is None:
        tab = next((name for name in WORK_TABS if counts[name]), "assigned")
    tab = tab if tab in TABS else "assigned"
    query = base(_tab_condition(user, tab))
    if tab == "done":
        query = query.order_by(HumanTask.completed_at.desc())
    else:
        query = query.order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.created_at)
    rows = session.execute(query.offset((page - 1) * per_page).limit(per_page)).all()
    titles = hooks.titles(session, {(row.instance_id, process_id) for row, process_id, _ in rows})
    items = tuple(_item(row, titles[row.instance_id], read_at, now) for row, _, read_at in rows)
    return InboxPage(tab, items, counts[tab], page, per_page, counts)


def _item(row: HumanTask, title: str, read_at, now: datetime) -> InboxItem:
    open_ = row.status == "ready"
    overdue = open_ and row.due_at is not None and row.due_at < now
    at_risk = open_ and not overdue and row.due_at is not None and (
        (row.remind_at is not None and row.remind_at <= now) or row.due_at - now <= AT_RISK_WINDOW)
    return InboxItem(row.id, row.instance_id, row.name, title, row.step, row.tier, row.org_unit_code, row.assignee,
                     row.status, row.due_at, row.completed_at, overdue, at_risk, read_at is not None,
                     row.escalation_level if open_ else 0, row.item_label)


def save_draft(session: Session, task_id: str, username: str, data: dict, now: datetime) -> None:
    """Keep what a person typed without submitting it."""
    draft = session.get(TaskDraft, (task_id, username))
    if draft is None:
        session.add(TaskDraft(task_id=task_id, username=username, data=data, saved_at=now))
    else:
        draft.data, draft.saved_at = data, now


def draft_of(session: Session, task_id: str, username: str) -> dict | None:
    """A person's saved draft for a task."""
    draft = session.get(TaskDraft, (task_id, username))
    return None if draft is None else dict(draft.data)


def add_comment(session: Session, instance_id: int, task_id: str | None, author: str, body: str, now: datetime,
                kind: str = "comment") -> None:
    """Record a comment (or a return's reason)."""
    session.add(Comment(instance_id=instance_id, task_id=task_id, author=author, kind=kind, body=body.strip(),
                        created_at=now))


def comments(session: Session, instance_id: int) -> list[Comment]:
    """An instance's comments, oldest first."""
    return list(session.scalars(select(Comment).where(Comment.instance_id == instance_id).order_by(Comment.id)))


def mark_read(session: Session, task_id: str, username: str, now: datetime) -> None:
    """Mark a task as read (已阅) for a person."""
    if session.get(TaskRead, (task_id, username)) is None:
        session.add(TaskRead(task_id=task_id, username=username, read_at=now))
