"""Frozen views the engine returns; never ORM rows or SpiffWorkflow objects."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime


def plain_data(value):
    """A value made JSON-ready: datetimes as ISO strings, tuples as lists, recursively."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_data(v) for v in value]
    return value


class _AsDict:
    def as_dict(self) -> dict:
        """JSON-ready dict (datetimes as ISO strings)."""
        return plain_data(asdict(self))


@dataclass(frozen=True)
class Deployed(_AsDict):
    """Result of a deploy."""

    process_id: str
    version: str
    version_id: int
    created: bool
    number: int = 0      # v1, v2 … within its process


@dataclass(frozen=True)
class TaskView(_AsDict):
    """A human task as a person (or a tool) sees it."""

    id: str
    instance_id: int
    name: str
    task_spec: str
    step: int | None
    lane: str | None
    role: str | None
    org_unit: str | None
    tier: str | None
    candidates: tuple[str, ...]
    assignee: str | None
    due_at: datetime | None
    escalation_level: int
    status: str
    form: dict | None
    instructions: str | None
    revision: int
    ui: dict | None = None
    due_basis: str | None = None     # calendar | working | working-weekends-only (no holiday schedule for that year)
    due_from: str | None = None      # "field=YYYY-MM-DD" when the step's deadline counts from a date of the case
    to_starter: bool = False         # no lane and no role: it went to the person who started the instance
    item_label: str | None = None    # the item of a multi-instance step this task works on


@dataclass(frozen=True)
class NextTask(_AsDict):
    """An open task of an instance that the person who just submitted may act on now."""

    id: str
    name: str
    task_spec: str
    step: int | None
    due_at: datetime | None


@dataclass(frozen=True)
class EventView(_AsDict):
    """One audit event."""

    kind: str
    at: datetime
    actor: str | None
    task_id: str | None
    detail: dict


@dataclass(frozen=True)
class InstanceView(_AsDict):
    """An instance with its data and history."""

    id: int
    process_id: str
    version: str
    status: str
    step: int | None
    tier: str | None
    org_unit: str | None
    data: dict
    events: tuple[EventView, ...]
    next_timer_at: datetime | None
    revision: int
    error: str | None


@dataclass(frozen=True)
class VersionSummary(_AsDict):
    """A deployed version and how many instances use it."""

    process_id: str
    version: str
    deployed_at: datetime
    instances: int
    name: str = ""          # the process's name as its latest diagram gives it (the id when it gives none)


@dataclass(frozen=True)
class InstanceSummary(_AsDict):
    """One line of an instance list."""

    id: int
    process_id: str
    title: str | None
    status: str
    step: int | None
    tier: str | None
    org_unit: str | None
    updated_at: datetime


@dataclass(frozen=True)
class Overview(_AsDict):
    """Counts for the overview page."""

    versions: tuple[VersionSummary, ...]
    instances_by_status: dict
    instances_by_step: dict
    open_tasks: int
    overdue_tasks: int
    recent: tuple[InstanceSummary, ...]


@dataclass(frozen=True)
class StartableProcess(_AsDict):
    """A deployed process a person may start: its latest version, its name and its start form (if any)."""

    process_id: str
    name: str
    version: str
    form: dict | None = None
    ui: dict | None = None
