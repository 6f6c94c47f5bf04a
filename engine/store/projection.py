"""The `human_task` projection, rewritten on every save so inbox and overdue queries never load workflows."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date, datetime, time

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bpmn.runtime import evaluate, find_task, ready_user_tasks
from engine.bpmn.specs import ElementInfo, ParsedBundle
from engine.clock import LOCAL_TZ
from engine.hooks import PLAIN_SCOPE, Scope
from engine.store import directory, task_write
from engine.store.directory import AnyRole
from engine.store.models import Deadline, HumanTask, ProcessInstance, User
from engine.views import NextTask

OPEN_TASKS = "xieshang.open_tasks"     # session.info key: an instance's open rows as the last sync left them
_READ = "xieshang.open_tasks_read"     # session.info key: an instance's open rows read before its save (used once)


def read_open_tasks(session: Session, instance_id: int, rows: list[HumanTask]) -> None:
    """The instance's open task rows, just read in this session by a caller whose save checks the instance's
    revision first (any change to its tasks bumps the revision): the next `sync` uses them instead of a query."""
    session.info[(_READ, instance_id)] = rows


def _new_row(instance: ProcessInstance, parsed: ParsedBundle, task, now: datetime, scope: Scope,
             roles: Collection[str]) -> HumanTask:
    """A task's org unit is the diagram's `orgUnit` expression, else the process's scope of the task's data."""
    info = parsed.elements.get(task.task_spec.bpmn_id)
    props = info.properties if info else {}
    tier, org_unit = scope
    org_unit = evaluate(task, props["orgUnit"]) if props.get("orgUnit") else org_unit
    assignee = evaluate(task, props["assignee"]) if props.get("assignee") else None
    if info is not None and info.to_starter(roles):
        assignee = instance.started_by      # as SpiffArena does: no lane, no role → the person who started it
    return HumanTask(
        id=str(task.id), instance_id=instance.id, task_spec=task.task_spec.bpmn_id,
        name=task.task_spec.bpmn_name or task.task_spec.bpmn_id, item_label=item_label(task),
        step=info.step if info else None,
        lane=task.task_spec.lane, role=info.acting_role(roles) if info else None,
        org_unit_code=None if org_unit is None else str(org_unit), tier=tier,
        assignee=None if assignee is None else str(assignee), form=parsed.form(task.task_spec.bpmn_id)[2],
        status="ready", escalation_level=0, created_at=now)


LABEL_KEYS = ("name", "text", "label")
MAX_LABEL = 120


def item_label(task) -> str | None:
    """Which item a multi-instance task works on, in words: the item itself when it is text or a number, else its
    name/text/label. The inbox lists several tasks of one step by it, not as identical rows."""
    spec = getattr(getattr(task, "parent", None), "task_spec", None)
    item = getattr(spec, "input_item", None)
    if item is None or item.bpmn_id not in task.data:
        return None
    value = task.data[item.bpmn_id]
    if isinstance(value, dict):
        value = next((value[key] for key in LABEL_KEYS if isinstance(value.get(key), str | int)), None)
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = " ".join(str(value).split())
    return text[:MAX_LABEL - 1] + "…" if len(text) > MAX_LABEL else text or None


def named_assignee(info: ElementInfo | None) -> bool:
    """Whether the diagram names the task's assignee (the `assignee` property)."""
    return info is not None and bool(info.properties.get("assignee"))


def _deadline_values(deadline: Deadline | None) -> dict:
    """A task is due when its step is; it carries the step's escalation level."""
    if deadline is None:
        return {}
    return {"due_at": deadline.due_at, "remind_at": deadline.remind_at, "escalate_at": deadline.escalate_at,
            "escalation_level": deadline.level}


def own_due(task, info: ElementInfo | None) -> datetime | None:
    """The task's own due moment from the diagram's `dueDate` expression (a date is due at the end of that day, local
    time), or None when it has none or its value is no date."""
    expression = info.properties.get("dueDate") if info else None
    value = evaluate(task, expression) if expression else None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=LOCAL_TZ)
    if isinstance(value, date):
        return datetime.combine(value, time(23, 59, 59), LOCAL_TZ)
    return None


def _due_values(task, info: ElementInfo | None, deadline: Deadline | None) -> dict:
    """The due columns a task's row should hold: its step's deadline, and its own due date instead of the step's
    when it has one (e.g. a deadline a person set in an earlier form; reminders and escalations still follow the
    step)."""
    values = _deadline_values(deadline)
    due = own_due(task, info)
    if due is not None:
        values["due_at"] = due
    return values


def sync(session: Session, instance: ProcessInstance, parsed: ParsedBundle, workflow, now: datetime,
         deadlines: dict[str, Deadline], actor: str | None = None,
         completed_task: str | None = None, scope: Callable[[dict], Scope] = lambda data: PLAIN_SCOPE,
         roles: Collection[str] = AnyRole()) -> list[HumanTask]:
    """Add rows for newly ready user tasks, close rows whose task finished or went away; returns new rows.

    `scope` gives (tier, org unit) from a task's data: the process's hook, or nothing for a plain process;
    `roles`: the directory's roles (a lane naming another role reaches nobody, so its task goes to the starter)."""
    known = session.info.pop((_READ, instance.id), None)
    if known is None:
        known = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                        HumanTask.status == "ready"))
    open_rows = {row.id: row for row in known if row.status == "ready"}
    added, changed = [], []
    ready_ids = set()
    for task in ready_user_tasks(workflow):
        task_id = str(task.id)
        ready_ids.add(task_id)
        row = open_rows.get(task_id)
        fresh = row is None
        if fresh:
            row = _new_row(instance, parsed, task, now, scope(task.data), roles)
            added.append(row)
        info = parsed.elements.get(row.task_spec)
        values = _due_values(task, info, deadlines.get(info.scope) if info else None)
        if fresh:
            for name, value in values.items():
                setattr(row, name, value)
            continue
        values = {name: value for name, value in values.items() if getattr(row, name) != value}
        if values:
            changed.append((row, values))
    for task_id, row in open_rows.items():
        if task_id in ready_ids:
            continue
        task = find_task(workflow, task_id)
        done = task is not None and task.has_state(TaskState.COMPLETED)
        values = {"status": "completed" if done else "cancelled", "completed_at": now}
        if done and task_id == completed_task:
            values["completed_by"] = actor
        changed.append((row, values))
    _people_by_name(session, added)
    task_write.write(session, instance.org_unit_code, added, changed)
    session.info[(OPEN_TASKS, instance.id)] = [row for row in open_rows.values() if row.status == "ready"] + added
    return added


def _people_by_name(session: Session, rows: list[HumanTask]) -> None:
    """An item that is a username (a researcher) is labelled with the person's display name."""
    labels = {row.item_label for row in rows if row.item_label}
    if labels:
        names = dict(session.execute(select(User.username, User.display_name).where(User.username.in_(labels))).all())
        for row in rows:
            row.item_label = names.get(row.item_label, row.item_label)


def next_for(session: Session, instance_id: int, actor: str) -> list[NextTask]:
    """The instance's open tasks `actor` may act on now (assigned to them, or unclaimed in one of their roles):
    what a client shows after a submit instead of looking the instance up again."""
    known = session.info.get((OPEN_TASKS, instance_id))      # `sync` just saw them in this session
    if known is None:
        known = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                        HumanTask.status == "ready"))
    rows = [row for row in known if row.status == "ready" and row.assignee in (None, actor)]
    pending = [row for row in rows if row.assignee is None and row.role]
    memberships = directory.memberships_of(session, actor) if pending else set()
    mine = [row for row in rows if row.assignee == actor or (row.role, row.org_unit_code) in memberships]
    return [NextTask(row.id, row.name, row.task_spec, row.step, row.due_at) for row in
            sorted(mine, key=lambda r: (r.due_at is None, r.due_at or r.created_at, r.created_at, r.id))]
