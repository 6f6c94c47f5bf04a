"""The engine's commands: deploy, start, complete, claim, reassign, cancel, fire timers; and its queries."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from datetime import datetime
from functools import partial
from pathlib import Path

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from engine import deadlines, failures
from engine.bpmn import formrules, runtime, specs
from engine.bpmn.forms import clean_submission
from engine.bpmn.serialization import state_serializer
from engine.bpmn.specs import load_bundle
from engine.bpmn.storable import Unstorable, check_state_size
from engine.clock import LOCAL_TZ, Clock, SystemClock
from engine.drafting import Drafting
from engine.errors import (
    ConcurrentUpdate,
    InvalidState,
    NotFound,
    PermissionDenied,
    Problem,
    SpecInvalid,
    ValidationFailed,
)
from engine.hooks import HookRegistry
from engine.policy import RoleHolders, TaskPolicy, lacks, lacks_en
from engine.store import (  # submissions: case file
    assignments,
    directory,
    instance_write,
    projection,
    queries,
    statements,
    submissions,
    versions,
)
from engine.store.access import StoreAccess
from engine.store.directory import PLAIN_RULES, DirectoryRules
from engine.store.models import HumanTask, OutboxMessage, ProcessInstance, ProcessVersion
from engine.store.statecodec import pack
from engine.store.uow import STALE_MESSAGE, Transactions
from engine.studio import Studio
from engine.sweeping import ESCALATION_LADDER, Sweeping
from engine.views import Deployed, InstanceView, NextTask, StartableProcess, TaskView

TaskListener = Callable[[Session, HumanTask, datetime], object]
FormCheck = Callable[[dict | None, dict | None], None]
_RETRIES = 3      # a submit without a revision tries again this often when another writer got there first


class Engine(Sweeping, Studio, StoreAccess, Drafting):
    """Every command runs in its own transaction: it commits on success and changes nothing on error.

    What the product adds comes in through the constructor, each with a plain default: `hooks` (per process),
    `calendar` (working days; default Monday to Friday), `policy` (who may act on and manage a task; default the
    assignee or a holder of its role, nobody manages), `directory_rules` (roles, inherited roles, tiers' org unit
    kinds) and `on_task_added` (called for each new human task inside the transaction that made it).
    """

    # Failures of the system, not of one instance: a sweep stops on them instead of putting instances in `error`.
    transient_errors: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)

    def __init__(self, sessions: sessionmaker, clock: Clock | None = None, cache: versions.VersionCache | None = None,
                 hooks: HookRegistry | None = None, *, calendar: deadlines.WorkingDays = deadlines.MONDAY_TO_FRIDAY,
                 policy: TaskPolicy | None = None, directory_rules: DirectoryRules = PLAIN_RULES,
                 on_task_added: Iterable[TaskListener] = (),
                 escalation_ladder: tuple[str, str, str] = ESCALATION_LADDER):
        self.sessions = sessions
        self.transactions = Transactions(sessions)
        self.clock = clock or SystemClock()
        self.cache = cache or versions.VersionCache()
        self.hooks = (hooks if hooks is not None else HookRegistry()).naming(     # none: every process runs plainly
            lambda session: versions.process_names(session, self.cache))        # the engine's cache at the time
        self.calendar = calendar
        self.directory_rules = directory_rules
        self.policy = policy if policy is not None else RoleHolders(directory_rules)
        self.on_task_added = tuple(on_task_added)
        self.escalation_ladder = escalation_ladder

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
        return [], specs.notices(parsed, self.directory_rules.roles)

    def deadline_tables(self) -> list[deadlines.Table]:
        """The deadline rules of the newest version of every deployed process, in words a page can list."""
        with self.reading() as session:
            return [deadlines.table(self.cache.for_version(v)) for v in versions.latest_versions(session)]

    def deploy(self, paths: Iterable[str | Path], actor: str | None = None, note: str = "") -> Deployed:
        """Deploy the bundle at `paths` as the process's next version (with `note`); identical content returns the
        existing version."""
        bundle = load_bundle(paths)
        with self.unit_of_work() as session:
            version, created = versions.deploy(session, self.cache, bundle, actor, self.clock.now(), note)
            if created:
                self.audit(session, None, "version_deployed", actor, None,
                           {"process_id": version.process_id, "version": version.content_hash[:12],
                            "number": version.number})
            return Deployed(version.process_id, version.content_hash[:12], version.id, created, version.number)

    # --- instances --------------------------------------------------------------------------------
    def start_instance(self, process_id: str, data: dict, actor: str | None = None, *,
                       check_form: FormCheck | None = None) -> int:
        """Start the latest version of a process with start-form data; returns the instance id. `check_form(schema,
        ui)` is called with the start form (Nones when there is none) before anything else is decided."""
        with self.unit_of_work() as session:
            version = versions.latest(session, process_id)
            parsed = self.cache.for_version(version)
            if check_form is not None:
                check_form(*versions.start_form(parsed))
            clean = clean_submission(versions.start_form(parsed)[0], data)
            workflow = runtime.new_workflow(parsed, clean)
            now = self.clock.now()
            advance = runtime.run(workflow, self.clock)     # before the first write: no write lock while it runs
            row = ProcessInstance(version_id=version.id, process_id=process_id, status="running", state="",
                                  started_by=actor, created_at=now, updated_at=now)
            session.add(row)
            session.flush()
            projection.read_open_tasks(session, row.id, [])         # a new instance: no tasks or deadlines to read
            deadlines.read_open_deadlines(session, row.id, [])
            self.hooks.call(process_id, "on_start", session, row, clean, now)
            start_id = parsed.spec.start.outputs[0].bpmn_id if parsed.spec.start.outputs else None  # case file
            if start_id and versions.start_form(parsed)[0]:                                           # case file
                submissions.record(session, row.id, parsed, start_id, clean, actor, now)              # case file
            self.audit(session, row.id, "instance_started", actor, None, {"version": version.content_hash[:12]})
            self._timers_fired(session, row.id, advance, "instance_started")
            self._save(session, row, parsed, workflow, advance, actor, inserted=True)
            return row.id

    def cancel_instance(self, instance_id: int, actor: str | None, reason: str = "") -> None:
        """Cancel a running instance; its open tasks are closed."""
        with self.unit_of_work() as session:
            row = self.instance(session, instance_id)
            if row.status in {"completed", "cancelled"}:
                raise InvalidState(f"实例 {instance_id} 已{'完成' if row.status == 'completed' else '取消'}，不能取消")
            parsed, workflow = self.load(row)
            workflow.cancel()
            row.status = "cancelled"
            self.audit(session, row.id, "instance_cancelled", actor, None, {"reason": reason})
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
        """Complete a ready task with form data (validated, unknown fields dropped); returns the instance id.

        Without a `revision` (the caller saw no page of the instance) a submit that loses a race to another writer,
        e.g. a sweep escalating the step meanwhile, is tried again on what that writer left: the task's own rules
        then decide (still ready, still the actor's). With one, a change since that page refuses it."""
        for attempt in range(_RETRIES):
            try:
                return self._complete(task_id, data, actor, revision)
            except ConcurrentUpdate:
                if revision is not None or attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _complete(self, task_id: str, data: dict, actor: str, revision: int | None, follow: bool = False,
                  check_form: FormCheck | None = None):
        with self.unit_of_work() as session:
            human, row = self.open_task_and_instance(session, task_id)
            if check_form is not None:      # the caller's own checks of the submission against the task's form
                schema, ui, _ = self.parsed_of(session, row.version_id).form(human.task_spec)
                check_form(schema, ui)
            self.policy.require_candidate(session, human, actor)
            if revision is not None and revision != row.revision:
                raise ConcurrentUpdate(STALE_MESSAGE)
            parsed, workflow = self.load(row)
            task = runtime.find_task(workflow, task_id)
            if task is None or task not in runtime.ready_user_tasks(workflow):
                raise InvalidState(f"任务 {task_id} 当前不可办理 (task is not ready)")
            schema, ui, _ = parsed.form(task.task_spec.bpmn_id)
            clean = clean_submission(schema, formrules.keep_read_only(schema, data, task.data))
            ruled = formrules.rule_errors(schema, clean, task.data, self.clock.now().astimezone(LOCAL_TZ).date())
            if ruled:
                raise ValidationFailed(ruled)
            assignments.check_submission(session, schema, ui, clean, human.org_unit_code or row.org_unit_code,
                                         human.tier or row.tier, self.directory_rules)

            def complete():
                task.set_data(**clean)
                task.run()
                runtime.check_storable(task)     # the form and the post-script's results, before anything moves on

            advance = runtime.run(workflow, self.clock, on_task=complete)
            submissions.record(session, row.id, parsed, human.task_spec, clean, actor, self.clock.now(),   # case file
                               task_id=task_id, item_label=human.item_label)                              # case file
            self.audit(session, row.id, "task_completed", actor, task_id,
                       {"task": human.task_spec, "name": human.name, "fields": sorted(clean)})
            self._timers_fired(session, row.id, advance, "task_completed")
            added = self._save(session, row, parsed, workflow, advance, actor, completed_task=task_id)
            named = {r.task_spec for r in added if projection.named_assignee(parsed.elements.get(r.task_spec))}
            assignments.check_new_tasks(session, added, named, clean, self.directory_rules)
            return (row.id, projection.next_for(session, row.id, actor)) if follow else row.id

    def complete_and_follow(self, task_id: str, data: dict, actor: str, revision: int | None = None,
                            check_form: FormCheck | None = None) -> tuple[int, list[NextTask]]:
        """Complete a task like `complete_task`; also returns the instance's open tasks `actor` may act on next.
        `check_form(schema, ui)` is called with the open task's form (JSON schema, UI schema) as soon as the task is
        read, before anything else is decided; what it raises ends the command (found in the same statement as the
        task, so the caller needs no query of its own for the form)."""
        for attempt in range(_RETRIES):
            try:
                return self._complete(task_id, data, actor, revision, follow=True, check_form=check_form)
            except ConcurrentUpdate:
                if revision is not None or attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def claim_task(self, task_id: str, actor: str) -> None:
        """Take a task: it becomes assigned to `actor`, who must be a candidate."""
        with self.unit_of_work() as session:
            human = self.locked_task(session, task_id)     # decided under the instance's lock
            if human.assignee and human.assignee != actor:
                raise InvalidState(f"任务已由 {human.assignee} 认领 (already claimed by {human.assignee})")
            self.policy.require_candidate(session, human, actor)
            human.assignee = actor
            self.touch(session, human.instance_id)
            self.audit(session, human.instance_id, "task_claimed", actor, task_id, {})

    def release_task(self, task_id: str, actor: str) -> None:
        """Give a claimed task back to everyone with its role."""
        with self.unit_of_work() as session:
            human = self.locked_task(session, task_id)
            if human.assignee != actor and not self.policy.is_manager(session, human, actor):
                raise PermissionDenied(f"{actor} 未认领此任务，不能释放 (only the assignee may release it)")
            if not human.role:
                raise InvalidState("此任务没有可认领的角色，不能释放，请转办 (this task has no role to release it to; "
                                   "reassign it instead)")
            human.assignee = None
            self.touch(session, human.instance_id)
            self.audit(session, human.instance_id, "task_released", actor, task_id, {})

    def reassign_task(self, task_id: str, to_user: str, actor: str) -> None:
        """Hand a task (转办) to another person who holds its role in its org unit."""
        with self.unit_of_work() as session:
            human = self.locked_task(session, task_id)
            if human.assignee != actor and not self.policy.is_manager(session, human, actor):
                raise PermissionDenied(f"{actor} 无权转办此任务 (only the assignee or a supervisor may reassign)")
            if not human.role and not directory.is_active(session, to_user):
                raise InvalidState(f"{to_user} 不是系统中的有效用户，不能接收此任务 ({to_user} is not an active user)")
            if human.role and not directory.may_act(session, to_user, human.role, human.org_unit_code,
                                                    self.directory_rules.inherited_roles):
                raise InvalidState(f"{to_user} {lacks(human)}，不能接收此任务 ({to_user} {lacks_en(human)})")
            previous, human.assignee = human.assignee, to_user
            self.touch(session, human.instance_id)
            self.audit(session, human.instance_id, "task_reassigned", actor, task_id,
                       {"from": previous, "to": to_user})

    # --- queries ----------------------------------------------------------------------------------
    def list_tasks(self, actor: str | None = None, instance_id: int | None = None, limit: int = 500,
                   after: tuple | None = None) -> list[TaskView]:
        """Ready tasks (those `actor` may act on, if given), soonest due first, at most `limit`, after the task whose
        `queries.task_key` is `after`."""
        with self.reading() as session:
            return queries.list_tasks(session, self.cache, actor, instance_id, self.directory_rules.roles, limit,
                                      after)

    def get_task(self, task_id: str) -> TaskView:
        """One task by id."""
        with self.reading() as session:
            human = session.get(HumanTask, task_id)
            if human is None:
                raise NotFound(f"没有任务 {task_id} (no such task)")
            return self.task_view(session, human)

    def task_item(self, task_id: str) -> dict:
        """For a multi-instance task, the item it works on (e.g. {"suggestion": {...}}); else {}."""
        with self.reading() as session:
            human = session.get(HumanTask, task_id)
            if human is None:
                raise NotFound(f"没有任务 {task_id} (no such task)")
            _, workflow = self.load(self.instance(session, human.instance_id))
        return runtime.item_of(workflow, task_id)

    def show_instance(self, instance_id: int) -> InstanceView:
        """An instance with its current data and audit events."""
        with self.reading() as session:
            row = self.instance_with_data(session, instance_id)
            return self.instance_view(session, row, self.data_of(row))

    # --- internals --------------------------------------------------------------------------------
    def _timers_fired(self, session, instance_id: int, advance, during: str) -> None:
        """A line in the case's history for each timer that fired inside a person's command (a start or a submit that
        took so long, or came so late, that a wait was already over), as the sweep writes for the timers it fires."""
        for element, due in advance.timers_fired:
            self.audit(session, instance_id, "timer_fired", None, None,
                       {"element": element, "during": during, **({"due": due.isoformat()} if due else {})})

    def _save(self, session, row, parsed, workflow, advance, actor, completed_task=None, status=None, at=None,
              inserted=False):
        """Store the advanced workflow and everything projected from it; returns the human tasks it added.

        The loser of a race stops before the projections are read and written: PostgreSQL locks the row and compares
        its revision first; SQLite begins its write transaction (and takes the database's write lock) at the first
        write, and the row's versioned UPDATE (`... WHERE revision = ?`) compares under that lock. A row this
        transaction `inserted` has no race to lose: nobody else sees it before the commit."""
        if (session.get_bind().dialect.name != "sqlite" and not inserted
                and self._lock(session, row.id) != row.revision):
            raise ConcurrentUpdate(STALE_MESSAGE)
        with runtime.settled(workflow):         # saved as it is now: its task queries share one walk of the tree
            return self._store(session, row, parsed, workflow, advance, actor, completed_task, status,
                               at or self.clock.now())

    def _store(self, session, row, parsed, workflow, advance, actor, completed_task, status, now):
        data = runtime.instance_data(workflow)
        now_status = status or runtime.status_of(workflow)
        if row.status == "error" and now_status != "error":
            failures.unpark(session, row.id)
        steps = runtime.active_steps(workflow, parsed)
        tier, org_unit = self.hooks.scope(row.process_id, data)
        finished = now_status in {"completed", "cancelled"}
        values = {"state": pack(_dumps(workflow)),
                  "data_snapshot": pack(state_serializer().dumps_data(data)),     # a show restores no workflow
                  "status": now_status, "error": None, "step": max(steps) if steps else row.step,
                  "next_timer_at": None if finished else runtime.next_timer_at(workflow),
                  "tier": tier or row.tier, "org_unit_code": org_unit or row.org_unit_code, "updated_at": now}
        for call in advance.service_calls:
            key = f"{row.id}:{call.task_id}:{call.operator}"
            statements.insert_later(session, OutboxMessage.__table__, {
                "idempotency_key": key, "instance_id": row.id, "task_id": call.task_id, "operator": call.operator,
                "params": call.params, "created_at": now})
            self.audit(session, row.id, "service_called", None, call.task_id,
                       {"operator": call.operator, "element": call.element_id}, at=now)
        if now_status == "completed" and row.completed_at is None:
            values["completed_at"] = now
            self.audit(session, row.id, "instance_completed", actor, None, {}, at=now)
        # The versioned UPDATE (another writer first: nothing is kept), with the rows kept for later written first
        # (after PostgreSQL's lock: their keys never wait on it).
        instance_write.write(session, row, values)
        open_deadlines = deadlines.sync(session, row, parsed, workflow, row.tier, now, self.calendar)
        added = projection.sync(session, row, parsed, workflow, now, open_deadlines, actor, completed_task,
                                partial(self.hooks.scope, row.process_id), self.directory_rules.roles)
        for human in added:
            for listener in self.on_task_added:     # e.g. the people who may act are told
                listener(session, human, now)
        self.hooks.call(row.process_id, "on_save", session, row, data, now, advance)
        return added


def _dumps(workflow) -> str:
    """The state as JSON; a value the checks missed is refused here as a script error, never a crash."""
    element = getattr(getattr(workflow.last_task, "task_spec", None), "bpmn_id", None)
    try:
        state = state_serializer().dumps(workflow)
        check_state_size(state)
    except Unstorable as exc:
        raise runtime.script_error(element, f"{runtime.UNSTORABLE}: {exc}", exc) from exc
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        raise runtime.script_error(element, f"{runtime.UNSTORABLE}: {type(exc).__name__}: {exc}", exc) from exc
    return state
