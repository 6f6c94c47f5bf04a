"""The Celery app: Redis broker and result backend, reliability settings, the beat schedule, the workers' services.

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

from domain.services import Services
from engine.clock import clock_from_env
from engine.service import Engine
from engine.settings import Settings

from .metrics import sweep_histogram

SWEEP_INTERVAL = 5.0          # seconds; a timer fires within one interval plus one sweep of being due
SOFT_TIME_LIMIT = 120         # seconds; SoftTimeLimitExceeded rolls back the instance in flight
HARD_TIME_LIMIT = 150         # seconds; then the pool process is killed


def worker_services(settings: Settings) -> Services:
    """A worker's services: a sweep stopped by the soft time limit is the sweep's fault, not the instance's."""
    services = Services.from_settings(settings, clock_from_env())
    sweep_histogram()      # this worker's sweeps are measured (summed with the web's in multiprocess mode)
    services.engine.transient_errors = (*services.engine.transient_errors, SoftTimeLimitExceeded)
    return services


class WorkerServices:
    """One Services per process, built on first use (after the prefork pool has forked, never before)."""

    def __init__(self, settings: Settings, factory: Callable[[], Services] | None = None):
        self.factory = factory or (lambda: worker_services(settings))
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._services: Services | None = None

    def __call__(self) -> Services:
        with self._lock:
            if self._pid != os.getpid():
                self._services, self._pid = self.factory(), os.getpid()
            return self._services


def create_celery_app(settings: Settings | None = None,
                      services_factory: Callable[[], Services] | None = None) -> Celery:
    """A Celery app for `settings` (default: the environment); `services_factory` replaces the services (tests)."""
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
    app.xieshang_services = WorkerServices(settings, services_factory)
    return app


def services_of(app: Celery) -> Services:
    """The services tasks of `app` use in this process."""
    provider = getattr(app, "xieshang_services", None)
    if provider is None:     # a bare app (a task called without create_celery_app): the environment decides
        provider = app.xieshang_services = WorkerServices(Settings.from_env())
    return provider()


def engine_of(app: Celery) -> Engine:
    """The engine tasks of `app` use in this process."""
    return services_of(app).engine


def __getattr__(name: str):
    """`app` for `celery -A tasks.celery_app:app`: built from the environment on first access."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()["app"] = built = create_celery_app()
    return built
