"""The in-process scheduler of the embedded mode: a daemon thread that runs the sweep (no Redis, no Celery)."""

from __future__ import annotations

import logging
import threading

from engine.service import Engine
from engine.sweep import Deliveries, run_sweep

log = logging.getLogger(__name__)


class SweepThread(threading.Thread):
    """Calls `run_sweep` (the same function Celery's `sweep` task calls) every `interval` seconds until stopped."""

    def __init__(self, engine: Engine, interval: float = 5.0, deliveries: Deliveries | None = None):
        super().__init__(name="xieshang-sweep", daemon=True)
        self.engine = engine
        self.deliveries = deliveries      # the product's outbox deliveries (domain.services.Services.deliveries)
        self.interval = interval
        self.sweeps = 0            # sweeps attempted, and how many of them crashed (for health checks and tests)
        self.crashes = 0
        self._stop_event = threading.Event()

    def run_once(self) -> list[int]:
        """One sweep; returns the instances whose timers fired."""
        result = run_sweep(self.engine, deliveries=self.deliveries)
        if result.fired or result.deadlines or result.delivered or result.failed:
            log.info("sweep: timers fired for %s, %d deadline action(s), %d message(s) delivered, failed: %s",
                     list(result.fired), result.deadlines, result.delivered, result.failed or "none")
        return list(result.fired)

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            self.sweep_safely()

    def sweep_safely(self) -> None:
        """One sweep that cannot end the thread: whatever escapes is logged with its traceback; the next one runs."""
        self.sweeps += 1
        try:
            self.run_once()
        except Exception:  # noqa: BLE001 - run_sweep records per-instance failures; this is the last resort
            self.crashes += 1
            log.exception("sweep failed; the next one runs in %s s", self.interval)

    def stop(self) -> None:
        """Ask the thread to finish after the current sweep."""
        self._stop_event.set()
