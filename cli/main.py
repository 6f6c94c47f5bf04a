"""The `xieshang` command line: the group, and the one table that registers every command.

Stable verbs other tools drive; --json prints one document on stdout. A command's module is imported only when
that command runs (or when --help describes it), so a plain engine command does not import Flask or Celery.
"""

from __future__ import annotations

import sys
from importlib import import_module

import click
from sqlalchemy.exc import OperationalError, ProgrammingError

from cli.common import parse_time
from engine.clock import FrozenClock, SystemClock
from engine.errors import EngineError, SpecInvalid, ValidationFailed
from engine.settings import Settings

# Every command, name → "module:attribute". Nothing registers itself; a new command is one line here.
COMMANDS = {
    "init": "cli.admin:init",
    "demo": "cli.admin:demo",
    "backfill": "cli.admin:backfill",
    "validate": "cli.process:validate",
    "deploy": "cli.process:deploy",
    "start": "cli.process:start",
    "tasks": "cli.process:tasks",
    "complete": "cli.process:complete",
    "claim": "cli.process:claim",
    "release": "cli.process:release",
    "reassign": "cli.process:reassign",
    "cancel": "cli.process:cancel",
    "show": "cli.process:show",
    "sweep": "cli.process:sweep",
    "errors": "cli.process:errors",
    "retry": "cli.process:retry",
    "calendar": "cli.calendar:calendar",
    "report": "cli.report:report",
    "figures": "cli.figures:figures",
    "notifications": "cli.notifications:notifications",
    "outbox": "cli.notifications:outbox",
    "token": "cli.tokens:token",
    "serve": "cli.serve:serve",
    "worker": "cli.workers:worker",
    "beat": "cli.workers:beat",
    "backup": "cli.backup:backup",
    "restore": "cli.backup:restore",
}


def load_command(name: str) -> click.Command | None:
    """The command registered as `name`, its module imported now; None for an unknown name."""
    target = COMMANDS.get(name)
    if target is None:
        return None
    module, attribute = target.split(":")
    return getattr(import_module(module), attribute)


class _Group(click.Group):
    """Loads commands from COMMANDS when asked for; turns engine errors into a message and exit status 1."""

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        return load_command(name)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ValidationFailed as exc:
            click.echo("表单数据无效 (invalid data):", err=True)
            for field, messages in sorted(exc.field_errors.items()):
                for message in messages:
                    click.echo(f"  {field}: {message}", err=True)
            sys.exit(1)
        except SpecInvalid as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            sys.exit(1)
        except EngineError as exc:
            click.echo(f"错误 (error): {exc.message}", err=True)
            sys.exit(1)
        except (OperationalError, ProgrammingError) as exc:
            click.echo(f"数据库错误 (database error): {exc.orig}. 是否已运行 `xieshang init`?", err=True)
            sys.exit(1)


@click.group(cls=_Group)
@click.option("--now", "now", help="Act as if it were this ISO 8601 time (for tools and tests).")
@click.pass_context
def cli(ctx, now):
    """xieshang 有事来协商 — consultation processes as executable BPMN."""
    settings = Settings.from_env()
    moment = parse_time(now)
    ctx.obj = {"settings": settings, "clock": FrozenClock(moment) if moment else SystemClock()}


def main() -> None:
    """Console entry point."""
    cli(prog_name="xieshang")
