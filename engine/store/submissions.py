"""Submitted forms, one row per submission (the start form and every completed user task), kept for the case file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.bpmn.specs import ParsedBundle
from engine.store.db import Base, UTCDateTime


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
    """Keep one submission of the form on `spec_id` (the start event's when `task_id` is None)."""
    info = parsed.elements.get(spec_id)
    session.add(TaskSubmission(instance_id=instance_id, task_id=task_id, task_spec=spec_id,
                               name=(info.name if info and info.name else spec_id), item_label=item_label,
                               step=info.step if info else None,
                               data=dict(data), actor=actor, submitted_at=at))


def of_instance(session: Session, instance_id: int) -> list[SubmissionView]:
    """Every recorded submission of an instance, oldest first."""
    rows = session.scalars(select(TaskSubmission).where(TaskSubmission.instance_id == instance_id)
                           .order_by(TaskSubmission.id))
    return [SubmissionView(r.task_id, r.task_spec, r.name, r.item_label, r.step, r.data or {}, r.actor,
                           r.submitted_at) for r in rows]
