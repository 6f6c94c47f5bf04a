"""The deadline rules in words: for each step and tier, which tasks it covers, what the days are counted from, how
many (working or calendar) days, when the reminder goes out and whom the two escalation levels reach. Read from the
deadline table the engine applies (processes/<name>/deadlines.dmn), so the page and the engine cannot disagree."""

from __future__ import annotations

import re
from dataclasses import dataclass

from domain.people.policy import ESCALATION_LADDER
from domain.people.roles import TIER_KINDS
from engine import deadlines

TIERS = tuple(TIER_KINDS)                       # county, committee, township
_DAYS = re.compile(r"^P(\d+)D$")
_HOURS = re.compile(r"^PT(\d+)H$")


@dataclass(frozen=True)
class Span:
    """A duration as written (P5D) and read (5 days; None when it is no whole number of days or hours)."""

    iso: str
    days: int | None
    hours: int | None


@dataclass(frozen=True)
class TaskDue:
    """A task whose own due date is a field a person set in an earlier form (e.g. a supervisor's time limit)."""

    task: str
    field: str
    field_title: str


@dataclass(frozen=True)
class RuleRow:
    """One step at one tier: the rule that applies (the table's first match)."""

    step: int
    tier: str
    tasks: tuple[str, ...]
    counted_from: str               # "step" | "task" | "field"
    field: str | None               # the case's date field when counted_from == "field"
    field_title: str | None
    duration: Span
    working: bool
    reminder_lead: Span | None
    escalation_grace: Span | None
    description: str
    ladder: tuple[str, str, str]    # whom the reminder, level 1 and level 2 reach (audience codes)


@dataclass(frozen=True)
class ProcessRules:
    """A process's deadline rules, step by step."""

    process_id: str
    rows: tuple[RuleRow, ...]
    own_dues: tuple[TaskDue, ...]


def span(iso: str | None) -> Span | None:
    """A duration of the table, read."""
    if not iso:
        return None
    days, hours = _DAYS.match(iso), _HOURS.match(iso)
    return Span(iso, int(days.group(1)) if days else None, int(hours.group(1)) if hours else None)


def _first(rules: tuple[deadlines.Rule, ...], tier: str, step: int) -> deadlines.Rule | None:
    return next((r for r in rules if (not r.tiers or tier in r.tiers) and (not r.steps or step in r.steps)), None)


def process_rules(table: deadlines.Table) -> ProcessRules:
    """Every step × tier of a process's deadline table, as the engine will apply it."""
    steps = sorted(set(table.tasks) | {s for r in table.rules for s in r.steps})
    rows = []
    for step in steps:
        names = tuple(name for _, name, _ in table.tasks.get(step, ()))
        for tier in TIERS:
            rule = _first(table.rules, tier, step)
            if rule is None:
                continue
            field = rule.counted_from if rule.counted_from not in {deadlines.FROM_STEP, deadlines.FROM_TASK} else None
            rows.append(RuleRow(step, tier, names, "field" if field else rule.counted_from, field,
                                _title(table, field) if field else None, span(rule.duration),
                                rule.unit == "working", span(rule.reminder_lead), span(rule.escalation_grace),
                                rule.description, ESCALATION_LADDER))
    own = tuple(TaskDue(name, due, _title(table, due) or due)
                for step in sorted(table.tasks) for _, name, due in table.tasks[step] if due)
    return ProcessRules(table.process_id, tuple(rows), own)


def _title(table: deadlines.Table, field: str) -> str | None:
    title = (table.fields.get(field) or {}).get("title")
    return str(title) if title else None


def field_title(engine, field: str) -> str | None:
    """The title a deployed form gives a case date field a deadline counts from (for the task page), or None."""
    return next((title for t in engine.deadline_tables() if (title := _title(t, field))), None)


def all_rules(engine) -> list[ProcessRules]:
    """The rules of every deployed process that has a deadline table."""
    return [process_rules(t) for t in engine.deadline_tables() if t.rules]
