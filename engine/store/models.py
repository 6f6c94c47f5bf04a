"""The engine's tables: directory (org units, users, memberships), process versions, instances, human tasks,
audit events, outbox messages and step deadlines. Areas outside the engine keep their tables in their own models."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, desc
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.db import Base, UTCDateTime


class OrgUnit(Base):
    """County CPPCC, committee, sector group, township, village hall or department."""

    __tablename__ = "org_unit"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    tier: Mapped[str | None] = mapped_column(String(20))


class User(Base):
    """A person who signs in."""

    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    member_kind: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Sessions and API tokens carry the generation they were made in; bumping it ends all of them at once.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Membership(Base):
    """A role a user holds within an org unit."""

    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint("user_id", "role", "org_unit_id"),
        Index("ix_membership_role_org", "role", "org_unit_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(30))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id", ondelete="CASCADE"))


class ProcessVersion(Base):
    """An immutable deployed bundle (BPMN + DMN + forms), keyed by its content hash."""

    __tablename__ = "process_version"
    __table_args__ = (UniqueConstraint("process_id", "content_hash"), UniqueConstraint("process_id", "number"))
    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(100), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    files: Mapped[dict] = mapped_column(JSON, deferred=True)     # read only when a version is first parsed
    deployed_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    number: Mapped[int] = mapped_column(Integer, default=0, server_default="0")    # v1, v2 … within its process
    note: Mapped[str] = mapped_column(String(500), default="", server_default="")   # what its author changed


class ProcessDraft(Base):
    """The one editable copy of a process's files (BPMN, DMN, forms) until it is deployed or discarded."""

    __tablename__ = "process_draft"
    process_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    files: Mapped[dict] = mapped_column(JSON)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    base_version_id: Mapped[int | None] = mapped_column(ForeignKey("process_version.id", ondelete="SET NULL"))
    updated_by: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProcessInstance(Base):
    """One running (or finished) process, its serialized state pinned to a version."""

    __tablename__ = "process_instance"
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), index=True)
    state: Mapped[str] = mapped_column(Text, deferred=True)         # loaded only when the workflow is needed
    # the data the instance carries after its last save (statecodec-packed JSON), so showing an instance needs no
    # workflow restored; NULL for rows saved before it existed (they are shown from their state)
    data_snapshot: Mapped[str | None] = mapped_column(Text, deferred=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    next_timer_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    step: Mapped[int | None] = mapped_column(Integer)
    tier: Mapped[str | None] = mapped_column(String(20))
    org_unit_code: Mapped[str | None] = mapped_column(String(64), index=True)
    started_by: Mapped[str | None] = mapped_column(String(64), index=True)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __mapper_args__ = {"version_id_col": revision}   # optimistic concurrency: stale writes fail


class HumanTask(Base):
    """Projection of a ready (or finished) user task, rewritten on every save; inbox queries read it."""

    __tablename__ = "human_task"
    __table_args__ = (
        Index("ix_human_task_open_role", "status", "role", "org_unit_code", "due_at"),
        Index("ix_human_task_open_assignee", "status", "assignee", "due_at", "id"),     # inbox pages keyed (due, id)
        Index("ix_human_task_claimable", "status", "role", "org_unit_code", "assignee", "due_at", "id"),
        Index("ix_human_task_open_due", "status", "due_at", "id", "org_unit_code"),  # overdue lists keyed (due, id)
        Index("ix_human_task_open_unit", "status", "org_unit_code", "due_at"),           # the board's matrix
        Index("ix_human_task_instance_open", "instance_id", "status", "org_unit_code", "due_at"),   # … on cases
        Index("ix_human_task_done_by", "completed_by", "status", "completed_at", "id", "instance_id"),
        Index("ix_human_task_spec_done", "task_spec", "status", "completed_at", "instance_id"),   # figures
        Index("ix_human_task_completed", "completed_at", "step", "status", "due_at", "instance_id"),
        Index("ix_human_task_created", "created_at", "step", "due_at", "completed_at"),
        Index("ix_human_task_step_span", "instance_id", "step", "created_at", "completed_at"),
        Index("ix_human_task_open_created", "status", "created_at", "due_at", "step", "tier", "instance_id"),  # heatmap
        # lists of open tasks sorted most urged / most extended first, paged by (count, due, id)
        Index("ix_human_task_open_urges", "status", desc("urges"), "due_at", "id"),
        Index("ix_human_task_open_extensions", "status", desc("extensions"), "due_at", "id"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    task_spec: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    item_label: Mapped[str | None] = mapped_column(String(120))    # which item of a multi-instance step, in words
    step: Mapped[int | None] = mapped_column(Integer)
    lane: Mapped[str | None] = mapped_column(String(100))
    role: Mapped[str | None] = mapped_column(String(30))
    org_unit_code: Mapped[str | None] = mapped_column(String(64))
    tier: Mapped[str | None] = mapped_column(String(20))
    assignee: Mapped[str | None] = mapped_column(String(64))
    form: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalate_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(64))
    urges: Mapped[int] = mapped_column(Integer, default=0, server_default="0")          # times someone chased it
    extensions: Mapped[int] = mapped_column(Integer, default=0, server_default="0")     # its approved extensions


class AuditEvent(Base):
    """Who did what to an instance, and when."""

    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class OutboxMessage(Base):
    """A side effect requested by a service task, delivered later, at most once per idempotency key."""

    __tablename__ = "outbox_message"
    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    operator: Mapped[str] = mapped_column(String(50))
    channel: Mapped[str] = mapped_column(String(20), default="inapp")
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recipient: Mapped[str | None] = mapped_column(String(300))


class Deadline(Base):
    """The deadline of one activation of a step (or of a task that is its own step), and where it stands."""

    __tablename__ = "deadline"
    __table_args__ = (Index("ix_deadline_open_next", "status", "next_action_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(100))           # the element that carries the `step` property
    step: Mapped[int | None] = mapped_column(Integer)
    tier: Mapped[str | None] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalate_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    level: Mapped[int] = mapped_column(Integer, default=0)      # 0 none, 1 tier supervisor, 2 county leadership
    status: Mapped[str] = mapped_column(String(20), default="open")
    next_action_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    basis: Mapped[str] = mapped_column(String(30), default="calendar")   # calendar | working | working-weekends-only
    counted_from: Mapped[str | None] = mapped_column(String(80))   # "field=YYYY-MM-DD": a case date set the start
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
