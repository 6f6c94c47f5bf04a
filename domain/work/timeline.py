"""The instance page's timeline: each audit event told as what happened (a decision and its reason, an escalation
and who held the late task, a reassignment from whom to whom), read from the events, the case file and the tasks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.work.casefile import CaseEntry, CaseFile


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the timeline; the page words it per `kind` (an audit event kind)."""

    kind: str
    at: datetime
    actor: str | None
    task_name: str | None = None
    outcome: str | None = None       # a decision's choice as its form words it: 通过, 退回修改, 不予受理
    sent_back: bool = False          # the choice that needs a reason: returned, not approved, declined
    reason: str | None = None
    step: int | None = None
    level: int | None = None
    holders: tuple[str, ...] = ()    # usernames holding the late task when a deadline acted
    roles: tuple[str, ...] = ()      # roles of the late tasks nobody had claimed
    from_user: str | None = None
    to_user: str | None = None
    days: int | None = None
    due: datetime | None = None
    holder: str | None = None        # an urge's holder in words

    @property
    def usernames(self) -> set[str]:
        """Everyone this line names."""
        return {n for n in (self.actor, self.from_user, self.to_user, *self.holders) if n}


def timeline(events, case: CaseFile | None, tasks, element_names: dict | None = None) -> tuple[TimelineEntry, ...]:
    """The events as timeline lines, oldest first; `element_names` names the diagram's elements (a notice's sender)."""
    by_id = {t.id: t for t in tasks}
    return tuple(_entry(event, case, by_id, tasks, element_names or {}) for event in events)


def _entry(event, case: CaseFile | None, by_id: dict, tasks, element_names: dict) -> TimelineEntry:
    detail, kind = event.detail or {}, event.kind
    task = by_id.get(event.task_id)
    name = detail.get("name") or (task.name if task is not None else None) or element_names.get(detail.get("element"))
    base = {"kind": kind, "at": event.at, "actor": event.actor, "task_name": name}
    if kind == "task_completed":
        entry = case.entry_of(event.task_id) if case is not None and event.task_id else None
        outcome, sent_back, reason = decision_of(entry) if entry is not None else (None, False, None)
        return TimelineEntry(**base, outcome=outcome, sent_back=sent_back, reason=reason)
    if kind in {"escalated", "reminder_sent"}:
        holders, roles = _late_holders(detail, event.at, tasks)
        return TimelineEntry(**base, step=detail.get("step"), level=detail.get("level"), holders=holders,
                             roles=roles, due=_moment(detail.get("due")))
    if kind == "task_urged":          # 催办: who was urged (a name, or role and unit), the note
        return TimelineEntry(**base, step=detail.get("step"), holder=detail.get("holder"),
                             reason=detail.get("note") or None)
    if kind == "task_reassigned":
        return TimelineEntry(**base, from_user=detail.get("from"), to_user=detail.get("to"))
    if kind in {"task_returned", "instance_cancelled"}:
        return TimelineEntry(**base, reason=detail.get("reason") or None)
    if kind.startswith("extension_"):
        return TimelineEntry(**base, days=detail.get("days"), reason=detail.get("reason") or None,
                             step=detail.get("step", task.step if task is not None else None),
                             due=_moment(detail.get("due")))
    return TimelineEntry(**base)


def decision_of(entry: CaseEntry) -> tuple[str | None, bool, str | None]:
    """(choice title, whether it is the choice that needs a reason, that reason) of a submitted form.

    Generic: a decision is a choice field that a rule of the form's schema tests (`allOf: [{if, then}]`); when the
    submitted value is the tested one, the fields the rule then requires hold its reason."""
    data = {k: v for k, v in entry.data.items() if k not in entry.hidden}
    first = None
    for rule in entry.schema.get("allOf") or []:
        tests = ((rule.get("if") or {}).get("properties") or {}) if isinstance(rule, dict) else {}
        for field, test in tests.items():
            if field not in data or not isinstance(test, dict) or "const" not in test:
                continue
            if not _choice(entry.schema, field):   # only a choice is a decision (a hall or "other" is not)
                continue
            title = _choice_title(entry.schema, field, data[field])
            if _same(data[field], test["const"]):
                required = (rule.get("then") or {}).get("required") or []
                reason = next((str(data[f]) for f in required if f in data and data[f] not in (None, "")), None)
                return title, True, reason
            first = first or title
    return first, False, None


def _choice(schema: dict, field: str) -> bool:
    prop = schema.get("properties", {}).get(field) or {}
    return bool(prop.get("oneOf") or prop.get("enum"))


def _choice_title(schema: dict, field: str, value) -> str:
    for option in (schema.get("properties", {}).get(field) or {}).get("oneOf") or []:
        if isinstance(option, dict) and "const" in option and _same(option["const"], value):
            return str(option.get("title") or value)
    return str(value)


def _same(a, b) -> bool:
    return type(a) is type(b) and a == b     # JSON's true is not 1


def _late_holders(detail: dict, at: datetime, tasks) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Who held the step's open tasks when its deadline acted: recorded by the sweep; for older events, read from
    the tasks that were open then."""
    if "holders" in detail:
        return tuple(detail.get("holders") or ()), tuple(detail.get("roles") or ())
    step = detail.get("step")
    open_then = [t for t in tasks if step is not None and t.step == step and t.created_at <= at
                 and (t.completed_at is None or t.completed_at > at)]
    holders = sorted({t.completed_by or t.assignee for t in open_then if t.completed_by or t.assignee})
    roles = sorted({t.role for t in open_then if not (t.completed_by or t.assignee) and t.role})
    return tuple(holders), tuple(roles)


def _moment(text) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None
