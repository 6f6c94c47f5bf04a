"""`xieshang serve`: the web app plus, in embedded mode, the scheduler thread."""

from __future__ import annotations

import click
from werkzeug.serving import run_simple

from engine.settings import Settings
from engine.store import db
from tasks.scheduler import SweepThread
from webui import create_app, services_of


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Start the web app (and the timer sweep when no Redis is configured)."""
    settings = Settings.from_env()
    db.upgrade(settings.database_url)
    app = create_app({"SETTINGS": settings})
    if settings.embedded:
        services = services_of(app)
        SweepThread(services.engine, deliveries=services.deliveries).start()
    click.echo(f"xieshang serving on http://{host}:{port}", err=True)
    run_simple(host, port, app, threaded=True, use_reloader=False)
