"""Extensions (延期): the assignee asks with a reason; a supervisor of the instance's org unit (or of the county)
approves, and the step's deadline, reminder and escalation move with it: from the old due moment while it is ahead,
from the approval once it has passed (engine/deadlines.py `extend`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from domain.people import policy
from domain.people.accounts import UserView
from domain.work.models import ExtensionRequest
from engine import deadlines
from engine.bpmn.forms import nul_free
from engine.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from engine.store.models import Deadline, HumanTask, OutboxMessage

MAX_DAYS = 90


@dataclass(frozen=True)
class ExtensionView:
    """An extension request as shown to people."""

    id: int
    instance_id: int
    task_id: str | None
    step: int | None
    requested_by: str
    days: int
    reason: str
    status: str
    decided_by: str | None
    created_at: datetime
    due_at: datetime


def _view(request: ExtensionRequest, deadline: Deadline) -> ExtensionView:
    return ExtensionView(request.id, request.instance_id, request.task_id, deadline.step, request.requested_by,
                         request.days, request.reason, request.status, request.decided_by, request.created_at,
                         deadline.due_at)


def of_instance(session, instance_id: int) -> list[ExtensionView]:
    """Every extension request of an instance, newest first."""
    rows = session.execute(select(ExtensionRequest, Deadline)
                           .join(Deadline, Deadline.id == ExtensionRequest.deadline_id)
                           .where(ExtensionRequest.instance_id == instance_id).order_by(ExtensionRequest.id.desc()))
    return [_view(r, d) for r, d in rows.all()]


class Extensions:
    """Request, approve and reject extensions; on top of the engine service."""

    def __init__(self, engine, policy):
        self.engine = engine
        self.policy = policy      # who may act on a task (domain.people.policy.TaskPolicy)

    def request(self, task_id: str, user: UserView, days: int, reason: str) -> int:
        """The person working on an open task asks for `days` more days."""
        reason = (reason or "").strip()
        errors = {}
        if not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
            errors["days"] = [f"请填写 1–{MAX_DAYS} 天 (1–{MAX_DAYS} days)"]
        if not reason or len(reason) > 2000 or not nul_free(reason):
            errors["reason"] = ["请填写延期理由 (a reason is required)"]
        if errors:
            raise ValidationFailed(errors)
        engine = self.engine
        with engine.unit_of_work() as session:
            human = session.get(HumanTask, task_id)
            if human is None:
                raise NotFound(f"没有任务 {task_id} (no such task)")
            if human.status != "ready":
                raise InvalidState("任务已办结，无需延期 (task is not open)")
            self.policy.require_candidate(session, human, user.username)
            deadline = self._open_deadline(session, human)
            if session.scalar(select(ExtensionRequest.id).where(ExtensionRequest.deadline_id == deadline.id,
                                                                ExtensionRequest.status == "pending")):
                raise InvalidState("已有待审批的延期申请 (an extension request is already pending)")
            now = engine.clock.now()
            request = ExtensionRequest(deadline_id=deadline.id, instance_id=human.instance_id, task_id=task_id,
                                       requested_by=user.username, days=days, reason=reason, created_at=now)
            session.add(request)
            session.flush()
            session.add(OutboxMessage(idempotency_key=f"extension:{request.id}:requested", operator="notify",
                                      instance_id=human.instance_id, task_id=task_id, created_at=now,
                                      params={"kind": "extension", "level": 0, "to": "supervisor",
                                              "message": f"{human.name}：申请延期 {days} 天。理由：{reason}"}))
            engine.touch(session, human.instance_id)
            engine.audit(session, human.instance_id, "extension_requested", user.username, task_id,
                         {"days": days, "reason": reason[:200], "step": deadline.step})
            return request.id

    def decide(self, request_id: int, user: UserView, approve: bool) -> ExtensionView:
        """Approve (the deadline moves) or reject a pending request."""
        engine = self.engine
        with engine.unit_of_work() as session:
            request = session.get(ExtensionRequest, request_id)
            if request is None:
                raise NotFound(f"没有延期申请 {request_id} (no such extension request)")
            engine.lock_instance(session, request.instance_id)       # before its deadline and tasks, as a submit
            instance = engine.instance(session, request.instance_id)
            if not policy.may_decide_extension(user, instance.org_unit_code):
                raise PermissionDenied("只有督办人员可以审批延期 (only supervisors decide extensions)")
            if request.status != "pending":
                raise InvalidState("该申请已处理 (already decided)")
            deadline = session.get(Deadline, request.deadline_id)
            now = engine.clock.now()
            request.status = "approved" if approve and deadline.status == "open" else "rejected"
            request.decided_by, request.decided_at = user.username, now
            if request.status == "approved":
                asked_on = session.get(HumanTask, request.task_id) if request.task_id else None
                if asked_on is not None:        # kept on the row: the board sorts by it through an index
                    asked_on.extensions = (asked_on.extensions or 0) + 1
                old_due = deadline.due_at
                deadlines.extend(session, deadline, request.days, now, engine.calendar)
                for human in session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                                     HumanTask.status == "ready")):
                    if human.step == deadline.step:
                        # a task due on a date a person set (a supervisor's time limit) gets the days on that date
                        human.due_at = deadline.due_at if human.due_at in {old_due, None} else deadlines.extended(
                            session, human.due_at, request.days, now, deadline.basis, engine.calendar)
                        human.remind_at = deadline.remind_at
                        human.escalate_at, human.escalation_level = deadline.escalate_at, deadline.level
            verdict = "批准" if request.status == "approved" else "驳回"
            session.add(OutboxMessage(idempotency_key=f"extension:{request.id}:{request.status}", operator="notify",
                                      instance_id=instance.id, task_id=request.task_id, created_at=now,
                                      params={"kind": "extension", "level": 0, "to": request.requested_by,
                                              "message": f"延期申请已{verdict}"}))
            engine.touch(session, instance.id)
            engine.audit(session, instance.id, f"extension_{request.status}", user.username, request.task_id,
                         {"days": request.days, "due": deadline.due_at.isoformat()})
            return _view(request, deadline)

    def for_instance(self, instance_id: int) -> list[ExtensionView]:
        """Every extension request of an instance, newest first."""
        with self.engine.reading() as session:
            return of_instance(session, instance_id)

    def _open_deadline(self, session, human: HumanTask) -> Deadline:
        rows = session.scalars(select(Deadline).where(Deadline.instance_id == human.instance_id,
                                                      Deadline.status == "open", Deadline.step == human.step)).all()
        if not rows:
            raise InvalidState("此任务没有期限，无需延期 (this task has no deadline)")
        return rows[0]
