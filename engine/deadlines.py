"""Step deadlines from the bundle's `deadlines` DMN table (tier × step → duration, reminder lead, escalation grace):
one row per activation of a step, its reminder and two escalation levels, and approved extensions.

Whole days marked `working` are counted by a `WorkingDays` calendar the engine is given (the product's knows the
Chinese holidays); the engine's own, `MONDAY_TO_FRIDAY`, knows only weekends."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Protocol

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bpmn.runtime import ACTIVE, SCRIPT_ENGINE
from engine.bpmn.specs import ParsedBundle
from engine.errors import ScriptError
from engine.store.models import Deadline

DECISION_ID = "deadlines"
MESSAGES = {"remind": "xs_remind", "overdue": "xs_overdue", "escalate": "xs_escalate"}
_DAYS = re.compile(r"^P(\d+)D$")


class WorkingDays(Protocol):
    """A working-day calendar: what the engine asks when a deadline counts working days."""

    def add_working_days(self, session: Session, start: datetime, days: int) -> tuple[datetime, str]:
        """The moment `days` working days after `start`, and the basis the days were counted on."""


class MondayToFriday:
    """The engine's default calendar: Monday to Friday are working days, in the start's own time zone."""

    def add_working_days(self, session: Session, start: datetime, days: int) -> tuple[datetime, str]:
        """`start` plus `days` weekdays (a start at a weekend counts from Monday); basis "working-weekends-only"."""
        if days < 0:
            raise ValueError("days must be >= 0")
        moment = start
        remaining = days if moment.weekday() < 5 else days + 1
        while remaining:
            moment += timedelta(days=1)
            remaining -= moment.weekday() < 5
        return moment, "working-weekends-only"


MONDAY_TO_FRIDAY = MondayToFriday()


@dataclass(frozen=True)
class Times:
    """When a step is due, when to remind, when it escalates to level 2, and how days were counted."""

    due_at: datetime
    remind_at: datetime | None
    escalate_at: datetime | None
    basis: str


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


def _advance(session: Session, start: datetime, iso: str, working: bool,
             calendar: WorkingDays) -> tuple[datetime, str]:
    """`start` + `iso`; whole days count as working days on `calendar` when `working`."""
    match = _DAYS.match(iso)
    if working and match:
        return calendar.add_working_days(session, start, int(match.group(1)))
    return add_duration(start, iso), "calendar"


def times_for(session: Session, parsed: ParsedBundle, tier: str | None, step: int | None,
              start: datetime, calendar: WorkingDays = MONDAY_TO_FRIDAY) -> Times | None:
    """Due, reminder and level-2 escalation times of a step that starts at `start` (working days on `calendar`)."""
    row = lookup(parsed, tier, step)
    if not row or not row.get("duration"):
        return None
    working = str(row.get("unit", "calendar")) == "working"
    due, basis = _advance(session, start, row["duration"], working, calendar)
    remind = subtract_duration(due, row["reminder_lead"]) if row.get("reminder_lead") else None
    escalate = _advance(session, due, row["escalation_grace"], working, calendar)[0] \
        if row.get("escalation_grace") else None
    return Times(due, remind, escalate, basis)


def next_action(row: Deadline) -> datetime | None:
    """The earliest pending moment: the reminder, the deadline (level 1) or the grace's end (level 2)."""
    pending = []
    if row.remind_at is not None and row.reminded_at is None and row.level == 0:
        pending.append(row.remind_at)
    if row.level < 1:
        pending.append(row.due_at)
    if row.level < 2 and row.escalate_at is not None:
        pending.append(row.escalate_at)
    return min(pending) if pending else None


def due_actions(row: Deadline, now: datetime) -> list[str]:
    """What is due now, in order (a late sweep catches up on all of them)."""
    actions = []
    if row.remind_at is not None and row.reminded_at is None and row.level == 0 and row.remind_at < now:
        actions.append("remind")
    if row.level < 1 and row.due_at < now:
        actions.append("overdue")
    if row.level < 2 and row.escalate_at is not None and row.escalate_at < now:
        actions.append("escalate")
    return actions


def active_scopes(workflow, parsed: ParsedBundle) -> dict[str, int]:
    """scope element id → step, for every step that has an active task now."""
    scopes = {}
    for task in workflow.get_tasks(state=ACTIVE):
        info = parsed.elements.get(task.task_spec.bpmn_id)
        if info is not None and info.scope and info.step is not None:
            scopes[info.scope] = info.step
    return scopes


def sync(session: Session, instance, parsed: ParsedBundle, workflow, tier: str | None,
         now: datetime, calendar: WorkingDays = MONDAY_TO_FRIDAY) -> dict[str, Deadline]:
    """Open a deadline for each newly active step, close those of finished steps; returns the open ones by scope."""
    open_rows = {row.scope: row for row in session.scalars(
        select(Deadline).where(Deadline.instance_id == instance.id, Deadline.status == "open"))}
    active = active_scopes(workflow, parsed) if instance.status not in {"completed", "cancelled"} else {}
    for scope, step in active.items():
        if scope in open_rows:
            continue
        times = times_for(session, parsed, tier, step, now, calendar)
        if times is None:
            continue
        row = Deadline(instance_id=instance.id, scope=scope, step=step, tier=tier, started_at=now,
                       due_at=times.due_at, remind_at=times.remind_at, escalate_at=times.escalate_at,
                       level=0, status="open", basis=times.basis)
        row.next_action_at = next_action(row)
        session.add(row)
        open_rows[scope] = row
    for scope in [s for s in open_rows if s not in active]:
        row = open_rows.pop(scope)
        row.status, row.closed_at, row.next_action_at = "closed", now, None
    return open_rows


def extend(session: Session, row: Deadline, days: int, now: datetime,
           calendar: WorkingDays = MONDAY_TO_FRIDAY) -> None:
    """Move a deadline (and its reminder and escalation) by `days`, counted the way the deadline was (working days
    on `calendar`: pass the engine's)."""
    working = row.basis.startswith("working")

    def shift(moment: datetime | None) -> datetime | None:
        if moment is None:
            return None
        return _advance(session, moment, f"P{days}D", working, calendar)[0] if working \
            else moment + timedelta(days=days)

    row.due_at, row.remind_at, row.escalate_at = shift(row.due_at), shift(row.remind_at), shift(row.escalate_at)
    if row.remind_at is not None and row.remind_at > now:
        row.reminded_at = None
    if row.level >= 1 and row.due_at > now:
        row.level = 0 if row.escalate_at is None or row.escalate_at > now else row.level
    row.next_action_at = next_action(row)
