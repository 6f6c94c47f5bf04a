"""Due dates of human tasks from the bundle's `deadlines` DMN table (tier × step → durations)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.exceptions import SpiffWorkflowException

from .errors import ScriptError
from .runtime import SCRIPT_ENGINE
from .specs import ParsedBundle

DECISION_ID = "deadlines"


@dataclass(frozen=True)
class Deadline:
    """When a task is due, when to remind its assignee, and when it escalates to level 2."""

    due_at: datetime
    remind_at: datetime | None
    escalate_at: datetime | None


def add_duration(start: datetime, iso: str) -> datetime:
    """`start` plus an ISO-8601 duration such as P5D or PT12H (calendar time)."""
    parsed = TimerEventDefinition.parse_iso_duration(iso)
    return start + TimerEventDefinition.get_timedelta_from_start(parsed, start)


def subtract_duration(end: datetime, iso: str) -> datetime:
    """`end` minus an ISO-8601 duration."""
    parsed = TimerEventDefinition.parse_iso_duration(iso)
    return end - TimerEventDefinition.get_timedelta_from_end(parsed, end)


def lookup(parsed: ParsedBundle, tier: str | None, step: int | None) -> dict | None:
    """The deadline row for tier × step, or None when the bundle has no deadline table."""
    table = parsed.decisions.get(DECISION_ID)
    if table is None or step is None:
        return None
    task = SimpleNamespace(data={"tier": tier, "step": step}, task_spec=SimpleNamespace(bpmn_id=DECISION_ID),
                           workflow=SimpleNamespace(script_engine=SCRIPT_ENGINE))
    try:
        return DMNEngine(table).result(task) or None
    except SpiffWorkflowException as exc:
        raise ScriptError(DECISION_ID, str(exc).split("\n")[0]) from None


def deadline_for(parsed: ParsedBundle, tier: str | None, step: int | None, start: datetime) -> Deadline | None:
    """Compute a task's deadline from the moment it became ready."""
    row = lookup(parsed, tier, step)
    if not row or not row.get("duration"):
        return None
    due = add_duration(start, row["duration"])
    remind = subtract_duration(due, row["reminder_lead"]) if row.get("reminder_lead") else None
    escalate = add_duration(due, row["escalation_grace"]) if row.get("escalation_grace") else None
    return Deadline(due, remind, escalate)
