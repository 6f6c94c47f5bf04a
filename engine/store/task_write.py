"""A save's human-task rows written in one statement, with their kept counts moved explicitly.

The rows a save adds and the rows it closes (or whose due times move) go to the database as one multi-row
`INSERT … ON CONFLICT (id) DO UPDATE` of the columns a save changes: a new row is inserted, a known one updated. The
ORM's unit of work would spend several times as long on the same two statements, and its flush listeners would scan
the session for what changed; here the save knows, and adds the same differences to the kept inbox and open-task
counts (`task_counts`, `open_counts`) in key order; on PostgreSQL the rows and the counts are one statement
(`statements.together`). The rows end up in the session as stored (new ones persistent and unchanged), so nothing
flushes them again.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import inspect
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from engine.store import open_counts, statements, task_counts
from engine.store.models import HumanTask

_TABLE = HumanTask.__table__
CHANGING = ("status", "completed_at", "completed_by", "due_at", "remind_at", "escalate_at", "escalation_level")


def _complete_values(row: HumanTask) -> dict:
    """Every column of a new row, column defaults filled in (the ORM would apply them at its INSERT)."""
    values = {}
    for column in _TABLE.columns:
        value = getattr(row, column.key)
        if value is None and column.default is not None and column.default.is_scalar:
            value = column.default.arg
        setattr(row, column.key, value)     # every column loaded: the stored row needs no read to be used
        values[column.key] = value
    return values


def _keys(row_values: dict) -> tuple:
    return task_counts.key_of(*(row_values[name] for name in task_counts.FIELDS))


def write(session: Session, instance_unit: str | None, added: list[HumanTask],
          changed: list[tuple[HumanTask, dict]]) -> None:
    """Insert `added` (transient rows) and apply `changed` ((stored row, {column: new value})) in one statement, and
    move the kept counts by the difference; `instance_unit` is the instance's org unit as stored now."""
    if not added and not changed:
        return
    if any(inspect(row).modified for row, _values in changed):
        session.flush()       # changes made to them earlier in the command are counted by the flush, from the stored
    unit = instance_unit or open_counts.NONE
    inbox: Counter = Counter()
    due: Counter = Counter()
    rows = []
    for row, values in changed:
        before = {name: getattr(row, name) for name in (*task_counts.FIELDS, "due_at")}
        after = {**before, **values}
        inbox[_keys(before)] -= 1
        inbox[_keys(after)] += 1
        if before["status"] == open_counts.OPEN:
            due[(before["org_unit_code"] or open_counts.NONE, unit, open_counts.due_day(before["due_at"]))] -= 1
        if after["status"] == open_counts.OPEN:
            due[(after["org_unit_code"] or open_counts.NONE, unit, open_counts.due_day(after["due_at"]))] += 1
        rows.append({column.key: values.get(column.key, getattr(row, column.key)) for column in _TABLE.columns})
    for row in added:
        values = _complete_values(row)
        inbox[_keys(values)] += 1
        if values["status"] == open_counts.OPEN:
            due[(values["org_unit_code"] or open_counts.NONE, unit, open_counts.due_day(values["due_at"]))] += 1
        rows.append(values)
    inbox.pop(None, None)
    # The rows, then the counts (open before inbox, each in key order): one statement on PostgreSQL.
    statements.together(session.connection(), [statements.Rows(_TABLE, rows, ("id",), replacing=CHANGING),
                                               open_counts.adding(due), task_counts.adding(inbox)])
    for row, values in changed:
        for name, value in values.items():
            set_committed_value(row, name, value)
    for row in added:
        make_transient_to_detached(row)
        session.add(row)
