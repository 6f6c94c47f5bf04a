"""Which task data the state serializer can store and read back unchanged; a bounded walk that names the bad value.

Refused (each would crash the save, or come back different after a restore): values of any type not listed in
LEAVES/containers (complex, bytes, range, generators, exception objects, frozenset …), ints longer than Python
reads back from text (4,300 digits by default), NaN and ±infinity (PostgreSQL's JSON and browsers reject them),
strings with NUL (PostgreSQL text cannot hold it), dict keys that are not strings (a tuple key cannot be written;
an int key would come back as a string), circular references, and data nested or sized beyond the limits below
(a string, all strings of a task's data, the saved state of an instance).
"""

from __future__ import annotations

import math
import sys
from datetime import date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

MAX_DEPTH = 64            # containers inside containers
MAX_NODES = 200_000       # values in one task's data (a shared list counts each time it is reached, as JSON writes it)
MAX_TEXT = 1_000_000      # characters in one string (a form allows far less; a script could make 50 MB)
MAX_TEXT_TOTAL = 4_000_000   # characters in all strings of one task's data
MAX_STATE = 10_000_000    # characters of one instance's saved state (the shipped consultation's: 38 KB typical)
LEAVES = (str, bool, int, float, type(None), date, datetime, timedelta, Decimal, UUID)
CONTAINERS = (dict, list, tuple, set)


class Unstorable(Exception):
    """A value in task data that cannot be stored; `path` says where (e.g. `data['x'][2]`)."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def check(data: dict, root: str = "data") -> None:
    """Raise Unstorable for the first value in `data` that cannot be stored; cost bounded by MAX_NODES."""
    _Walk(root).value(data, 0)


class _Walk:
    """One check: counts values and keeps the keys and containers of the current path (a cycle revisits one)."""

    def __init__(self, root: str):
        self.root = root
        self.nodes = 0
        self.text = 0
        self.keys: list = []
        self.path_ids: set[int] = set()

    def refuse(self, reason: str) -> Unstorable:
        """The error, with the path written out only now (formatting it for every value would cost more)."""
        return Unstorable(self.root + "".join(f"[{_short(key)}]" for key in self.keys), reason)

    def value(self, value, depth: int) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.refuse(f"more than {MAX_NODES} values in one task's data (too large to store)")
        if isinstance(value, str):
            self.count_text(value)
        if isinstance(value, LEAVES):
            reason = _leaf(value)
            if reason:
                raise self.refuse(reason)
        elif isinstance(value, CONTAINERS):
            self.container(value, depth)
        elif not callable(value):     # functions and classes are dropped from task data, as SpiffWorkflow does
            raise self.refuse(f"{type(value).__name__} cannot be stored "
                              "(use str, int, float, bool, None, date, list or dict)")

    def count_text(self, text: str) -> None:
        """Refuse a string over MAX_TEXT, or one that takes the task's strings over MAX_TEXT_TOTAL."""
        self.text += len(text)
        if len(text) > MAX_TEXT:
            raise self.refuse(f"a string of {len(text):,} characters; the limit is {MAX_TEXT:,}")
        if self.text > MAX_TEXT_TOTAL:
            raise self.refuse(f"more than {MAX_TEXT_TOTAL:,} characters of text in one task's data")

    def container(self, value, depth: int) -> None:
        if depth >= MAX_DEPTH:
            raise self.refuse(f"nested more than {MAX_DEPTH} levels deep")
        if id(value) in self.path_ids:
            raise self.refuse("refers to itself (a circular reference)")
        self.path_ids.add(id(value))
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            self.keys.append(key)
            if isinstance(value, dict) and not isinstance(key, str):
                raise self.refuse(f"dict keys must be str, not {type(key).__name__}")
            if isinstance(value, dict):
                self.count_text(key)
            self.value(item, depth + 1)
            self.keys.pop()
        self.path_ids.discard(id(value))


def _leaf(value) -> str | None:
    """Why a plain value cannot be stored, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        limit = sys.get_int_max_str_digits()
        if limit and value.bit_length() > limit * 3:      # only then can it exceed `limit` digits: count them
            try:
                str(value)
            except ValueError:
                return f"an int with more than {limit} digits cannot be read back"
    elif isinstance(value, float) and not math.isfinite(value):
        return f"{value!r} is not a finite number"
    elif isinstance(value, str) and "\x00" in value:
        return "a string containing NUL (\\x00)"
    return None


def _short(key) -> str:
    text = repr(key)
    return text if len(text) <= 40 else text[:37] + "..."


def check_state_size(state: str) -> None:
    """Raise Unstorable when an instance's serialized state is longer than MAX_STATE characters."""
    if len(state) > MAX_STATE:
        raise Unstorable("state", f"the instance's data would take {len(state):,} characters; "
                                  f"the limit is {MAX_STATE:,}")
