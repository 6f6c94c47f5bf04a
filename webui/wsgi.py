"""The WSGI entry point for several web processes: `gunicorn --workers 4 'webui.wsgi:app'` (`xieshang serve` runs
the same app in gunicorn with its options: cli/serving.py).

`app` is built from the environment (XIESHANG_* settings) on first access in each process, not at import. It
refuses to start on a database `xieshang init` has not brought up to date, and outside embedded mode without
XIESHANG_SECRET_KEY. With XIESHANG_REDIS_URL set, Celery workers and one beat do the background work and no web
process sweeps; without it (embedded mode) every web process starts an elected sweep thread and exactly one of
them sweeps: the one holding the lock file `<instance>/sweep.lock` (another takes over when it dies). Do not
`--preload` in embedded mode: the thread would start in gunicorn's master.
"""

from __future__ import annotations

import os

from flask import Flask

from domain.services import Services
from engine.clock import clock_from_env
from engine.settings import Settings
from engine.store import db
from tasks.scheduler import ElectedSweepThread

from . import create_app

SWEEP_LOCK = "sweep.lock"
SWEEP_INTERVAL_ENV = "XIESHANG_SWEEP_INTERVAL"


def sweep_interval(environ=None) -> float:
    """Seconds between embedded sweeps: XIESHANG_SWEEP_INTERVAL (0.2 to 3600), default 5."""
    raw = (os.environ if environ is None else environ).get(SWEEP_INTERVAL_ENV) or "5"
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.2 <= value <= 3600:
        raise ValueError(f"{SWEEP_INTERVAL_ENV} must be a number of seconds from 0.2 to 3600, not {raw!r}")
    return value


def create_wsgi_app(settings: Settings | None = None, interval: float | None = None) -> Flask:
    """The web app for a WSGI server; in embedded mode (no Redis) this process joins the sweep election."""
    settings = settings or Settings.from_env()
    interval = sweep_interval() if interval is None else interval
    db.check_schema(settings.database_url)
    services = Services.from_settings(settings, clock_from_env())
    app = create_app({"SETTINGS": settings, "SERVICES": services})
    if settings.embedded:
        sweeper = ElectedSweepThread(services.engine, settings.instance_path / SWEEP_LOCK, interval=interval,
                                     deliveries=services.deliveries)
        app.extensions["xieshang_sweeper"] = sweeper
        sweeper.start()
    return app


def __getattr__(name: str):
    """`app` for `gunicorn 'webui.wsgi:app'`: built from the environment on first access."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()["app"] = built = create_wsgi_app()
    return built
