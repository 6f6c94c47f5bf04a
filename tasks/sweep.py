"""The sweep: the ONE code path that fires due timers, deadlines and outbox deliveries, in either run mode.

Celery's `sweep` task (tasks/jobs.py) and the embedded scheduler thread (tasks/scheduler.py) both call
`run_sweep`; the engine does the work, this module only sequences it.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sized
from dataclasses import asdict, dataclass
from datetime import datetime
from types import ModuleType

from engine.service import Engine

NOTIFY_MODULE = "engine.notify"


@dataclass(frozen=True)
class SweepResult:
    """What one sweep did: instances whose timers fired, deadline actions taken, outbox messages delivered."""

    now: datetime
    fired: tuple[int, ...]
    deadlines: int
    delivered: int

    def as_dict(self) -> dict:
        """JSON-ready (a Celery result)."""
        return {**asdict(self), "now": self.now.isoformat(), "fired": list(self.fired)}


def notify_module() -> ModuleType | None:
    """`engine.notify` when it is installed, else None (a missing module is skipped, a broken one raises)."""
    if importlib.util.find_spec(NOTIFY_MODULE) is None:
        return None
    return importlib.import_module(NOTIFY_MODULE)


def _count(outcome) -> int:
    return len(outcome) if isinstance(outcome, Sized) else int(outcome or 0)


def run_sweep(engine: Engine, now: datetime | None = None) -> SweepResult:
    """Fire due timers, then due deadlines (if the engine has them), then deliver due outbox messages."""
    now = now or engine.clock.now()
    fired = engine.fire_due_timers(now)
    fire_deadlines = getattr(engine, "fire_deadlines", None)
    deadlines = _count(fire_deadlines(now)) if fire_deadlines is not None else 0
    notify = notify_module()
    delivered = _count(notify.deliver_due(engine, now)) if notify is not None else 0
    return SweepResult(now, tuple(fired), deadlines, delivered)
