"""Keyset pagination: a list ordered by (sort key…, id) is paged by the last row's key, not by an offset, so a page
costs the same however deep it is and rows added between pages neither repeat nor go missing.

A cursor is opaque to the reader (URL-safe base64 of a JSON list: the sort it belongs to, then the key values); it
carries no rights — whoever reads a list sees only rows they may see, whatever the cursor — but a cursor that cannot
be read, belongs to another sort, or holds a value of the wrong type or range is refused with `BadCursor`.

Keys must never be NULL except where an earlier key already separates the NULLs (e.g. `due_at IS NULL` before
`due_at`): a None value then matches only NULLs and nothing sorts after it within its group.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import and_, case, false, or_

MAX_CURSOR = 600              # characters; a real cursor is well under 300
KINDS = ("int", "str", "time", "date", "bool")


class BadCursor(ValueError):
    """A cursor that is not one this list made."""


@dataclass(frozen=True)
class Key:
    """One ORDER BY term: the SQL expression, its direction and the kind of value it holds."""

    column: object
    descending: bool
    kind: str


def encode(sort: str, values) -> str:
    """The cursor after (or before) a row whose key values are `values` (in the keys' order)."""
    plain = [sort] + [v.astimezone(UTC).isoformat() if isinstance(v, datetime)
                      else v.isoformat() if isinstance(v, date) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain, ensure_ascii=False).encode()).decode().rstrip("=")


def _value(kind: str, raw):
    if raw is None:
        return None
    if kind == "bool" and isinstance(raw, bool | int) and raw in (0, 1):
        return int(raw)
    if kind == "int" and isinstance(raw, int) and not isinstance(raw, bool) and -2**62 < raw < 2**62:
        return raw
    if kind == "str" and isinstance(raw, str) and len(raw) <= 200:
        return raw
    if kind == "time" and isinstance(raw, str) and len(raw) <= 40:
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            raise BadCursor(raw) from None
        if moment.tzinfo is not None and 1900 <= moment.year <= 2200:
            return moment
    if kind == "date" and isinstance(raw, str) and len(raw) == 10:
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise BadCursor(raw) from None
    raise BadCursor(repr(raw))


def decode(text: str, sort: str, keys: list[Key]) -> list:
    """The key values a cursor holds, checked against the list's sort and keys; raises BadCursor."""
    if not text or len(text) > MAX_CURSOR:
        raise BadCursor("length")
    try:
        plain = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadCursor("encoding") from None
    if not isinstance(plain, list) or len(plain) != len(keys) + 1 or plain[0] != sort:
        raise BadCursor("shape")
    values = [_value(key.kind, raw) for key, raw in zip(keys, plain[1:], strict=True)]
    if values[-1] is None:
        raise BadCursor("no id")
    return values


def beyond(keys: list[Key], values: list, backwards: bool = False):
    """The condition "sorts after the row with `values`" (before it when `backwards`)."""
    branches, equal = [], []
    for key, value in zip(keys, values, strict=True):
        later = key.descending == backwards        # ascending and forwards: greater values come later
        if value is not None:
            branches.append(and_(*equal, key.column > value if later else key.column < value))
            equal.append(key.column == value)
        else:
            equal.append(key.column.is_(None))
    condition = or_(*branches) if branches else false()
    first, value = keys[0], values[0]
    if value is not None:       # the same, stated as a range on the first key too (an index can seek to it)
        later = first.descending == backwards
        condition = and_(first.column >= value if later else first.column <= value, condition)
    return condition


def flag(condition):
    """A condition as a sort key of kind "bool": 0 or 1 (booleans compare alike in SQLite and PostgreSQL)."""
    return case((condition, 1), else_=0)


def order(keys: list[Key], backwards: bool = False) -> list:
    """ORDER BY terms for the keys (all reversed when `backwards`)."""
    return [key.column.desc() if key.descending != backwards else key.column.asc() for key in keys]
