"""The Celery app: Redis broker and result backend, reliability settings, the beat schedule, the workers' engine.

`celery -A tasks.celery_app:app worker` (or `xieshang worker`) finds `app` here; it is built from the
environment on first access, not at import. Without XIESHANG_REDIS_URL the app runs every task eagerly in
process (the embedded mode; `xieshang serve` then sweeps with tasks/scheduler.py).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import timedelta

from celery import Celery
from celery.exceptions import SoftTimeLimitExceeded

from engine.clock import clock_from_env
from engine.service import Engine
from engine.settings import Settings

SWEEP_INTERVAL = 5.0          # seconds; a timer fires within one interval plus one sweep of being due
SOFT_TIME_LIMIT = 120         # seconds; SoftTimeLimitExceeded rolls back the instance in flight
HARD_TIME_LIMIT = 150         # seconds; then the pool process is killed


def worker_engine(settings: Settings) -> Engine:
    """A worker's engine: a sweep stopped by the soft time limit is the sweep's fault, not the instance in flight's."""
    engine = Engine.from_settings(settings, clock_from_env())
    engine.transient_errors = (*engine.transient_errors, SoftTimeLimitExceeded)
    return engine


class WorkerEngine:
    """One engine per process, built on first use (after the prefork pool has forked, never before)."""

    def __init__(self, settings: Settings, factory: Callable[[], Engine] | None = None):
        self.factory = factory or (lambda: worker_engine(settings))
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._engine: Engine | None = None

    def __call__(self) -> Engine:
        with self._lock:
            if self._pid != os.getpid():
                self._engine, self._pid = self.factory(), os.getpid()
            return self._engine


def create_celery_app(settings: Settings | None = None, engine_factory: Callable[[], Engine] | None = None) -> Celery:
    """A Celery app for `settings` (default: the environment); `engine_factory` replaces the engine (tests)."""
    settings = settings or Settings.from_env()
    app = Celery("xieshang", include=["tasks.jobs"])
    if settings.embedded:
        app.conf.update(broker_url="memory://", task_always_eager=True, task_eager_propagates=True)
    else:
        app.conf.update(broker_url=settings.redis_url, result_backend=settings.redis_url)
    app.conf.update(
        task_acks_late=True,                 # a message is acked after the task, so a killed worker's task is redone
        task_reject_on_worker_lost=True,     # ... and requeued when its pool process dies
        worker_prefetch_multiplier=1,        # a busy process does not hoard sweeps other workers could run
        task_soft_time_limit=SOFT_TIME_LIMIT,
        task_time_limit=HARD_TIME_LIMIT,
        task_serializer="json", result_serializer="json", accept_content=["json"],
        result_expires=timedelta(hours=1),
        timezone="UTC", enable_utc=True,
        broker_connection_retry_on_startup=True,
        beat_schedule={"sweep": {"task": "tasks.jobs.sweep", "schedule": SWEEP_INTERVAL,
                                 "options": {"expires": 2 * SWEEP_INTERVAL}}},   # a stale sweep is dropped
    )
    app.xieshang_engine = WorkerEngine(settings, engine_factory)
    return app


def engine_of(app: Celery) -> Engine:
    """The engine tasks of `app` use in this process."""
    provider = getattr(app, "xieshang_engine", None)
    if provider is None:     # a bare app (a task called without create_celery_app): the environment decides
        provider = app.xieshang_engine = WorkerEngine(Settings.from_env())
    return provider()


def __getattr__(name: str):
    """`app` for `celery -A tasks.celery_app:app`: built from the environment on first access."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()["app"] = built = create_celery_app()
    return built
