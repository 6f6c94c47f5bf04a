"""An injectable clock; SpiffWorkflow's timers read it too, so tests move time without sleeping."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Protocol

import SpiffWorkflow.bpmn.specs.event_definitions.timer as _spiff_timer


class Clock(Protocol):
    """Anything with `now()` returning an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        """Current UTC time."""
        return datetime.now(UTC)


class FrozenClock:
    """A clock that moves only when told to."""

    def __init__(self, at: datetime):
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        """The frozen time."""
        return self._at

    def set(self, at: datetime) -> None:
        """Jump to `at`."""
        self._at = at.astimezone(UTC)

    def advance(self, **delta: float) -> datetime:
        """Move forward by a timedelta given as keywords (days=3, hours=1)."""
        self._at += timedelta(**delta)
        return self._at


_current: ContextVar[Clock | None] = ContextVar("xieshang_clock", default=None)


class _SpiffDatetime(datetime):
    """Replaces `datetime` inside SpiffWorkflow's timer module so its `now()` reads our clock."""

    @classmethod
    def now(cls, tz=None):  # noqa: D102 - mirrors datetime.now
        clock = _current.get()
        if clock is None:
            return datetime.now(tz)
        now = clock.now()
        return now if tz is None else now.astimezone(tz)


_spiff_timer.datetime = _SpiffDatetime


@contextmanager
def using(clock: Clock):
    """Make `clock` the time SpiffWorkflow's timers see for the duration of the block."""
    token = _current.set(clock)
    try:
        yield clock
    finally:
        _current.reset(token)
