"""What participants do around tasks: inbox, drafts, comments, read marks, returns (退回), tracking codes,
and the task and instance pages (built in domain/work/pages.py) — each checked against who may see or act."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from domain.people import policy as access
from domain.people.accounts import UserView
from domain.work import inbox, pages
from engine.bpmn.forms import nul_free
from engine.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from engine.hooks import HookRegistry, guarded
from engine.store.models import HumanTask, ProcessInstance, User
from engine.views import InstanceSummary, TaskView

MAX_COMMENT = 2000


class Participation:
    """Participant-facing commands and queries, on top of the engine service."""

    def __init__(self, engine, policy):
        self.engine = engine
        self.policy = policy      # who may act on a task (domain.people.policy.TaskPolicy)

    def inbox(self, user: UserView, **filters) -> inbox.InboxPage:
        """One page of one inbox tab."""
        with self.engine.reading() as session:
            return inbox.inbox(session, user, self.engine.clock.now(), hooks=self.engine.hooks, **filters)

    def inbox_labels(self, user: UserView) -> dict[str, str]:
        """Every inbox tab's count as a person reads it ("9,999+" when counted only that far)."""
        with self.engine.reading() as session:
            return inbox.tab_labels(session, user)

    def track(self, code: str):
        """What anyone holding a tracking code may see, from the process that issued the code; None when unknown."""
        with self.engine.reading() as session:
            for hooks in self.engine.hooks:
                if hooks.public_view is not None:
                    found = guarded(hooks.process_id, "public_view", hooks.public_view, session, code)
                    if found is not None:
                        return found
        return None

    def save_draft(self, task_id: str, user: UserView, data: dict) -> None:
        """Keep a person's unsubmitted input for a task they may complete."""
        if not nul_free(data):
            raise ValidationFailed({"(form)": ["不能包含控制字符 (control characters are not allowed)"]})
        with self.engine.unit_of_work() as session:
            human = self._task(session, task_id)
            self._require_actor(session, human, user)
            inbox.save_draft(session, task_id, user.username, data, self.engine.clock.now())

    def draft(self, task_id: str, user: UserView) -> dict | None:
        """The person's saved draft, if any."""
        with self.engine.reading() as session:
            return inbox.draft_of(session, task_id, user.username)

    def comment(self, instance_id: int, user: UserView, body: str, task_id: str | None = None) -> None:
        """Add a comment to an instance the person may see."""
        body = (body or "").strip()
        if not body or len(body) > MAX_COMMENT or not nul_free(body):
            raise ValidationFailed({"body": [f"请输入 1–{MAX_COMMENT} 个字 (1–{MAX_COMMENT} characters)"]})
        with self.engine.unit_of_work() as session:
            self.require_view(session, user, instance_id)
            inbox.add_comment(session, instance_id, task_id, user.username, body, self.engine.clock.now())

    def mark_read(self, task_id: str, user: UserView) -> None:
        """已阅: the person has seen the task."""
        with self.engine.unit_of_work() as session:
            human = self._task(session, task_id)
            self.require_view(session, user, human.instance_id)
            inbox.mark_read(session, task_id, user.username, self.engine.clock.now())

    def return_task(self, task_id: str, user: UserView, reason: str) -> None:
        """退回: the assignee gives the task back to everyone with its role, saying why."""
        reason = (reason or "").strip()
        if not reason or not nul_free(reason):
            raise ValidationFailed({"reason": ["请填写退回理由 (a reason is required)"]})
        with self.engine.unit_of_work() as session:
            human = self.engine.locked_task(session, task_id)      # decided under the instance's lock
            if not access.may_return_task(user, human):
                raise PermissionDenied("只有承办人可以退回此任务 (only the assignee may return it)")
            human.assignee = None
            now = self.engine.clock.now()
            inbox.add_comment(session, human.instance_id, task_id, user.username, reason[:MAX_COMMENT], now,
                              kind="return")
            self.engine.touch(session, human.instance_id)
            self.engine.audit(session, human.instance_id, "task_returned", user.username, task_id,
                              {"reason": reason[:200]})

    def task_for(self, task_id: str, user: UserView) -> TaskView:
        """A task the person may see (its instance is visible to them), as a TaskView."""
        with self.engine.reading() as session:
            return self.engine.task_view(session, pages.visible_task(session, user, task_id))

    def can_act(self, task_id: str, user: UserView) -> bool:
        """Whether the person may complete the task now."""
        view = self.engine.get_task(task_id)
        return view.status == "ready" and user.username in view.candidates

    def instance_detail(self, instance_id: int, user: UserView) -> pages.InstanceDetail:
        """The instance page's content, for a person who may see it."""
        with self.engine.reading() as session:
            return pages.instance_detail(self.engine, session, user, instance_id)

    def instance_summary(self, instance_id: int, user: UserView) -> pages.InstanceSummary:
        """The instance with its data, tasks and comments, for a person who may see it; no workflow restored."""
        with self.engine.reading() as session:
            return pages.instance_summary(self.engine, session, user, instance_id)

    def task_page(self, task_id: str, user: UserView) -> pages.TaskPage:
        """The task page's content, for a person who may see the task's instance."""
        with self.engine.reading() as session:
            return pages.task_page(self.engine, session, user, task_id)

    def instances(self, user: UserView, **filters) -> InstancePage:
        """A page of the instances the person may see."""
        with self.engine.reading() as session:
            return list_instances(session, user, self.engine.hooks, **filters)

    def require_view(self, session, user: UserView, instance_id: int) -> None:
        """Raise NotFound/PermissionDenied unless the person may see the instance."""
        pages.visible_instance(session, user, instance_id)

    def _task(self, session, task_id: str) -> HumanTask:
        human = session.get(HumanTask, task_id)
        if human is None:
            raise NotFound(f"没有任务 {task_id} (no such task)")
        return human

    def _require_actor(self, session, human: HumanTask, user: UserView) -> None:
        if human.status != "ready":
            raise InvalidState("任务已办结 (task is not open)")
        self.policy.require_candidate(session, human, user.username)


@dataclass(frozen=True)
class InstancePage:
    """A page of instances a person may see."""

    items: tuple
    total: int
    page: int
    per_page: int
    started_by: dict = field(default_factory=dict)   # instance id → name of who raised it (absent: the public)

    @property
    def pages(self) -> int:
        """Number of pages."""
        return max(1, -(-self.total // self.per_page))


def list_instances(session, user: UserView, hooks: HookRegistry, search: str = "", status: str | None = None,
                   tier: str | None = None, page: int = 1, per_page: int = 20) -> InstancePage:
    """Instances visible to `user`, most recently updated first, with their titles (from their process's hooks)."""
    query = select(ProcessInstance).where(access.visible_instances(user))
    if search:
        query = query.where(hooks.matching(session, search))
    if status:
        query = query.where(ProcessInstance.status == status)
    if tier:
        query = query.where(ProcessInstance.tier == tier)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(ProcessInstance.updated_at.desc(), ProcessInstance.id.desc())
                           .offset((max(page, 1) - 1) * per_page).limit(per_page)).all()
    titles = hooks.titles(session, [(i.id, i.process_id) for i in rows])
    items = tuple(InstanceSummary(i.id, i.process_id, titles[i.id], i.status, i.step, i.tier, i.org_unit_code,
                                  i.updated_at) for i in rows)
    starters = {i.started_by for i in rows if i.started_by}
    names = dict(session.execute(select(User.username, User.display_name)
                                 .where(User.username.in_(starters))).all()) if starters else {}
    started_by = {i.id: names.get(i.started_by, i.started_by) for i in rows if i.started_by}
    return InstancePage(items, total, max(page, 1), per_page, started_by)
