"""An injectable clock; SpiffWorkflow's timers read it too, so tests move time without sleeping."""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Protocol

import SpiffWorkflow.bpmn.specs.event_definitions.timer as _spiff_timer

# The product's one local time zone, Beijing time: China keeps UTC+8 all year (no DST). Times are stored in UTC;
# dates, working days and the times people read are taken in this zone.
LOCAL_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


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


CLOCK_OFFSET_ENV = "XIESHANG_CLOCK_OFFSET"
CLOCK_OFFSET_FILE_ENV = "XIESHANG_CLOCK_OFFSET_FILE"


class OffsetClock:
    """The real time shifted by a fixed number of seconds."""

    def __init__(self, offset: timedelta):
        self.offset = offset

    def now(self) -> datetime:
        """Current UTC time plus the offset."""
        return SystemClock().now() + self.offset


class FileOffsetClock:
    """The real time shifted by the seconds written in a file, read at every `now()` (absent or empty: 0).

    Every process given the same file shares one moving clock: a test moves a whole fleet of web processes and
    workers past a 90-day timer by writing one number.
    """

    def __init__(self, path: Path):
        self.path = Path(path)

    def offset(self) -> timedelta:
        """The shift the file holds now."""
        try:
            raw = self.path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return timedelta(0)
        return timedelta(seconds=float(raw)) if raw else timedelta(0)

    def now(self) -> datetime:
        """Current UTC time plus the file's offset."""
        return SystemClock().now() + self.offset()


def clock_from_env(environ: Mapping[str, str] | None = None) -> Clock:
    """The real time, shifted by XIESHANG_CLOCK_OFFSET seconds or by the seconds in XIESHANG_CLOCK_OFFSET_FILE.

    A test and operations knob, honoured by the Celery workers and the WSGI entry point: tests move "now" past
    due timers and deadlines without waiting; an operator can replay a sweep as of later. Never set it in
    production.
    """
    env = os.environ if environ is None else environ
    if env.get(CLOCK_OFFSET_FILE_ENV):
        return FileOffsetClock(Path(env[CLOCK_OFFSET_FILE_ENV]))
    raw = env.get(CLOCK_OFFSET_ENV)
    return OffsetClock(timedelta(seconds=float(raw))) if raw else SystemClock()


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
