"""`xieshang serve`: the web app in gunicorn (cli/serving.py); in embedded mode one of its workers also sweeps."""

from __future__ import annotations

import sys

import click

from engine.settings import Settings
from engine.store import db


def _bounded(low: int, high: int):
    return click.IntRange(low, high)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (with --port).")
@click.option("--port", default=5000, show_default=True, type=_bounded(1, 65535))
@click.option("--bind", "binds", multiple=True, envvar="XIESHANG_BIND",
              help="host:port or unix:PATH to listen on, repeatable; replaces --host/--port. [env XIESHANG_BIND]")
@click.option("--workers", default=2, show_default=True, type=_bounded(1, 64), envvar="XIESHANG_WORKERS",
              help="Web processes. [env XIESHANG_WORKERS]")
@click.option("--threads", default=4, show_default=True, type=_bounded(1, 64), envvar="XIESHANG_THREADS",
              help="Threads per web process. [env XIESHANG_THREADS]")
@click.option("--timeout", default=30, show_default=True, type=_bounded(5, 600), envvar="XIESHANG_TIMEOUT",
              help="Seconds a worker may stop answering its master before it is restarted; also the limit for each "
                   "read of a request body and each write of an answer. [env XIESHANG_TIMEOUT]")
@click.option("--graceful-timeout", default=30, show_default=True, type=_bounded(1, 600),
              envvar="XIESHANG_GRACEFUL_TIMEOUT",
              help="Seconds requests in flight get to finish on SIGTERM. [env XIESHANG_GRACEFUL_TIMEOUT]")
@click.option("--keepalive", default=5, show_default=True, type=_bounded(0, 120), envvar="XIESHANG_KEEPALIVE",
              help="Seconds an idle kept-alive connection stays open. [env XIESHANG_KEEPALIVE]")
@click.option("--header-timeout", default=10.0, show_default=True, type=click.FloatRange(0.5, 300),
              envvar="XIESHANG_HEADER_TIMEOUT",
              help="Seconds a connection has to send its whole request head before it is closed. "
                   "[env XIESHANG_HEADER_TIMEOUT]")
def serve(host: str, port: int, binds: tuple[str, ...], workers: int, threads: int, timeout: int,
          graceful_timeout: int, keepalive: int, header_timeout: float) -> None:
    """Serve the web app with gunicorn (and, without Redis, the timer sweep in exactly one worker).

    The database must be up to date: run `xieshang init` first (serve never migrates).
    """
    from cli import serving
    from webui.deployment import DeploymentError, check_startup

    settings = Settings.from_env()
    try:
        db.check_schema(settings.database_url)
        check_startup(settings)
    except (db.SchemaNotReady, DeploymentError) as exc:
        click.echo(f"错误 (error): {exc}", err=True)
        sys.exit(1)
    bind = list(binds) or [f"{host}:{port}"]
    mode = "embedded: one worker sweeps" if settings.embedded else "Celery does the background work"
    click.echo(f"xieshang serving on {', '.join(_url(b) for b in bind)} "
               f"({workers} worker(s) × {threads} thread(s); {mode})", err=True)
    serving.serve(bind, workers, threads, timeout, graceful_timeout, keepalive, header_timeout)


def _url(bind: str) -> str:
    return bind if bind.startswith("unix:") else f"http://{bind}"
