"""Step deadlines from the bundle's `deadlines` DMN table (tier × step → duration, reminder lead, escalation grace,
what the days are counted from): one row per activation of a step, its reminder and two escalation levels, and
approved extensions.

A rule counts from `step` (the step starts: the default), from `task` (the step's first task is created, so a wait
inside the step, such as a timer before a visit, is not charged to the people who act after it), or from a date field
of the case's own data (e.g. a meeting date a plan set: due N days after that day, even when that is already past).

Whole days marked `working` are counted by a `WorkingDays` calendar the engine is given (the product's knows the
Chinese holidays); the engine's own, `MONDAY_TO_FRIDAY`, knows only weekends."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from typing import Protocol

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine.bpmn.runtime import ACTIVE, SCRIPT_ENGINE, ready_user_tasks, script_error
from engine.bpmn.specs import ParsedBundle
from engine.clock import LOCAL_TZ
from engine.store.models import Deadline

DECISION_ID = "deadlines"
FROM_STEP, FROM_TASK = "step", "task"      # the other `counted_from` values name a date field of the case's data
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
    counted_from: str | None = None     # "field=YYYY-MM-DD" when a case date set the start, else None


@dataclass(frozen=True)
class Rule:
    """One row of the deadline table, as written (the /deadlines page lists them)."""

    tiers: tuple[str, ...]          # empty: every tier
    steps: tuple[int, ...]          # empty: every step
    duration: str
    reminder_lead: str | None
    escalation_grace: str | None
    unit: str
    counted_from: str
    description: str


def _literal(text: str | None) -> str | None:
    text = (text or "").strip()
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else (text or None)


def _entry_values(text: str | None) -> tuple[str, ...]:
    """A DMN input entry's listed values ("-" or empty: any)."""
    text = (text or "").strip()
    if text in {"", "-"}:
        return ()
    return tuple(_literal(part) for part in text.split(",") if part.strip())


def rules(parsed: ParsedBundle) -> list[Rule]:
    """Every row of the bundle's deadline table, in order (the first matching row applies)."""
    table = parsed.decisions.get(DECISION_ID)
    if table is None:
        return []
    inputs = [entry.input.expression or "" for entry in table.rules[0].inputEntries] if table.rules else []
    listed = []
    for rule in table.rules:
        keyed = {inp.strip(): _entry_values(entry.text) for inp, entry in zip(inputs, rule.inputEntries, strict=False)}
        out = {entry.output.name: _literal(entry.text) for entry in rule.outputEntries}
        if not out.get("duration"):
            continue
        listed.append(Rule(tuple(keyed.get("tier", ())), tuple(int(v) for v in keyed.get("step", ())),
                           out["duration"], out.get("reminder_lead"), out.get("escalation_grace"),
                           out.get("unit") or "calendar", out.get("counted_from") or FROM_STEP,
                           (rule.description or "").strip()))
    return listed


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
        raise script_error(DECISION_ID, str(exc).split("\n")[0], exc) from None


def _advance(session: Session, start: datetime, iso: str, working: bool,
             calendar: WorkingDays) -> tuple[datetime, str]:
    """`start` + `iso`; whole days count as working days on `calendar` when `working`."""
    match = _DAYS.match(iso)
    if working and match:
        return calendar.add_working_days(session, start, int(match.group(1)))
    return add_duration(start, iso), "calendar"


def times_for(session: Session, parsed: ParsedBundle, tier: str | None, step: int | None,
              start: datetime, calendar: WorkingDays = MONDAY_TO_FRIDAY, data: dict | None = None) -> Times | None:
    """Due, reminder and level-2 escalation times of a step that starts at `start` (working days on `calendar`);
    a rule counted from a date field of `data` counts from the end of that day instead, when the field holds a date."""
    row = lookup(parsed, tier, step)
    if not row or not row.get("duration"):
        return None
    counted_from = None
    field = str(row.get("counted_from") or FROM_STEP)
    if field not in {FROM_STEP, FROM_TASK}:
        day = case_date((data or {}).get(field))
        if day is not None:
            start = datetime.combine(day, time(23, 59, 59), LOCAL_TZ)
            counted_from = f"{field}={day.isoformat()}"
    working = str(row.get("unit", "calendar")) == "working"
    due, basis = _advance(session, start, row["duration"], working, calendar)
    remind = subtract_duration(due, row["reminder_lead"]) if row.get("reminder_lead") else None
    escalate = _advance(session, due, row["escalation_grace"], working, calendar)[0] \
        if row.get("escalation_grace") else None
    return Times(due, remind, escalate, basis, counted_from)


def case_date(value) -> date | None:
    """A date a form stored (ISO text or a date), or None."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def counts_from_task(parsed: ParsedBundle, tier: str | None, step: int | None) -> bool:
    """Whether the step's deadline waits for its first task (a rule counted from `task`)."""
    row = lookup(parsed, tier, step)
    return bool(row) and str(row.get("counted_from") or FROM_STEP) == FROM_TASK


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
    return {scope: step for scope, (step, _) in _scope_tasks(workflow, parsed, ACTIVE).items()}


def _scope_tasks(workflow, parsed: ParsedBundle, state) -> dict[str, tuple[int, list]]:
    """scope element id → (step, its tasks in `state`)."""
    scopes: dict[str, tuple[int, list]] = {}
    for task in workflow.get_tasks(state=state):
        info = parsed.elements.get(task.task_spec.bpmn_id)
        if info is not None and info.scope and info.step is not None:
            scopes.setdefault(info.scope, (info.step, []))[1].append(task)
    return scopes


# the open deadlines of an instance: read on every save, so the statement is built once
_READ = "xieshang.open_deadlines_read"     # session.info key: an instance's open deadlines read before its save


def read_open_deadlines(session: Session, instance_id: int, rows: list[Deadline]) -> None:
    """The instance's open deadlines, just read in this session by a caller whose save checks the instance's revision
    first (any change to its deadlines bumps the revision): the next `sync` uses them instead of a query."""
    session.info[(_READ, instance_id)] = rows


_OPEN = select(Deadline).where(Deadline.instance_id == bindparam("instance_id"), Deadline.status == "open")


def sync(session: Session, instance, parsed: ParsedBundle, workflow, tier: str | None,
         now: datetime, calendar: WorkingDays = MONDAY_TO_FRIDAY) -> dict[str, Deadline]:
    """Open a deadline for each newly active step, close those of finished steps; returns the open ones by scope."""
    known = session.info.pop((_READ, instance.id), None)
    if known is None:
        known = session.scalars(_OPEN, {"instance_id": instance.id})
    open_rows = {row.scope: row for row in known if row.status == "open"}
    finished = instance.status in {"completed", "cancelled"}
    active = _scope_tasks(workflow, parsed, ACTIVE) if not finished else {}
    ready = {str(task.id) for task in ready_user_tasks(workflow)} if active else set()
    for scope, (step, tasks) in active.items():
        if scope in open_rows:
            continue
        if counts_from_task(parsed, tier, step) and not any(str(t.id) in ready for t in tasks):
            continue        # the step is waiting (e.g. a timer): its clock starts with its first task
        data = next((t.data for t in tasks if str(t.id) in ready), tasks[0].data if tasks else {})
        times = times_for(session, parsed, tier, step, now, calendar, data)
        if times is None:
            continue
        row = Deadline(instance_id=instance.id, scope=scope, step=step, tier=tier, started_at=now,
                       due_at=times.due_at, remind_at=times.remind_at, escalate_at=times.escalate_at,
                       level=0, status="open", basis=times.basis, counted_from=times.counted_from)
        row.next_action_at = next_action(row)
        session.add(row)
        open_rows[scope] = row
    for scope in [s for s in open_rows if s not in active]:
        row = open_rows.pop(scope)
        row.status, row.closed_at, row.next_action_at = "closed", now, None
    return open_rows


def extended(session: Session, moment: datetime, days: int, now: datetime, basis: str,
             calendar: WorkingDays = MONDAY_TO_FRIDAY) -> datetime:
    """A due moment `days` later, counted as `basis` says (working days on `calendar`): from `moment` while it is
    still ahead, else from `now`, so an extension never lands in the past."""
    start = moment if moment > now else now
    if basis.startswith("working"):
        return _advance(session, start, f"P{days}D", True, calendar)[0]
    return start + timedelta(days=days)


def extend(session: Session, row: Deadline, days: int, now: datetime,
           calendar: WorkingDays = MONDAY_TO_FRIDAY) -> None:
    """Grant `days` more days, counted the way the deadline was (working days on `calendar`: pass the engine's):
    from the old due moment while it is still ahead, else from `now` (the approval), so an extension of an overdue
    step never lands in the past. The reminder and the escalation keep their distance to the due moment (shifted
    the same way while the due moment is ahead)."""
    old_due = row.due_at
    row.due_at = extended(session, old_due, days, now, row.basis, calendar)
    if old_due > now:
        row.remind_at, row.escalate_at = (None if moment is None else extended(session, moment, days, moment,
                                                                                row.basis, calendar)
                                          for moment in (row.remind_at, row.escalate_at))
    else:
        row.remind_at = None if row.remind_at is None else row.due_at - (old_due - row.remind_at)
        row.escalate_at = None if row.escalate_at is None else row.due_at + (row.escalate_at - old_due)
    if row.remind_at is not None and row.remind_at > now:
        row.reminded_at = None
    if row.level >= 1 and row.due_at > now:
        row.level = 0 if row.escalate_at is None or row.escalate_at > now else row.level
    row.next_action_at = next_action(row)


@dataclass(frozen=True)
class Table:
    """A process's deadline rules with what they apply to: the user tasks of each step (element id, name, its own
    `dueDate` field if any) and the JSON schema the forms give the case date fields the rules count from."""

    process_id: str
    rules: tuple[Rule, ...]
    tasks: dict[int, tuple[tuple[str, str, str | None], ...]]
    fields: dict[str, dict]


def table(parsed: ParsedBundle) -> Table:
    """The deadline table of a parsed bundle, for people to read."""
    listed = tuple(rules(parsed))
    tasks: dict[int, list[tuple[str, str, str | None]]] = {}
    for info in parsed.elements.values():
        step = info.properties.get("step")
        if info.tag == "userTask" and step is not None and step.strip().isdigit():
            tasks.setdefault(int(step), []).append((info.id, info.name or info.id, info.properties.get("dueDate")))
    fields = {r.counted_from for r in listed} - {FROM_STEP, FROM_TASK}
    fields |= {due for step_tasks in tasks.values() for _, _, due in step_tasks if due}
    schemas = {name: schema for name in sorted(fields) if (schema := parsed.field_schema(name))}
    return Table(parsed.process_id, listed, {k: tuple(v) for k, v in sorted(tasks.items())}, schemas)
