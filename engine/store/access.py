"""The engine's public store API: what services built on the engine use inside its units of work.

Services beside the engine (participation, extensions, pages …) open a unit of work with `engine.unit_of_work()` or
`engine.reading()` and then need a few of the engine's own steps: find an instance, load its workflow, lock an open
task, count a task-level change as a change of the instance, write an audit event. These methods are that API:
small, named without an underscore, and stable, so the engine's internals (how it saves, locks and projects) can
change without the services. They are methods of the Engine (a mixin) rather than a separate object because they
read the engine's current clock, version cache and directory rules, which tests and workers may replace.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from sqlalchemy import and_, bindparam, case, func, or_, select
from sqlalchemy.orm import Session, aliased, object_session, undefer
from sqlalchemy.orm.attributes import flag_modified, set_committed_value

from engine import deadlines
from engine.bpmn import runtime
from engine.bpmn.serialization import state_serializer
from engine.errors import InvalidState, NotFound
from engine.store import directory, projection, queries, statecodec, statements
from engine.store.models import AuditEvent, Deadline, HumanTask, ProcessInstance, ProcessVersion
from engine.views import EventView, InstanceView, TaskView


def _open_task_and_instance():
    """The statement of `open_task_and_instance`, built once: an alias made per call would rebuild its column
    collections and the statement's cache key on every submit. One row per (open task, open deadline) of the
    instance; the state comes once, on the task's own row with the instance's first open deadline (or none)."""
    other = aliased(HumanTask, name="open_task")
    deadline, first = aliased(Deadline, name="open_deadline"), aliased(Deadline, name="first_deadline")
    task_id = bindparam("task_id", type_=HumanTask.__table__.c.id.type)
    instance_of_task = select(HumanTask.instance_id).where(HumanTask.id == task_id).scalar_subquery()
    first_open = (select(func.min(first.id)).where(first.instance_id == ProcessInstance.id, first.status == "open")
                  .correlate(ProcessInstance).scalar_subquery())
    state_once = case((and_(other.id == task_id, or_(deadline.id.is_(None), deadline.id == first_open)),
                       ProcessInstance.state))
    return (select(ProcessInstance, other, state_once, deadline)
            .join(other, and_(other.instance_id == ProcessInstance.id,
                              or_(other.status == "ready", other.id == task_id)))
            .outerjoin(deadline, and_(deadline.instance_id == ProcessInstance.id, deadline.status == "open"))
            .where(ProcessInstance.id == instance_of_task))


_OPEN_TASK_AND_INSTANCE = _open_task_and_instance()


class StoreAccess:
    """Find, load, lock, touch and audit inside a unit of work the caller opened (a mixin of `Engine`)."""

    def instance(self, session: Session, instance_id: int) -> ProcessInstance:
        """The instance row; NotFound when there is none."""
        row = session.get(ProcessInstance, instance_id)
        if row is None:
            raise NotFound(f"没有实例 {instance_id} (no such instance)")
        return row

    def load(self, row: ProcessInstance):
        """(parsed bundle, workflow) of an instance row, restored from its stored state."""
        parsed = self.parsed_of(object_session(row), row.version_id)
        workflow = state_serializer().loads(statecodec.unpack(row.state), parsed.spec, parsed.subprocess_specs)
        return parsed, runtime.attach(workflow)

    def parsed_of(self, session: Session, version_id: int):
        """The parsed bundle of a version id: from the cache without a query once this engine has read it."""
        parsed = self.cache.by_id(version_id)
        return parsed if parsed is not None else self.cache.for_version(session.get(ProcessVersion, version_id))

    def loaded_instance(self, session: Session, instance_id: int) -> ProcessInstance:
        """The instance row with its state in one query (the state column is otherwise read on first use)."""
        row = session.get(ProcessInstance, instance_id, options=[undefer(ProcessInstance.state)])
        if row is None:
            raise NotFound(f"没有实例 {instance_id} (no such instance)")
        return row

    def instance_with_data(self, session: Session, instance_id: int) -> ProcessInstance:
        """The instance row with its data snapshot in one query (the state is read only for a row without one)."""
        row = session.get(ProcessInstance, instance_id, options=[undefer(ProcessInstance.data_snapshot)])
        if row is None:
            raise NotFound(f"没有实例 {instance_id} (no such instance)")
        return row

    def data_of(self, row: ProcessInstance) -> dict:
        """The data the instance carries: from its snapshot, or (a row saved before snapshots) its restored state."""
        if row.data_snapshot is not None:
            return state_serializer().loads_data(statecodec.unpack(row.data_snapshot))
        return runtime.instance_data(self.load(row)[1])

    def instance_view(self, session: Session, row: ProcessInstance, data: dict) -> InstanceView:
        """An instance row and its data as a view, with its audit events."""
        events = tuple(EventView(e.kind, e.at, e.actor, e.task_id, e.detail) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.instance_id == row.id).order_by(AuditEvent.id)))
        version = session.get(ProcessVersion, row.version_id)
        return InstanceView(row.id, row.process_id, version.content_hash[:12], row.status, row.step, row.tier,
                            row.org_unit_code, data, events, row.next_timer_at,
                            row.revision, row.error)

    def task_view(self, session: Session, human: HumanTask) -> TaskView:
        """A human task row as a view (its candidates, form and due basis)."""
        return queries.task_view(session, self.cache, human, self.directory_rules.roles)

    def open_task(self, session: Session, task_id: str) -> HumanTask:
        """A task that is still open; NotFound or InvalidState (completed or cancelled) otherwise."""
        human = session.get(HumanTask, task_id)
        if human is None:
            raise NotFound(f"没有任务 {task_id} (no such task)")
        if human.status != "ready":
            raise InvalidState(f"任务 {human.name} 已{'办结' if human.status == 'completed' else '取消'} "
                               f"(task is {human.status})")
        return human

    def open_task_and_instance(self, session: Session, task_id: str) -> tuple[HumanTask, ProcessInstance]:
        """An open task, its instance row with the stored state, the instance's other open tasks and its open
        deadlines, in one statement (errors as `open_task`). The open tasks and deadlines are handed to the save's
        projection and deadline syncs, which would otherwise read them again: the save goes ahead only when the
        instance's revision is still the one read here, and every change to an instance's tasks or deadlines bumps it
        (`touch`, `_save`)."""
        rows = session.execute(_OPEN_TASK_AND_INSTANCE, {"task_id": task_id}).all()
        if not rows:
            raise NotFound(f"没有任务 {task_id} (no such task)")
        row = rows[0][0]
        if "state" not in row.__dict__:          # deferred: filled from the task's own result row
            set_committed_value(row, "state", next(state for _row, task, state, _deadline in rows
                                                   if task.id == task_id and state is not None))
        human = self.open_task(session, task_id)     # in the session now: no second query
        projection.read_open_tasks(session, row.id, list({task.id: task for _row, task, _s, _d in rows}.values()))
        deadlines.read_open_deadlines(session, row.id, list({d.id: d for *_, d in rows if d is not None}.values()))
        return human, row

    def locked_task(self, session: Session, task_id: str) -> HumanTask:
        """An open task read again under its instance's lock, so two people cannot both take it."""
        human = self.open_task(session, task_id)
        self._lock(session, human.instance_id)
        session.refresh(human)
        return self.open_task(session, task_id)

    def lock_instance(self, session: Session, instance_id: int) -> None:
        """Lock the instance's row before writing its tasks or deadlines: the order a submit's save takes them (the
        instance, then its rows), so two writers never hold one each and wait for the other."""
        self._lock(session, instance_id)

    def touch(self, session: Session, instance_id: int) -> None:
        """Count a task-level change as a change of the instance, so racing submits see it."""
        row = self.instance(session, instance_id)
        row.updated_at = self.clock.now()
        flag_modified(row, "updated_at")      # even at the same instant: the UPDATE bumps the revision

    def audit(self, session: Session, instance_id: int | None, kind: str, actor: str | None, task_id: str | None,
              detail: dict, at=None) -> None:
        """Add an audit event to the instance's history (`at`: default now), written when the session next writes
        (see `statements.insert_later`): all of a command's events in one statement."""
        statements.insert_later(session, AuditEvent.__table__, {
            "instance_id": instance_id, "kind": kind, "actor": actor, "task_id": task_id,
            "at": at or self.clock.now(), "detail": detail})

    def vouched(self, username: str, memberships) -> AbstractContextManager[None]:
        """Inside the block the engine takes `username` as active with these (role, org unit code) memberships,
        without reading them again: for a caller that read them itself in this request (see directory.vouched)."""
        return directory.vouched(username, memberships)

    def _lock(self, session: Session, instance_id: int) -> int | None:
        """Lock the instance row (SQLite: take the write lock) and return its revision as committed now."""
        table = ProcessInstance.__table__
        with session.no_autoflush:
            if session.get_bind().dialect.name == "sqlite":      # one statement: the write lock and the revision
                return session.scalar(table.update().values(id=table.c.id).where(table.c.id == instance_id)
                                      .returning(table.c.revision))
            return session.scalar(select(table.c.revision).where(table.c.id == instance_id).with_for_update())
