"""The engine's background commands: fire due timers and deadlines (each instance alone), list and retry the
instances that stopped in `error`. A mixin of `Engine`: it uses the engine's sessions, loading and saving."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import deadlines, failures
from engine.bpmn import runtime
from engine.clock import FrozenClock
from engine.errors import ConcurrentUpdate, InvalidState, NotFound
from engine.store.models import Deadline, HumanTask, ProcessInstance

# Whom a step's reminder (level 0) and escalations (levels 1, 2) address when its diagram has no deadline events; the
# words are audiences the `notify` operator resolves. The engine's default keeps every notice with the task's holder;
# the product passes its own ladder (domain/people/policy.py).
ESCALATION_LADDER = ("assignee", "assignee", "assignee")


class Sweeping:
    """Timers, deadlines and instances in error."""

    # --- timers and deadlines ------------------------------------------------------------------------
    def fire_due_timers(self, now: datetime | None = None, limit: int = 500,
                        instance_ids: Iterable[int] | None = None) -> list[int]:
        """Fire every timer due before `now` (default: the clock), once; returns the instances advanced."""
        return list(self.sweep_timers(now, limit, instance_ids).done)

    def sweep_timers(self, now: datetime | None = None, limit: int = 500,
                     instance_ids: Iterable[int] | None = None) -> failures.Swept:
        """Fire due timers; an instance that fails goes to `error` alone and the others still fire.

        SpiffWorkflow fires a timer strictly after its time, so `next_timer_at < now` selects exactly those.
        `instance_ids` restricts the sweep to those instances.
        """
        now = now or self.clock.now()
        due = ProcessInstance.next_timer_at < now
        if instance_ids is not None:
            due = due & ProcessInstance.id.in_(list(instance_ids))
        return self._each_claimed(ProcessInstance, due, ProcessInstance.next_timer_at,
                                  lambda session, instance_id: self._fire(session, instance_id, now), limit,
                                  lambda instance_id, exc: self._timer_failed(instance_id, exc, now))

    def fire_deadlines(self, now: datetime | None = None, limit: int = 500) -> list[int]:
        """Deliver every due reminder and escalation once; returns the deadlines acted on."""
        return list(self.sweep_deadlines(now, limit).done)

    def sweep_deadlines(self, now: datetime | None = None, limit: int = 500) -> failures.Swept:
        """Deliver due reminders and escalations; an instance that fails goes to `error` alone."""
        now = now or self.clock.now()
        due = (Deadline.status == "open") & (Deadline.next_action_at < now)
        # claimed through its instance's row: every writer locks the instance before its deadlines (a submit's save
        # does), so a sweep locking the deadline first and the instance second could deadlock with a submit
        return self._each_claimed(Deadline, due, Deadline.next_action_at,
                                  lambda session, deadline_id: self._fire_deadline(session, deadline_id, now), limit,
                                  lambda deadline_id, exc: self._deadline_failed(deadline_id, exc, now),
                                  through=(ProcessInstance, ProcessInstance.id == Deadline.instance_id))

    def _each_claimed(self, model, due, order, act, limit: int, fail, through=None) -> failures.Swept:
        """Claim due rows one per transaction and act on each, so a crash loses only uncommitted work and concurrent
        sweeps never act twice: PostgreSQL skips rows another sweep has locked (FOR UPDATE SKIP LOCKED); SQLite has no
        row locks and its write lock must not be held while a workflow runs, so two sweeps may run the same instance
        and the later save finds the revision moved on (ConcurrentUpdate: nothing of it is kept). `through`: (model,
        join condition) of the row locked instead of the claimed row (its instance), taken in the order every writer
        takes them. A row whose action fails is rolled back and handed to `fail` (its instance goes to `error`); the
        rest go on."""
        done: list[int] = []
        failed: list[int] = []
        tried: list[int] = []     # each row at most once per sweep, even if it stays due
        while len(tried) < limit:
            row_id = None
            try:
                with self.unit_of_work() as session:
                    pick = select(model.id).where(due).order_by(order).limit(1)
                    if tried:
                        pick = pick.where(model.id.not_in(tried))
                    if through is not None:
                        pick = pick.join(*through).with_for_update(skip_locked=True, of=through[0])
                    else:
                        pick = pick.with_for_update(skip_locked=True)
                    row_id = session.scalar(pick)
                    if row_id is None:
                        break
                    tried.append(row_id)
                    if act(session, row_id):
                        done.append(row_id)
            except ConcurrentUpdate:
                continue    # a person changed the instance first; it stays due for the next sweep if still due
            except self.transient_errors:
                raise       # the database is gone or locked: not this instance's fault; the next sweep retries
            except Exception as exc:  # noqa: BLE001 - any failure of one instance is recorded on it, never swallowed
                if row_id is None:
                    raise
                instance_id = fail(row_id, exc)
                if instance_id is not None:
                    failed.append(instance_id)
        return failures.Swept(tuple(done), tuple(failed))

    def _timer_failed(self, instance_id: int, exc: Exception, now: datetime) -> int | None:
        """Record a failed timer on its instance (in a transaction of its own), unless it is no longer due."""
        with self.unit_of_work() as session:
            row = session.get(ProcessInstance, instance_id, with_for_update=True)
            if row is None or row.next_timer_at is None or row.next_timer_at >= now:
                return None     # someone advanced it meanwhile: the failure is stale
            failures.record(session, row, exc, now, source="timer")
            return instance_id

    def _deadline_failed(self, deadline_id: int, exc: Exception, now: datetime) -> int | None:
        """Record a failed reminder or escalation on its instance, unless the deadline is no longer due."""
        with self.unit_of_work() as session:
            instance_id = session.scalar(select(Deadline.instance_id).where(Deadline.id == deadline_id))
            if instance_id is None:
                return None
            instance = session.get(ProcessInstance, instance_id, with_for_update=True)    # the instance first,
            row = session.get(Deadline, deadline_id, with_for_update=True)                # as every writer
            if row is None or row.status != "open" or row.next_action_at is None or row.next_action_at >= now:
                return None
            failures.record(session, instance, exc, now, source=f"deadline {row.scope}")
            return instance.id

    def _fire(self, session: Session, instance_id: int, now: datetime) -> bool:
        row = self.instance(session, instance_id)
        if row.next_timer_at is None or row.next_timer_at >= now:
            return False
        parsed, workflow = self.load(row)
        timer_due = (runtime.next_timer_at(workflow) or now) < now   # else a stalled loop was resumed on load
        advance = runtime.run(workflow, FrozenClock(now))
        fired = advance.timers_fired if timer_due else []
        for element, due in fired or [(None, None)]:      # a line per wait that ended; one for a resumed loop
            self.audit(session, row.id, "timer_fired" if timer_due else "instance_resumed", None, None,
                       {"due": (due or row.next_timer_at).isoformat(), **({"element": element} if element else {})},
                       at=now)
        self._save(session, row, parsed, workflow, advance, None, at=now)
        return True

    def _fire_deadline(self, session: Session, deadline_id: int, now: datetime) -> bool:
        row = session.get(Deadline, deadline_id)
        if row is None or row.status != "open" or row.next_action_at is None or row.next_action_at >= now:
            return False
        instance = self.instance(session, row.instance_id)
        parsed, workflow = self.load(instance)
        actions = deadlines.due_actions(row, now)
        late = _holders(session, row)      # who held the step's tasks when the deadline acted, for the record
        fallback = []

        def deliver():
            waiting = {event.name for event in workflow.waiting_events()}
            for action in actions:
                level = {"remind": 0, "overdue": 1, "escalate": 2}[action]
                if deadlines.MESSAGES[action] in waiting:
                    payload = {"scope": row.scope, "step": row.step, "level": level}
                    workflow.send_event(BpmnEvent(MessageEventDefinition(deadlines.MESSAGES[action]), payload))
                else:     # a diagram without deadline events still gets its reminders and escalations
                    fallback.append(runtime.ServiceCall(f"{row.id}-{action}", row.scope, "notify", {
                        "kind": "reminder" if action == "remind" else "escalation", "level": level,
                        "to": self.escalation_ladder[level], "message": ""}))

        advance = runtime.run(workflow, FrozenClock(now), on_task=deliver)
        advance.service_calls.extend(fallback)
        for action in actions:
            if action == "remind":
                row.reminded_at = now
            else:
                row.level = max(row.level, 1 if action == "overdue" else 2)
            self.audit(session, instance.id, "reminder_sent" if action == "remind" else "escalated", None, None,
                       {"step": row.step, "scope": row.scope, "level": row.level, "due": row.due_at.isoformat(),
                        **late}, at=now)
        row.next_action_at = deadlines.next_action(row)
        self._save(session, instance, parsed, workflow, advance, None, at=now)
        return True

    # --- instances in error ------------------------------------------------------------------------------
    def list_errors(self, limit: int = 200) -> list[failures.InstanceErrorView]:
        """Instances stopped in `error`, with where and why, most recent first."""
        with self.unit_of_work() as session:
            return failures.error_views(session, limit)

    def retry_instance(self, instance_id: int, actor: str | None = None) -> failures.InstanceErrorView:
        """Run an instance in `error` again from its last good stored state (timers, then due deadlines).

        If it fails again it stays in `error` with the new cause; either way the returned view says how it stands.
        """
        now = self.clock.now()
        try:
            with self.unit_of_work() as session:
                row = self.instance(session, instance_id)
                if row.status != "error":
                    raise InvalidState(f"实例 {instance_id} 未处于出错状态，无需重试 (the instance is not in error)")
                self.audit(session, row.id, "instance_retried", actor, None, {"error": row.error}, at=now)
                parsed, workflow = self.load(row)
                self._save(session, row, parsed, workflow, runtime.run(workflow, FrozenClock(now)), actor, at=now)
                for deadline_id in failures.due_deadlines(session, row.id, now):
                    self._fire_deadline(session, deadline_id, now)
        except (InvalidState, NotFound, ConcurrentUpdate, *self.transient_errors):
            raise
        except Exception as exc:  # noqa: BLE001 - the new cause is recorded on the instance and shown to the admin
            with self.unit_of_work() as session:
                failures.record(session, self.instance(session, instance_id), exc, now, actor, source="retry")
        with self.unit_of_work() as session:
            return failures.error_view(session, self.instance(session, instance_id))


def _holders(session: Session, deadline: Deadline) -> dict:
    """The assignees of the deadline's open tasks, and the roles of those nobody has claimed."""
    which = HumanTask.step == deadline.step if deadline.step is not None else HumanTask.task_spec == deadline.scope
    tasks = session.scalars(select(HumanTask).where(HumanTask.instance_id == deadline.instance_id,
                                                    HumanTask.status == "ready", which)).all()
    return {"holders": sorted({t.assignee for t in tasks if t.assignee}),
            "roles": sorted({t.role for t in tasks if not t.assignee and t.role})}
