"""Read-only queries over the projections (never deserializing workflows)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from engine.hooks import HookRegistry
from engine.store import directory, keyset
from engine.store.models import Deadline, HumanTask, ProcessInstance, ProcessVersion
from engine.store.versions import VersionCache
from engine.views import InstanceSummary, Overview, TaskView, VersionSummary


def _views(session: Session, cache: VersionCache, rows: list[HumanTask], roles: Collection[str]) -> list[TaskView]:
    pending = {(r.role, r.org_unit_code) for r in rows if not r.assignee}
    holders = directory.holders(session, pending)
    instance_ids = {r.instance_id for r in rows}
    instances = {i.id: i for i in session.execute(
        select(ProcessInstance.id, ProcessInstance.version_id, ProcessInstance.revision)
        .where(ProcessInstance.id.in_(instance_ids)))} if instance_ids else {}
    version_ids = {i.version_id for i in instances.values()}
    parsed = {version_id: cache.by_id(version_id) for version_id in version_ids}     # no query once read
    missing = [version_id for version_id, bundle in parsed.items() if bundle is None]
    if missing:
        parsed.update({v.id: cache.for_version(v) for v in session.scalars(
            select(ProcessVersion).where(ProcessVersion.id.in_(missing)))})
    bases = {(d.instance_id, d.step): (d.basis, d.counted_from) for d in session.execute(
        select(Deadline.instance_id, Deadline.step, Deadline.basis, Deadline.counted_from)
        .where(Deadline.instance_id.in_(instance_ids), Deadline.status == "open"))} if instance_ids else {}
    views = []
    for row in rows:
        instance = instances[row.instance_id]
        bundle = parsed[instance.version_id]
        schema, ui, _ = bundle.form(row.task_spec)
        info = bundle.elements.get(row.task_spec)
        candidates = (row.assignee,) if row.assignee else tuple(holders.get((row.role, row.org_unit_code), ()))
        views.append(TaskView(
            id=row.id, instance_id=row.instance_id, name=row.name, task_spec=row.task_spec, step=row.step,
            lane=row.lane, role=row.role, org_unit=row.org_unit_code, tier=row.tier, candidates=candidates,
            assignee=row.assignee, due_at=row.due_at, escalation_level=row.escalation_level, status=row.status,
            form=schema, instructions=info.instructions if info else None, revision=instance.revision, ui=ui,
            due_basis=bases.get((row.instance_id, row.step), (None, None))[0],
            due_from=bases.get((row.instance_id, row.step), (None, None))[1],
            to_starter=bool(info and info.to_starter(roles)), item_label=row.item_label))
    return views


def task_view(session: Session, cache: VersionCache, row: HumanTask, roles: Collection[str]) -> TaskView:
    """One human task as a view (`roles`: the directory's, to tell the tasks that went to the starter)."""
    return _views(session, cache, [row], roles)[0]


def _inbox_branches(session: Session, username: str, columns) -> list:
    """One indexed SELECT per way a task reaches `username`: assigned to them, or claimable through a membership.

    An OR over (role, org unit) pairs would make SQLite walk every open task; separate branches use the indexes.
    """
    branches = [select(*columns).where(HumanTask.status == "ready", HumanTask.assignee == username)]
    for role, org_unit in sorted(directory.memberships_of(session, username)):
        branches.append(select(*columns).where(HumanTask.status == "ready", HumanTask.role == role,
                                               HumanTask.org_unit_code == org_unit, HumanTask.assignee.is_(None)))
    return branches


def inbox_filter(session: Session, username: str):
    """SQL condition: open tasks assigned to `username` or claimable through one of their memberships."""
    return HumanTask.id.in_(union_all(*_inbox_branches(session, username, (HumanTask.id,))).scalar_subquery())


def list_tasks(session: Session, cache: VersionCache, actor: str | None, instance_id: int | None,
               roles: Collection[str], limit: int = 500, after: tuple | None = None) -> list[TaskView]:
    """Ready tasks, optionally only those `actor` may act on and/or of one instance; soonest due first (those
    without a due time last, then by id), at most `limit`, after the task whose `task_key` is `after`."""
    columns = (HumanTask.id, HumanTask.due_at)
    if actor is None:
        branches = [select(*columns).where(HumanTask.status == "ready")]
    else:   # sort the narrow union of the indexed branches, then fetch only the page's rows
        branches = _inbox_branches(session, actor, columns)
    if instance_id is not None:
        branches = [b.where(HumanTask.instance_id == instance_id) for b in branches]
    matches = (branches[0] if len(branches) == 1 else union_all(*branches)).subquery()
    keys = [keyset.Key(keyset.flag(matches.c.due_at.is_(None)), False, "bool"),
            keyset.Key(matches.c.due_at, False, "time"), keyset.Key(matches.c.id, False, "str")]
    query = select(matches.c.id).order_by(*keyset.order(keys)).limit(limit)
    if after is not None:
        query = query.where(keyset.beyond(keys, list(after)))
    ids = list(session.scalars(query))
    rows = {row.id: row for row in session.scalars(select(HumanTask).where(HumanTask.id.in_(ids)))} if ids else {}
    return _views(session, cache, [rows[i] for i in ids], roles)


def task_key(view: TaskView) -> tuple:
    """Where a task sorts in `list_tasks`: pass the last one's as `after` for the next tasks."""
    return int(view.due_at is None), view.due_at, view.id


def overdue(session: Session, now, org_units: list[str] | None = None, limit: int = 100) -> list[HumanTask]:
    """Open tasks past their due date (optionally within some org units), most overdue first."""
    query = select(HumanTask).where(HumanTask.status == "ready", HumanTask.due_at < now)
    if org_units is not None:
        query = query.where(HumanTask.org_unit_code.in_(org_units))
    return list(session.scalars(query.order_by(HumanTask.due_at).limit(limit)))


def overview(session: Session, now, visible=None, hooks: HookRegistry | None = None) -> Overview:
    """Counts for the overview page: versions, instances by status and step, open and overdue tasks; the recent
    instances only among `visible` (an SQL condition on ProcessInstance: those the reader may see), if given."""
    hooks = hooks if hooks is not None else HookRegistry()
    names = hooks.process_names(session)
    versions = [VersionSummary(v.process_id, v.content_hash[:12], v.created_at, count or 0,
                               names.get(v.process_id, v.process_id)) for v, count in
                session.execute(select(ProcessVersion, func.count(ProcessInstance.id))
                                .outerjoin(ProcessInstance, ProcessInstance.version_id == ProcessVersion.id)
                                .group_by(ProcessVersion.id).order_by(ProcessVersion.id.desc()).limit(20))]
    by_status = dict(session.execute(select(ProcessInstance.status, func.count())
                                     .group_by(ProcessInstance.status)).all())
    by_step = dict(session.execute(select(ProcessInstance.step, func.count())
                                   .where(ProcessInstance.status.in_(["running", "waiting"]))
                                   .group_by(ProcessInstance.step)).all())
    open_tasks = session.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.status == "ready"))
    late = session.scalar(select(func.count()).select_from(HumanTask)
                          .where(HumanTask.status == "ready", HumanTask.due_at < now))
    recent_query = select(ProcessInstance)
    if visible is not None:      # titles only of the instances the person may see
        recent_query = recent_query.where(visible)
    rows = session.scalars(recent_query.order_by(ProcessInstance.updated_at.desc()).limit(20)).all()
    titles = hooks.titles(session, [(i.id, i.process_id) for i in rows])
    recent = [InstanceSummary(i.id, i.process_id, titles[i.id], i.status, i.step, i.tier, i.org_unit_code,
                              i.updated_at) for i in rows]
    return Overview(tuple(versions), by_status, by_step, open_tasks, late, tuple(recent))
