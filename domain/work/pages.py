"""Page queries: everything one page shows, read in one transaction with one workflow load, from the session
they are given."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from domain.people import accounts
from domain.people import policy as access
from domain.people.accounts import UserView
from domain.work import casefile as cases
from domain.work import extensions, inbox
from domain.work.timeline import TimelineEntry, timeline
from engine.bpmn import runtime
from engine.errors import NotFound, PermissionDenied
from engine.store.models import HumanTask, OrgUnit, ProcessInstance, User
from engine.views import TaskView


@dataclass(frozen=True)
class CommentView:
    """A comment as shown beside a form or on an instance page."""

    author: str
    kind: str
    body: str
    task_id: str | None
    created_at: datetime


@dataclass(frozen=True)
class InstanceDetail:
    """Everything the instance page shows."""

    instance: object
    title: str
    section: object | None     # the process's own part (its `details` hook); None for a plain process
    org_unit_name: str | None
    tasks: tuple
    comments: tuple[CommentView, ...]
    bpmn_xml: str
    markers: dict
    people: dict      # username → display name, for everyone named on the page
    org_names: dict   # org unit code → name
    extensions: tuple = ()
    casefile: cases.CaseFile | None = None     # every form submitted so far, as this viewer may see it
    timeline: tuple[TimelineEntry, ...] = ()   # what happened, oldest first


@dataclass(frozen=True)
class InstanceSummary:
    """What the API's instance answer carries (the page's content without the diagram, case file and timeline)."""

    instance: object
    title: str
    section: object | None
    org_unit_name: str | None
    tasks: tuple
    comments: tuple[CommentView, ...]


@dataclass(frozen=True)
class TaskPage:
    """Everything the task page shows."""

    task: TaskView
    detail: InstanceDetail
    draft: dict | None
    item: dict            # the multi-instance item the task works on, e.g. {"suggestion": {...}}
    members: tuple        # people pickers offer the members of the instance's org unit
    holders: tuple        # who holds the task's role there (转办 targets)


def visible_instance(session: Session, user: UserView, instance_id: int, with_state: bool = False,
                     with_data: bool = False) -> ProcessInstance:
    """The instance, unless it does not exist (NotFound) or the person may not see it (PermissionDenied);
    `with_state`: its stored state in the same statement, for a page that loads the workflow; `with_data`: its data
    snapshot, for an answer that needs the data alone."""
    options = ([undefer(ProcessInstance.state)] if with_state else []) + \
        ([undefer(ProcessInstance.data_snapshot)] if with_data else [])
    row = session.get(ProcessInstance, instance_id, options=options)
    if row is None:
        raise NotFound(f"没有实例 {instance_id} (no such instance)")
    if not access.can_view_instance(session, user, instance_id):
        raise PermissionDenied("您无权查看此协商事项 (you may not see this instance)")
    return row


def visible_task(session: Session, user: UserView, task_id: str) -> HumanTask:
    """The task, if the person may see its instance."""
    human = session.get(HumanTask, task_id)
    if human is None:
        raise NotFound(f"没有任务 {task_id} (no such task)")
    visible_instance(session, user, human.instance_id)
    return human


def task_page(engine, session: Session, user: UserView, task_id: str) -> TaskPage:
    """The task page: the task, its instance's details and the person's draft, with one workflow load."""
    human = visible_task(session, user, task_id)
    task = engine.task_view(session, human)
    row = session.get(ProcessInstance, human.instance_id)
    parsed, workflow = engine.load(row)
    members = accounts.holders(session, "member", task.org_unit) if task.org_unit else []
    holders = accounts.holders(session, task.role, task.org_unit) if task.role and task.org_unit else []
    return TaskPage(task, _detail(engine, session, user, row, parsed, workflow),
                    inbox.draft_of(session, task_id, user.username), runtime.item_of(workflow, task_id),
                    tuple(members), tuple(holders))


def instance_detail(engine, session: Session, user: UserView, instance_id: int) -> InstanceDetail:
    """The instance page, for a person who may see it, with one workflow load."""
    row = visible_instance(session, user, instance_id, with_state=True)
    parsed, workflow = engine.load(row)
    return _detail(engine, session, user, row, parsed, workflow)


def instance_summary(engine, session: Session, user: UserView, instance_id: int) -> InstanceSummary:
    """The instance with its data, title, section, tasks and comments — what the API answers — restoring no
    workflow (the data from the snapshot the last save wrote)."""
    row = visible_instance(session, user, instance_id, with_data=True)
    hidden = cases.hidden_for(user, engine.parsed_of(session, row.version_id), row)
    data = {k: v for k, v in engine.data_of(row).items() if k not in hidden}
    tasks = tuple(session.scalars(select(HumanTask).where(HumanTask.instance_id == row.id)
                                  .order_by(HumanTask.created_at)))
    name = session.scalar(select(OrgUnit.name).where(OrgUnit.code == row.org_unit_code)) \
        if row.org_unit_code else None
    comments = tuple(CommentView(c.author, c.kind, c.body, c.task_id, c.created_at)
                     for c in inbox.comments(session, row.id))
    title = engine.hooks.title(session, row.id, row.process_id)
    return InstanceSummary(engine.instance_view(session, row, data), title, engine.hooks.details(session, row), name,
                           tasks, comments)


def _detail(engine, session: Session, user: UserView, row: ProcessInstance, parsed, workflow) -> InstanceDetail:
    section = engine.hooks.details(session, row)
    tasks = tuple(session.scalars(select(HumanTask).where(HumanTask.instance_id == row.id)
                                  .order_by(HumanTask.created_at)))
    markers = _markers(workflow, tasks, engine.clock.now())
    names = dict(session.execute(select(OrgUnit.code, OrgUnit.name)).all())
    bpmn = next((data.decode() for path, data in sorted(parsed.bundle.files.items()) if path.endswith(".bpmn")), "")
    comment_rows = inbox.comments(session, row.id)
    view = engine.instance_view(session, row, runtime.instance_data(workflow))
    hidden = cases.hidden_for(user, parsed, row)     # restricted fields (the proposer's contact) stay out of the data
    view = replace(view, data={k: v for k, v in view.data.items() if k not in hidden}) if hidden else view
    case = cases.case_file(session, user, row, parsed, workflow)
    lines = timeline(view.events, case, tasks, {key: info.name for key, info in parsed.elements.items() if info.name})
    named = {n for line in lines for n in line.usernames} | {c.author for c in comment_rows} | \
        {t.assignee for t in tasks} | {t.completed_by for t in tasks} | set(getattr(section, "usernames", ()))
    people = dict(session.execute(select(User.username, User.display_name)
                                  .where(User.username.in_([n for n in named if n]))).all())
    return InstanceDetail(
        view, engine.hooks.title(session, row.id, row.process_id), section, names.get(row.org_unit_code), tasks,
        tuple(CommentView(c.author, c.kind, c.body, c.task_id, c.created_at) for c in comment_rows), bpmn, markers,
        {**case.people, **people}, names, tuple(extensions.of_instance(session, row.id)), case, lines)


def _markers(workflow, tasks, now: datetime) -> dict:
    done, current = set(), set()
    for task in workflow.get_tasks():
        spec_id = getattr(task.task_spec, "bpmn_id", None)
        if not spec_id:
            continue
        if task.has_state(TaskState.COMPLETED):
            done.add(spec_id)
        elif task.has_state(runtime.ACTIVE):
            current.add(spec_id)
    overdue = {t.task_spec for t in tasks if t.status == "ready" and t.due_at and t.due_at < now}
    return {"done": sorted(done - current), "current": sorted(current - overdue), "overdue": sorted(overdue)}
