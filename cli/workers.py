"""`xieshang worker` and `xieshang beat`: start a Celery worker or the beat scheduler (needs XIESHANG_REDIS_URL)."""

from __future__ import annotations

import click
from celery import Celery

from engine.settings import Settings
from tasks.celery_app import create_celery_app


def _celery_app(ctx: click.Context) -> tuple[Celery, Settings]:
    settings = (ctx.obj or {}).get("settings") or Settings.from_env()
    if settings.embedded:
        raise click.UsageError("XIESHANG_REDIS_URL 未设置：没有 Redis 时由 `xieshang serve` 在进程内运行定时扫描 "
                               "(no Redis configured: `xieshang serve` runs the sweep in process)")
    return create_celery_app(settings), settings


@click.command()
@click.option("--concurrency", type=click.IntRange(min=1), default=None,
              help="Pool processes (default: one per CPU).")
@click.option("--hostname", default=None, help="Node name, unique per worker (default: celery@HOST); "
              "give each worker on one machine its own, e.g. w1@%h.")
@click.option("--loglevel", default="info", show_default=True)
@click.pass_context
def worker(ctx, concurrency: int | None, hostname: str | None, loglevel: str) -> None:
    """Start a Celery worker that runs sweeps and deliveries."""
    app, _ = _celery_app(ctx)
    argv = ["worker", f"--loglevel={loglevel}"]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    if hostname:
        argv.append(f"--hostname={hostname}")
    app.worker_main(argv)


@click.command()
@click.option("--schedule", "schedule_file", type=click.Path(dir_okay=False), default=None,
              help="Beat's state file (default: INSTANCE/celerybeat-schedule).")
@click.option("--loglevel", default="info", show_default=True)
@click.pass_context
def beat(ctx, schedule_file: str | None, loglevel: str) -> None:
    """Start Celery beat: it sends the sweep every 5 seconds (run exactly one beat)."""
    app, settings = _celery_app(ctx)
    schedule_file = schedule_file or str(settings.instance_path / "celerybeat-schedule")
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    app.start(["beat", f"--loglevel={loglevel}", f"--schedule={schedule_file}"])
