"""The in-process scheduler of the embedded mode: a daemon thread that runs the sweep (no Redis, no Celery)."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.exc import OperationalError

from engine.service import Engine

from .sweep import run_sweep

log = logging.getLogger(__name__)


class SweepThread(threading.Thread):
    """Calls `run_sweep` (the same function Celery's `sweep` task calls) every `interval` seconds until stopped."""

    def __init__(self, engine: Engine, interval: float = 5.0):
        super().__init__(name="xieshang-sweep", daemon=True)
        self.engine = engine
        self.interval = interval
        self._stop_event = threading.Event()

    def run_once(self) -> list[int]:
        """One sweep; returns the instances whose timers fired."""
        result = run_sweep(self.engine)
        if result.fired or result.deadlines or result.delivered:
            log.info("sweep: timers fired for %s, %d deadline action(s), %d message(s) delivered",
                     list(result.fired), result.deadlines, result.delivered)
        return list(result.fired)

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            try:
                self.run_once()
            except OperationalError:    # database locked or unreachable: the next sweep tries again
                log.exception("sweep failed; retrying in %s s", self.interval)

    def stop(self) -> None:
        """Ask the thread to finish after the current sweep."""
        self._stop_event.set()
