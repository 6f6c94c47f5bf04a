"""The WSGI entry point for several web processes: `gunicorn --workers 4 'webui.wsgi:app'`.

`app` is built from the environment (XIESHANG_* settings) on first access in each process, not at import.
With XIESHANG_REDIS_URL set, Celery workers and one beat do the background work and no web process sweeps;
without it (embedded mode) each web process runs the sweep thread, started by its first request so that it
lives in the process that serves (gunicorn forks its workers after loading, with --preload, before).
"""

from __future__ import annotations

import os
import threading

from flask import Flask

from domain.services import Services
from engine.clock import clock_from_env
from engine.settings import Settings
from tasks.scheduler import SweepThread

from . import create_app


def create_wsgi_app(settings: Settings | None = None) -> Flask:
    """The web app for a WSGI server; sweeps in process only in embedded mode (no Redis)."""
    settings = settings or Settings.from_env()
    services = Services.from_settings(settings, clock_from_env())
    app = create_app({"SETTINGS": settings, "SERVICES": services})
    if settings.embedded:
        sweeping: dict[int, SweepThread] = {}
        lock = threading.Lock()

        def sweep_in_this_process() -> None:
            with lock:
                if os.getpid() not in sweeping:
                    sweeping[os.getpid()] = thread = SweepThread(services.engine, deliveries=services.deliveries)
                    thread.start()

        app.before_request(sweep_in_this_process)
    return app


def __getattr__(name: str):
    """`app` for `gunicorn 'webui.wsgi:app'`: built from the environment on first access."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()["app"] = built = create_wsgi_app()
    return built
