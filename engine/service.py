"""The engine's commands: deploy, start, complete, claim, reassign, cancel, fire timers; and its queries."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from functools import partial
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, object_session, sessionmaker
from sqlalchemy.orm.attributes import flag_modified

from domain.notifications import dispatch as notify
from domain.people.accounts import Accounts
from domain.work.extensions import Extensions
from domain.work.participation import Participation
from engine import deadlines, failures
from engine.bpmn import runtime, specs
from engine.bpmn.forms import clean_submission
from engine.bpmn.serialization import state_serializer
from engine.bpmn.specs import load_bundle
from engine.bpmn.storable import Unstorable, check_state_size
from engine.clock import Clock, SystemClock
from engine.errors import ConcurrentUpdate, InvalidState, NotFound, PermissionDenied, Problem, ScriptError, SpecInvalid
from engine.hooks import HookRegistry
from engine.settings import Settings
from engine.store import assignments, directory, projection, queries, submissions, versions  # submissions: case file
from engine.store.db import make_engine, make_session_factory
from engine.store.models import AuditEvent, HumanTask, OutboxMessage, ProcessInstance, ProcessVersion
from engine.store.uow import STALE_MESSAGE, Transactions
from engine.sweeping import Sweeping
from engine.views import Deployed, EventView, InstanceView, StartableProcess, TaskView


class Engine(Sweeping):
    """Every command runs in its own transaction: it commits on success and changes nothing on error."""

    # Failures of the system, not of one instance: a sweep stops on them instead of putting instances in `error`.
    transient_errors: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)

    def __init__(self, sessions: sessionmaker, clock: Clock | None = None, cache: versions.VersionCache | None = None,
                 hooks: HookRegistry | None = None):
        self.sessions = sessions
        self.transactions = Transactions(sessions)
        self.clock = clock or SystemClock()
        self.cache = cache or versions.VersionCache()
        self.hooks = (hooks if hooks is not None else HookRegistry()).naming(     # none: every process runs plainly
            partial(versions.process_names, cache=self.cache))
        self.accounts = Accounts(self.unit_of_work, self.clock, self.reading)
        self.participation = Participation(self)
        self.extensions = Extensions(self)

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock | None = None) -> Engine:
        """An engine on the configured database, with the product's process hooks."""
        from domain.wiring import standard_hooks  # the wiring names the processes; the engine itself names none

        return cls(make_session_factory(make_engine(settings.database_url)), clock, hooks=standard_hooks())

    def unit_of_work(self) -> AbstractContextManager[Session]:
        """A session that commits when the block succeeds and rolls back otherwise; a nested block joins it."""
        return self.transactions.write()

    def reading(self) -> AbstractContextManager[Session]:
        """A session for queries; inside `scope()` every read shares one transaction."""
        return self.transactions.read()

    def scope(self) -> AbstractContextManager[None]:
        """One request's worth of work: its reads share one session and transaction, one connection at a time."""
        return self.transactions.scope()

    # --- process versions -------------------------------------------------------------------------
    def validate(self, paths: Iterable[str | Path]) -> list[Problem]:
        """Every problem in the bundle at `paths`; empty when it would deploy."""
        try:
            self.cache.parse(load_bundle(paths))
        except SpecInvalid as exc:
            return exc.problems
        return []

    def review(self, paths: Iterable[str | Path]) -> tuple[list[Problem], list[Problem]]:
        """(problems that block deploying, non-blocking notices) for the bundle at `paths`."""
        try:
            parsed = self.cache.parse(load_bundle(paths))
        except SpecInvalid as exc:
            return exc.problems, []
        return [], specs.notices(parsed, directory.ROLES)

    def deploy(self, paths: Iterable[str | Path], actor: str | None = None) -> Deployed:
        """Deploy the bundle at `paths`; identical content returns the existing version."""
        bundle = load_bundle(paths)
        with self.unit_of_work() as session:
            version, created = versions.deploy(session, self.cache, bundle, actor, self.clock.now())
            if created:
                self._audit(session, None, "version_deployed", actor, None,
                            {"process_id": version.process_id, "version": version.content_hash[:12]})
            return Deployed(version.process_id, version.content_hash[:12], version.id, created)

    # --- instances --------------------------------------------------------------------------------
    def start_instance(self, process_id: str, data: dict, actor: str | None = None) -> int:
        """Start the latest version of a process with start-form data; returns the instance id."""
        with self.unit_of_work() as session:
            version = versions.latest(session, process_id)
            parsed = self.cache.for_version(version)
            clean = clean_submission(versions.start_form(parsed)[0], data)
            workflow = runtime.new_workflow(parsed, clean)
            now = self.clock.now()
            advance = runtime.run(workflow, self.clock)     # before the first write: no write lock while it runs
            row = ProcessInstance(version_id=version.id, process_id=process_id, status="running", state="",
                                  started_by=actor, created_at=now, updated_at=now)
            session.add(row)
            session.flush()
            self.hooks.call(process_id, "on_start", session, row, clean, now)
            start_id = parsed.spec.start.outputs[0].bpmn_id if parsed.spec.start.outputs else None  # case file
            if start_id and versions.start_form(parsed)[0]:                                           # case file
                submissions.record(session, row.id, parsed, start_id, clean, actor, now)              # case file
            self._audit(session, row.id, "instance_started", actor, None, {"version": version.content_hash[:12]})
            self._save(session, row, parsed, workflow, advance, actor)
            return row.id

    def cancel_instance(self, instance_id: int, actor: str | None, reason: str = "") -> None:
        """Cancel a running instance; its open tasks are closed."""
        with self.unit_of_work() as session:
            row = self._instance(session, instance_id)
            if row.status in {"completed", "cancelled"}:
                raise InvalidState(f"实例 {instance_id} 已{'完成' if row.status == 'completed' else '取消'}，不能取消")
            parsed, workflow = self._load(row)
            workflow.cancel()
            row.status = "cancelled"
            self._audit(session, row.id, "instance_cancelled", actor, None, {"reason": reason})
            self._save(session, row, parsed, workflow, runtime.Advance(), actor, status="cancelled")

    def startable_processes(self) -> list[StartableProcess]:
        """Every deployed process at its latest version, with its start form (any signed-in person may start one)."""
        with self.reading() as session:
            return [self._startable(v) for v in versions.latest_versions(session)]

    def startable_process(self, process_id: str) -> StartableProcess:
        """One deployed process at its latest version, with its start form; NotFound when none is deployed."""
        with self.reading() as session:
            return self._startable(versions.latest(session, process_id))

    def _startable(self, version: ProcessVersion) -> StartableProcess:
        parsed = self.cache.for_version(version)
        schema, ui = versions.start_form(parsed)
        return StartableProcess(version.process_id, parsed.spec.description or version.process_id,
                                version.content_hash[:12], schema, ui)

    # --- human tasks ------------------------------------------------------------------------------
    def complete_task(self, task_id: str, data: dict, actor: str, revision: int | None = None) -> int:
        """Complete a ready task with form data (validated, unknown fields dropped); returns the instance id."""
        with self.unit_of_work() as session:
            human = self._open_task(session, task_id)
            self._require_candidate(session, human, actor)
            row = self._instance(session, human.instance_id)
            if revision is not None and revision != row.revision:
                raise ConcurrentUpdate(STALE_MESSAGE)
            parsed, workflow = self._load(row)
            task = runtime.find_task(workflow, task_id)
            if task is None or task not in runtime.ready_user_tasks(workflow):
                raise InvalidState(f"任务 {task_id} 当前不可办理 (task is not ready)")
            schema, ui, _ = parsed.form(task.task_spec.bpmn_id)
            clean = clean_submission(schema, data)
            assignments.check_submission(session, schema, ui, clean, human.org_unit_code or row.org_unit_code,
                                         human.tier or row.tier)

            def complete():
                task.set_data(**clean)
                task.run()
                runtime.check_storable(task)     # the form and the post-script's results, before anything moves on

            advance = runtime.run(workflow, self.clock, on_task=complete)
            submissions.record(session, row.id, parsed, human.task_spec, clean, actor, self.clock.now(),   # case file
                               task_id=task_id, item_label=human.item_label)                              # case file
            self._audit(session, row.id, "task_completed", actor, task_id,
                        {"task": human.task_spec, "name": human.name, "fields": sorted(clean)})
            added = self._save(session, row, parsed, workflow, advance, actor, completed_task=task_id)
            named = {r.task_spec for r in added if projection.named_assignee(parsed.elements.get(r.task_spec))}
            assignments.check_new_tasks(session, added, named, clean)
            return row.id

    def claim_task(self, task_id: str, actor: str) -> None:
        """Take a task: it becomes assigned to `actor`, who must be a candidate."""
        with self.unit_of_work() as session:
            human = self._locked_task(session, task_id)     # decided under the instance's lock
            if human.assignee and human.assignee != actor:
                raise InvalidState(f"任务已由 {human.assignee} 认领 (already claimed by {human.assignee})")
            self._require_candidate(session, human, actor)
            human.assignee = actor
            self._touch(session, human.instance_id)
            self._audit(session, human.instance_id, "task_claimed", actor, task_id, {})

    def release_task(self, task_id: str, actor: str) -> None:
        """Give a claimed task back to everyone with its role."""
        with self.unit_of_work() as session:
            human = self._locked_task(session, task_id)
            if human.assignee != actor and not self._is_manager(session, human, actor):
                raise PermissionDenied(f"{actor} 未认领此任务，不能释放 (only the assignee may release it)")
            if not human.role:
                raise InvalidState("此任务没有可认领的角色，不能释放，请转办 (this task has no role to release it to; "
                                   "reassign it instead)")
            human.assignee = None
            self._touch(session, human.instance_id)
            self._audit(session, human.instance_id, "task_released", actor, task_id, {})

    def reassign_task(self, task_id: str, to_user: str, actor: str) -> None:
        """Hand a task (转办) to another person who holds its role in its org unit."""
        with self.unit_of_work() as session:
            human = self._locked_task(session, task_id)
            if human.assignee != actor and not self._is_manager(session, human, actor):
                raise PermissionDenied(f"{actor} 无权转办此任务 (only the assignee or a supervisor may reassign)")
            if not human.role and not directory.is_active(session, to_user):
                raise InvalidState(f"{to_user} 不是系统中的有效用户，不能接收此任务 ({to_user} is not an active user)")
            if human.role and not directory.may_act(session, to_user, human.role, human.org_unit_code):
                raise InvalidState(f"{to_user} {_lacks(human)}，不能接收此任务 ({to_user} {_lacks_en(human)})")
            previous, human.assignee = human.assignee, to_user
            self._touch(session, human.instance_id)
            self._audit(session, human.instance_id, "task_reassigned", actor, task_id,
                        {"from": previous, "to": to_user})

    # --- queries ----------------------------------------------------------------------------------
    def list_tasks(self, actor: str | None = None, instance_id: int | None = None) -> list[TaskView]:
        """Ready tasks (those `actor` may act on, if given), soonest due first."""
        with self.reading() as session:
            return queries.list_tasks(session, self.cache, actor, instance_id)

    def get_task(self, task_id: str) -> TaskView:
        """One task by id."""
        with self.reading() as session:
            human = session.get(HumanTask, task_id)
            if human is None:
                raise NotFound(f"没有任务 {task_id} (no such task)")
            return queries.task_view(session, self.cache, human)

    def task_item(self, task_id: str) -> dict:
        """For a multi-instance task, the item it works on (e.g. {"suggestion": {...}}); else {}."""
        with self.reading() as session:
            human = session.get(HumanTask, task_id)
            if human is None:
                raise NotFound(f"没有任务 {task_id} (no such task)")
            _, workflow = self._load(self._instance(session, human.instance_id))
        return runtime.item_of(workflow, task_id)

    def show_instance(self, instance_id: int) -> InstanceView:
        """An instance with its current data and audit events."""
        with self.reading() as session:
            row = self._instance(session, instance_id)
            _, workflow = self._load(row)
            return self._instance_view(session, row, workflow)

    # --- internals --------------------------------------------------------------------------------
    def _instance(self, session: Session, instance_id: int) -> ProcessInstance:
        row = session.get(ProcessInstance, instance_id)
        if row is None:
            raise NotFound(f"没有实例 {instance_id} (no such instance)")
        return row

    def _instance_view(self, session: Session, row: ProcessInstance, workflow) -> InstanceView:
        """An instance row and its loaded workflow as a view, with its audit events."""
        events = tuple(EventView(e.kind, e.at, e.actor, e.task_id, e.detail) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.instance_id == row.id).order_by(AuditEvent.id)))
        version = session.get(ProcessVersion, row.version_id)
        return InstanceView(row.id, row.process_id, version.content_hash[:12], row.status, row.step, row.tier,
                            row.org_unit_code, runtime.instance_data(workflow), events, row.next_timer_at,
                            row.revision, row.error)

    def _open_task(self, session: Session, task_id: str) -> HumanTask:
        human = session.get(HumanTask, task_id)
        if human is None:
            raise NotFound(f"没有任务 {task_id} (no such task)")
        if human.status != "ready":
            raise InvalidState(f"任务 {human.name} 已{'办结' if human.status == 'completed' else '取消'} "
                               f"(task is {human.status})")
        return human

    def _locked_task(self, session: Session, task_id: str) -> HumanTask:
        """An open task read again under its instance's lock, so two people cannot both take it."""
        human = self._open_task(session, task_id)
        self._lock(session, human.instance_id)
        session.refresh(human)
        return self._open_task(session, task_id)

    def _lock(self, session: Session, instance_id: int) -> int | None:
        """Lock the instance row (SQLite: take the write lock) and return its revision as committed now."""
        table = ProcessInstance.__table__
        with session.no_autoflush:
            if session.get_bind().dialect.name == "sqlite":
                session.execute(table.update().values(id=table.c.id).where(table.c.id == instance_id))
            return session.scalar(select(table.c.revision).where(table.c.id == instance_id).with_for_update())

    def _require_candidate(self, session: Session, human: HumanTask, actor: str) -> None:
        """The actor may act on the task now: its assignee, or a holder of its role, still active and still holding
        the role (a claimed task is not kept by someone whose role was revoked)."""
        if human.assignee and human.assignee != actor:
            raise PermissionDenied(f"此任务已指派给 {human.assignee} (assigned to {human.assignee})")
        if not human.assignee and not human.role:
            raise PermissionDenied("此任务尚无办理人，请管理员转办 (nobody is assigned to this task; an admin can "
                                   "reassign it)")
        if human.assignee and not human.role:
            allowed = directory.is_active(session, actor)
        elif human.assignee:
            allowed = directory.may_act(session, actor, human.role, human.org_unit_code)
        else:
            allowed = (human.role, human.org_unit_code) in directory.memberships_of(session, actor)
        if not allowed:
            raise PermissionDenied(f"{actor} {_lacks(human)}，不能办理此任务 ({actor} {_lacks_en(human)}; "
                                   "cannot act on this task)")

    def _is_manager(self, session: Session, human: HumanTask, actor: str) -> bool:
        """Supervisors and leads of the task's unit and the county office manage its tasks; admins manage the tasks
        no role reaches (those that went to the starter)."""
        held = directory.memberships_of(session, actor)
        return any((role, human.org_unit_code) in held for role in ("supervisor", "platform_lead")) or \
            ("office", "county") in held or (not human.role and any(role == "admin" for role, _ in held))

    def _touch(self, session: Session, instance_id: int) -> None:
        """Count a task-level change as a change of the instance, so racing submits see it."""
        row = self._instance(session, instance_id)
        row.updated_at = self.clock.now()
        flag_modified(row, "updated_at")      # even at the same instant: the UPDATE bumps the revision

    def _load(self, row: ProcessInstance):
        version = object_session(row).get(ProcessVersion, row.version_id)
        parsed = self.cache.for_version(version)
        workflow = state_serializer().loads(row.state, parsed.spec, parsed.subprocess_specs)
        return parsed, runtime.attach(workflow)

    def _save(self, session, row, parsed, workflow, advance, actor, completed_task=None, status=None, at=None):
        if self._lock(session, row.id) != row.revision:    # the loser of a race stops here, before writing
            raise ConcurrentUpdate(STALE_MESSAGE)
        now = at or self.clock.now()
        data = runtime.instance_data(workflow)
        row.state = _dumps(workflow)
        was_error, row.status = row.status == "error", status or runtime.status_of(workflow)
        row.error = None
        if was_error and row.status != "error":
            failures.unpark(session, row.id)
        row.next_timer_at = None if row.status in {"completed", "cancelled"} else runtime.next_timer_at(workflow)
        steps = runtime.active_steps(workflow, parsed)
        row.step = max(steps) if steps else row.step
        tier, org_unit = self.hooks.scope(row.process_id, data)
        row.tier = tier or row.tier
        row.org_unit_code = org_unit or row.org_unit_code
        row.updated_at = now
        for call in advance.service_calls:
            key = f"{row.id}:{call.task_id}:{call.operator}"
            session.add(OutboxMessage(idempotency_key=key, instance_id=row.id, task_id=call.task_id,
                                      operator=call.operator, params=call.params, created_at=now))
            self._audit(session, row.id, "service_called", None, call.task_id,
                        {"operator": call.operator, "element": call.element_id}, at=now)
        if row.status == "completed" and row.completed_at is None:
            row.completed_at = now
            self._audit(session, row.id, "instance_completed", actor, None, {}, at=now)
        open_deadlines = deadlines.sync(session, row, parsed, workflow, row.tier, now)
        added = projection.sync(session, row, parsed, workflow, now, open_deadlines, actor, completed_task,
                                partial(self.hooks.scope, row.process_id))
        for human in added:
            notify.notify_assignment(session, human, now)     # the people who may act are told
        self.hooks.call(row.process_id, "on_save", session, row, data, now, advance)
        return added

    def _audit(self, session, instance_id, kind, actor, task_id, detail, at=None) -> None:
        session.add(AuditEvent(instance_id=instance_id, kind=kind, actor=actor, task_id=task_id,
                               at=at or self.clock.now(), detail=detail))


def _lacks(human: HumanTask) -> str:
    """What a person lacks for a task, in words (never "None")."""
    if not human.role:
        return "不是有效用户"
    return f"在 {human.org_unit_code} 没有 {human.role} 角色" if human.org_unit_code else f"没有 {human.role} 角色"


def _lacks_en(human: HumanTask) -> str:
    if not human.role:
        return "is not an active user"
    return f"does not hold the {human.role} role" + (f" in {human.org_unit_code}" if human.org_unit_code else "")


def _dumps(workflow) -> str:
    """The state as JSON; a value the checks missed is refused here as a script error, never a crash."""
    element = getattr(getattr(workflow.last_task, "task_spec", None), "bpmn_id", None)
    try:
        state = state_serializer().dumps(workflow)
        check_state_size(state)
    except Unstorable as exc:
        raise ScriptError(element, f"{runtime.UNSTORABLE}: {exc}") from exc
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        raise ScriptError(element, f"{runtime.UNSTORABLE}: {type(exc).__name__}: {exc}") from exc
    return state
