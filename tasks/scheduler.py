"""The in-process scheduler of the embedded mode: a daemon thread that runs the sweep (no Redis, no Celery)."""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from pathlib import Path

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


class ElectedSweepThread(SweepThread):
    """A sweep thread that sweeps only while it holds an exclusive lock on `lock_path`.

    Every web process of the embedded mode starts one; whichever takes the lock first sweeps and the others keep
    trying every `interval`. The kernel drops the lock when its holder dies, kill -9 included, so another process
    takes over within one interval. The holder writes its process id into the file (for operators and tests).
    The lock is a local file lock: it elects one sweeper among the processes of one machine.
    """

    def __init__(self, engine: Engine, lock_path: Path, interval: float = 5.0, deliveries: Deliveries | None = None):
        super().__init__(engine, interval=interval, deliveries=deliveries)
        self.lock_path = Path(lock_path)
        self.leading = False

    def run(self) -> None:
        try:
            self.lock_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)     # not inherited by child processes
        except OSError:
            log.exception("no sweep in process %d: cannot open the sweep lock %s", os.getpid(), self.lock_path)
            return
        try:
            while not self._stop_event.wait(self.interval):
                if not self.leading:
                    self.leading = self._take_the_lead(fd)
                if self.leading:
                    self.sweep_safely()
        finally:
            os.close(fd)          # releases the lock: a waiting process takes over
            self.leading = False

    def _take_the_lead(self, fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        log.info("process %d sweeps (lock %s)", os.getpid(), self.lock_path)
        return True
