"""The sweep: the ONE code path that fires due timers, deadlines and outbox deliveries, in every run mode.

`xieshang sweep` (cli/process.py), Celery's `sweep` task (tasks/jobs.py) and the embedded scheduler thread
(tasks/scheduler.py) all call `run_sweep`. Each part is guarded: a part that crashes is logged with its cause and
reported, and the next part still runs; within a part each instance or delivery fails alone.

The engine delivers nothing itself: the product passes its deliveries (`Deliveries`, e.g. the notifications'
`run_deliveries`); without them that part does nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from engine.failures import Swept, cause_of

log = logging.getLogger(__name__)

Deliveries = Callable[..., Swept]      # (engine, now) -> what was delivered and what failed
PARTS = ("timers", "deadlines", "deliveries")


@dataclass(frozen=True)
class SweepResult:
    """What one sweep did: instances whose timers fired, deadline actions taken, messages delivered, and failures."""

    now: datetime
    fired: tuple[int, ...]
    deadlines: int
    delivered: int
    failed: dict[str, tuple[int, ...]] = field(default_factory=dict)   # part → instances put in error, or deliveries
    errors: dict[str, str] = field(default_factory=dict)               # part → why the whole part crashed
    seconds: float = field(default=0.0, compare=False)                 # how long it took (wall time)

    def as_dict(self) -> dict:
        """JSON-ready (a Celery result, `xieshang sweep --json`): the totals, then what each part did."""
        return {"now": self.now.isoformat(), "fired": list(self.fired), "deadlines": self.deadlines,
                "delivered": self.delivered, "parts": {part: self.part(part) for part in PARTS}}

    def part(self, name: str) -> dict:
        """One part's outcome: how many it did, what failed, and its crash (None when it ran through)."""
        done = {"timers": len(self.fired), "deadlines": self.deadlines, "deliveries": self.delivered}[name]
        return {"done": done, "failed": list(self.failed.get(name, ())), "error": self.errors.get(name)}


_listeners: list[Callable[[SweepResult], None]] = []


def on_sweep(listener: Callable[[SweepResult], None]) -> None:
    """Call `listener` with the result of every sweep this process runs from now on (metrics); added once."""
    if listener not in _listeners:
        _listeners.append(listener)


def _guarded(name: str, errors: dict[str, str], work: Callable[[], Swept]) -> Swept:
    """Run one part; a crash is logged with its traceback, reported under `name`, and the sweep goes on."""
    try:
        return work()
    except Exception as exc:  # noqa: BLE001 - reported in the result and logged with its cause, never silent
        log.error("sweep: %s failed: %s", name, cause_of(exc), exc_info=exc)
        errors[name] = cause_of(exc)
        return Swept()


def _deliveries(engine, now: datetime, deliveries: Deliveries | None) -> Swept:
    return deliveries(engine, now) if deliveries is not None else Swept()


def run_sweep(engine, now: datetime | None = None, deliveries: Deliveries | None = None) -> SweepResult:
    """Fire due timers, then due deadlines, then deliver due outbox messages with `deliveries` (none: that part does
    nothing); each part guarded."""
    now = now or engine.clock.now()
    started = time.perf_counter()
    errors: dict[str, str] = {}
    timers = _guarded("timers", errors, lambda: engine.sweep_timers(now))
    due = _guarded("deadlines", errors, lambda: engine.sweep_deadlines(now))
    sent = _guarded("deliveries", errors, lambda: _deliveries(engine, now, deliveries))
    failed = {part: swept.failed for part, swept in zip(PARTS, (timers, due, sent), strict=True) if swept.failed}
    result = SweepResult(now, timers.done, len(due.done), len(sent.done), failed, errors,
                         time.perf_counter() - started)
    for listener in tuple(_listeners):
        listener(result)
    return result
