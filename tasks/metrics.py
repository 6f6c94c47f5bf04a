"""Sweep metrics: how long each sweep takes, in whichever process runs it (web process, Celery worker, CLI).

With PROMETHEUS_MULTIPROC_DIR set (the same directory for every process on a host), prometheus_client writes
each process's samples there and the web app's /metrics adds them up; without it, a process reports its own.
"""

from __future__ import annotations

import threading

from prometheus_client import Histogram

from engine.sweep import SweepResult, on_sweep

SWEEP_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
_lock = threading.Lock()
_histogram: Histogram | None = None


def sweep_histogram() -> Histogram:
    """The sweep duration histogram, made (and fed by every later sweep in this process) on first call."""
    global _histogram
    with _lock:
        if _histogram is None:
            _histogram = Histogram("xieshang_sweep_duration_seconds", "Wall time of one sweep (timers, deadlines, "
                                   "deliveries)", ["outcome"], buckets=SWEEP_BUCKETS, registry=None)
            on_sweep(_observe)
    return _histogram


def _observe(result: SweepResult) -> None:
    outcome = "crashed" if result.errors else "ok"     # a part crashed (database gone, a bug): see the logs
    sweep_histogram().labels(outcome).observe(result.seconds)
