"""The in-process scheduler of the embedded mode: a daemon thread that runs the timer sweep."""

from __future__ import annotations

import logging
import threading

from engine.service import Engine

log = logging.getLogger(__name__)


class SweepThread(threading.Thread):
    """Calls `Engine.fire_due_timers` every `interval` seconds until stopped."""

    def __init__(self, engine: Engine, interval: float = 5.0):
        super().__init__(name="xieshang-sweep", daemon=True)
        self.engine = engine
        self.interval = interval
        self._stop_event = threading.Event()

    def run_once(self) -> list[int]:
        """One sweep; returns the instances whose timers fired."""
        fired = self.engine.fire_due_timers()
        if fired:
            log.info("timers fired for instances %s", fired)
        return fired

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            self.run_once()

    def stop(self) -> None:
        """Ask the thread to finish after the current sweep."""
        self._stop_event.set()
