"""Form rules that need more than the submission: read-only fields keep what the task holds, dates that may not lie
in the future (`"x-notAfter": "today"`) or in the past (`"x-notBefore": "today"`, e.g. a due date set for a new
task), and values the task's data rules out (`"x-notIn": "<data key>"`).

Checked by the engine on every way a form is submitted (pages, the API, the CLI), against the engine's clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date


def _object_props(schema) -> dict:
    props = schema.get("properties") if isinstance(schema, dict) else None
    return props if isinstance(props, dict) else {}


def _row_schema(prop: dict) -> dict | None:
    """The item schema of a list of objects, else None."""
    items = prop.get("items") if prop.get("type") == "array" else None
    return items if isinstance(items, dict) and _object_props(items) else None


def keep_read_only(schema: dict | None, submitted, current: dict):
    """`submitted` with every read-only field set to what `current` (the task's data) holds, or dropped when it holds
    nothing; a list whose rows have read-only fields keeps the task's rows: one submitted row per held row, in order
    (extra rows dropped, missing ones left for the schema to report)."""
    if not isinstance(submitted, dict) or not isinstance(current, dict):
        return submitted
    out = dict(submitted)
    for name, prop in _object_props(schema).items():
        if not isinstance(prop, dict):
            continue
        if prop.get("readOnly"):
            if name in current:
                out[name] = current[name]
            else:
                out.pop(name, None)
            continue
        rows = _row_schema(prop)
        held = current.get(name)
        if rows is None or not isinstance(held, list) or not any(
                isinstance(p, dict) and p.get("readOnly") for p in _object_props(rows).values()):
            continue
        given = out.get(name) if isinstance(out.get(name), list) else []
        out[name] = [keep_read_only(rows, given[i] if i < len(given) and isinstance(given[i], dict) else {},
                                    row if isinstance(row, dict) else {})
                     for i, row in enumerate(held)]
    return out


def _fields(schema: dict | None, data, prefix: str = "") -> Iterator[tuple[str, dict, object]]:
    """(path, property schema, value) of every submitted field, rows of lists of objects included."""
    if not isinstance(data, dict):
        return
    for name, prop in _object_props(schema).items():
        if not isinstance(prop, dict) or name not in data:
            continue
        path = f"{prefix}/{name}" if prefix else name
        yield path, prop, data[name]
        rows = _row_schema(prop)
        if rows is not None and isinstance(data[name], list):
            for index, row in enumerate(data[name]):
                yield from _fields(rows, row, f"{path}/{index}")


def _day(value) -> date | None:
    """A form's ISO date, or None (the schema's format check reports a malformed one)."""
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def rule_errors(schema: dict | None, clean: dict, task_data: dict, today: date) -> dict[str, list[str]]:
    """Field errors for the data-dependent rules of `schema` (`today`: the local date on the engine's clock)."""
    errors: dict[str, list[str]] = {}
    for path, prop, value in _fields(schema, clean):
        day = _day(value) if "today" in (prop.get("x-notAfter"), prop.get("x-notBefore")) else None
        if day is not None and prop.get("x-notAfter") == "today" and day > today:
            errors.setdefault(path, []).append(
                f"不能晚于今天（{today.isoformat()}），请填写已经发生的日期 "
                f"(cannot be later than today, {today.isoformat()})")
        if day is not None and prop.get("x-notBefore") == "today" and day < today:
            errors.setdefault(path, []).append(
                f"不能早于今天（{today.isoformat()}），请填写今天或以后的日期 "
                f"(cannot be earlier than today, {today.isoformat()})")
        key = prop.get("x-notIn")
        excluded = task_data.get(key) if isinstance(key, str) else None
        if isinstance(excluded, list) and isinstance(value, str | int) and value in excluded:
            errors.setdefault(path, []).append(
                "此前已经选过这一项，不能再次选择，请选择其他选项 "
                "(this was chosen before for this item; choose another)")
    return errors
