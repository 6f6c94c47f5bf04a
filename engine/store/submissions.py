"""Submitted forms, one row per submission (the start form and every completed user task), kept for the case file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import JSON, ForeignKey, Integer, String, exists, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.bpmn import runtime
from engine.bpmn.specs import ParsedBundle
from engine.store import statements, versions
from engine.store.db import Base, UTCDateTime
from engine.store.models import HumanTask, ProcessInstance


class TaskSubmission(Base):
    """What one person submitted on one form: the cleaned data as the engine accepted it, who and when."""

    __tablename__ = "task_submission"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))     # None for the start form
    task_spec: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    item_label: Mapped[str | None] = mapped_column(String(120))
    step: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[dict] = mapped_column(JSON)
    actor: Mapped[str | None] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class SubmissionView:
    """One submitted form as the case file reads it."""

    task_id: str | None
    task_spec: str
    name: str
    item_label: str | None
    step: int | None
    data: dict
    actor: str | None
    submitted_at: datetime


def record(session: Session, instance_id: int, parsed: ParsedBundle, spec_id: str, data: dict, actor: str | None,
           at: datetime, task_id: str | None = None, item_label: str | None = None) -> None:
    """Keep one submission of the form on `spec_id` (the start event's when `task_id` is None), written with the
    command's save (`statements.insert_pending`)."""
    info = parsed.elements.get(spec_id)
    statements.insert_later(session, TaskSubmission.__table__, {
        "instance_id": instance_id, "task_id": task_id, "task_spec": spec_id,
        "name": info.name if info and info.name else spec_id, "item_label": item_label,
        "step": info.step if info else None, "data": dict(data), "actor": actor, "submitted_at": at})


def of_instance(session: Session, instance_id: int) -> list[SubmissionView]:
    """Every recorded submission of an instance, oldest first."""
    rows = session.scalars(select(TaskSubmission).where(TaskSubmission.instance_id == instance_id)
                           .order_by(TaskSubmission.id))
    return [SubmissionView(r.task_id, r.task_spec, r.name, r.item_label, r.step, r.data or {}, r.actor,
                           r.submitted_at) for r in rows]


def from_state(session: Session, row: ProcessInstance, parsed: ParsedBundle, workflow) -> list[SubmissionView]:
    """For an instance started before submissions were recorded: its start form and each completed task the
    projection names, with the form's fields from the (loaded) workflow's task data, oldest first."""
    found = []
    start_schema, _ = versions.start_form(parsed)
    start_id = parsed.spec.start.outputs[0].bpmn_id if parsed.spec.start.outputs else None
    start = next(iter(workflow.get_tasks(state=TaskState.COMPLETED, spec_name=start_id)), None) if start_schema \
        else None
    if start is not None:
        found.append(_view(parsed, None, start_id, None, start.data, start_schema, row.started_by, row.created_at))
    done = session.scalars(select(HumanTask).where(HumanTask.instance_id == row.id, HumanTask.status == "completed",
                                                   HumanTask.completed_by.isnot(None))
                           .order_by(HumanTask.completed_at, HumanTask.created_at))
    for human in done:
        task, schema = runtime.find_task(workflow, human.id), parsed.form(human.task_spec)[0]
        if task is not None and schema:
            found.append(_view(parsed, human.id, human.task_spec, human.item_label, task.data, schema,
                               human.completed_by, human.completed_at))
    return found


def backfill(session: Session, row: ProcessInstance, parsed: ParsedBundle, workflow) -> int:
    """Record an older instance's submissions from its state (once: none may be recorded yet); returns how many."""
    if session.scalar(select(exists().where(TaskSubmission.instance_id == row.id))):
        return 0
    found = from_state(session, row, parsed, workflow)
    session.add_all(TaskSubmission(instance_id=row.id, task_id=s.task_id, task_spec=s.task_spec, name=s.name,
                                   item_label=s.item_label, step=s.step, data=s.data, actor=s.actor,
                                   submitted_at=s.submitted_at) for s in found)
    return len(found)


def _view(parsed, task_id, spec_id, item_label, data, schema, actor, at) -> SubmissionView:
    info = parsed.elements.get(spec_id)
    fields = schema.get("properties") or {}
    return SubmissionView(task_id, spec_id, (info.name if info and info.name else spec_id), item_label,
                          info.step if info else None, {k: v for k, v in data.items() if k in fields}, actor, at)
