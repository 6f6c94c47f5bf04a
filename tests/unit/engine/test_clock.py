"""Clocks from the environment: real time, a fixed shift, or a shift every process reads from one file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.clock import (
    CLOCK_OFFSET_ENV,
    CLOCK_OFFSET_FILE_ENV,
    FileOffsetClock,
    OffsetClock,
    SystemClock,
    clock_from_env,
)


def gap(clock) -> timedelta:
    return clock.now() - datetime.now(UTC)


def test_the_clock_is_real_time_unless_shifted():
    assert isinstance(clock_from_env({}), SystemClock)
    shifted = clock_from_env({CLOCK_OFFSET_ENV: "3600"})
    assert isinstance(shifted, OffsetClock)
    assert timedelta(minutes=59) < gap(shifted) <= timedelta(hours=1)


def test_a_clock_file_moves_every_reader_when_it_is_rewritten(tmp_path):
    path = tmp_path / "clock-offset"
    first, second = (clock_from_env({CLOCK_OFFSET_FILE_ENV: str(path), CLOCK_OFFSET_ENV: "99"}) for _ in range(2))
    assert isinstance(first, FileOffsetClock)          # the file wins over the fixed shift
    assert abs(gap(first)) < timedelta(minutes=1)      # no file yet: real time
    path.write_text("7776000", encoding="ascii")       # 90 days
    for clock in (first, second):
        assert timedelta(days=90) - timedelta(minutes=1) < gap(clock) <= timedelta(days=90)
    path.write_text("", encoding="ascii")
    assert abs(gap(second)) < timedelta(minutes=1)
