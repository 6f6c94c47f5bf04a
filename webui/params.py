"""Whole numbers from the query string, bounded: a value out of range or not a number is a 400 that says so."""

from __future__ import annotations

from flask import abort, request
from flask_babel import gettext as _

from .openapi import MAX_PAGE  # the API's bound too: far past any list's end, an OFFSET every database takes

MAX_INT = 2**31 - 1         # an id or a cursor: fits a 32-bit INTEGER column


def int_arg(name: str, default: int | None = None, low: int = 1, high: int = MAX_INT) -> int | None:
    """`?name=` as an int in [low, high]; `default` when absent or empty; otherwise abort(400) with a message
    naming the parameter and its range."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if len(raw) <= 20 else None      # int() of a huge digit string is slow: refuse it unread
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        abort(400, description=_("查询参数 %(name)s 应为 %(low)s 到 %(high)s 之间的整数，收到的是“%(value)s”。",
                                 name=name, low=low, high=high, value=raw[:30]))
    return value


def page_arg(name: str = "page") -> int:
    """`?page=` (1 when absent), at most MAX_PAGE."""
    return int_arg(name, 1, 1, MAX_PAGE)
