"""The `xieshang` command line: stable verbs other tools drive; --json prints one document on stdout."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from importlib.metadata import entry_points

import click
from sqlalchemy.exc import OperationalError, ProgrammingError

from domain.consultation import demo as demo_directory
from domain.services import Services
from engine.clock import FrozenClock, SystemClock
from engine.errors import EngineError, SpecInvalid, ValidationFailed
from engine.service import Engine
from engine.settings import Settings
from engine.store import db
from engine.sweep import run_sweep


def _parse_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 time: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _parse_data(value: str) -> dict:
    try:
        data = json.loads(value)
    except ValueError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise click.BadParameter("must be a JSON object")
    return data


def _emit(payload) -> None:
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))


class _Group(click.Group):
    """Turns engine errors into a message and exit status 1, never a traceback.

    Commands other packages register (`xieshang.commands` entry points: serve, worker, beat…) load only when
    invoked, so a plain engine command does not import Flask or Celery.
    """

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | {ep.name for ep in entry_points(group="xieshang.commands")})

    def get_command(self, ctx, name):
        command = super().get_command(ctx, name)
        if command is None:
            found = entry_points(group="xieshang.commands", name=name)
            command = next(iter(found)).load() if found else None
        return command

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
    moment = _parse_time(now)
    ctx.obj = {"settings": settings, "clock": FrozenClock(moment) if moment else SystemClock()}


def _services(ctx) -> Services:
    """The product, built once per command line from its settings and clock."""
    obj = ctx.find_root().obj
    if "services" not in obj:
        obj["services"] = Services.from_settings(obj["settings"], obj["clock"])
    return obj["services"]


def _engine(ctx) -> Engine:
    return _services(ctx).engine


@cli.command()
@click.pass_context
def init(ctx):
    """Create or upgrade the database."""
    db.upgrade(ctx.obj["settings"].database_url)
    click.echo("database is up to date", err=True)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the demo accounts.")
@click.option("--once", is_flag=True, help="Do nothing if demo data is already loaded.")
@click.pass_context
def demo(ctx, as_json, once):
    """Load demo org units, members and accounts, and deploy the bundled processes."""
    engine = _engine(ctx)
    with engine.unit_of_work() as session:
        loaded = demo_directory.has_demo_data(session)
        if not (once and loaded):
            added = demo_directory.load_demo(session, engine.clock.now())
            click.echo(f"demo data: {added} accounts added", err=True)
        accounts = demo_directory.demo_accounts(session)
    if not (once and loaded):
        for bundle_dir in sorted(p for p in ctx.obj["settings"].processes_path.iterdir() if p.is_dir()):
            deployed = engine.deploy([bundle_dir], actor="owner")
            click.echo(f"deployed {deployed.process_id} version {deployed.version}", err=True)
    if as_json:
        _emit(accounts)


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.pass_context
def validate(ctx, paths):
    """Check a bundle: one `file:line element-id: message` line per problem (exit 1) and per notice (exit 0)."""
    problems, notices = _engine(ctx).review(paths)
    for problem in problems + notices:
        click.echo(str(problem))
    sys.exit(1 if problems else 0)


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True)
@click.option("--as", "actor", default=None)
@click.pass_context
def deploy(ctx, paths, as_json, actor):
    """Deploy a bundle as an immutable version (identical content: same version)."""
    deployed = _engine(ctx).deploy(paths, actor)
    if as_json:
        _emit({"process_id": deployed.process_id, "version": deployed.version, "created": deployed.created})
    else:
        click.echo(f"{deployed.process_id} {deployed.version}{'' if deployed.created else ' (unchanged)'}")


@cli.command()
@click.argument("process")
@click.option("--data", "data", default="{}", help="Start data as a JSON object.")
@click.option("--as", "actor", default=None)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def start(ctx, process, data, actor, as_json):
    """Start an instance of the latest version of PROCESS."""
    instance_id = _engine(ctx).start_instance(process, _parse_data(data), actor)
    _emit({"instance_id": instance_id}) if as_json else click.echo(instance_id)


_TASK_FIELDS = ("id", "instance_id", "task_spec", "name", "step", "lane", "candidates", "assignee", "due_at",
                "escalation_level", "form", "role", "org_unit", "tier", "revision")


@cli.command()
@click.option("--as", "actor", default=None, help="Only tasks this user may act on.")
@click.option("--instance", "instance_id", type=int, default=None)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def tasks(ctx, actor, instance_id, as_json):
    """List ready tasks, soonest due first."""
    views = _engine(ctx).list_tasks(actor, instance_id)
    if as_json:
        _emit([{k: v.as_dict()[k] for k in _TASK_FIELDS} for v in views])
        return
    for v in views:
        due = v.due_at.strftime("%Y-%m-%d %H:%M") if v.due_at else "-"
        click.echo(f"{v.id}  #{v.instance_id}  {v.name}  step={v.step}  due={due}  "
                   f"{v.assignee or ','.join(v.candidates[:3])}")


@cli.command()
@click.argument("task_id")
@click.option("--data", "data", default="{}")
@click.option("--as", "actor", required=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def complete(ctx, task_id, data, actor, as_json):
    """Complete TASK_ID with form data; exit 1 with field errors if the data is invalid."""
    instance_id = _engine(ctx).complete_task(task_id, _parse_data(data), actor)
    _emit({"instance_id": instance_id}) if as_json else click.echo(f"completed; instance {instance_id}", err=True)


@cli.command()
@click.argument("task_id")
@click.option("--as", "actor", required=True)
@click.pass_context
def claim(ctx, task_id, actor):
    """Claim a task."""
    _engine(ctx).claim_task(task_id, actor)


@cli.command()
@click.argument("task_id")
@click.option("--as", "actor", required=True)
@click.pass_context
def release(ctx, task_id, actor):
    """Release a claimed task."""
    _engine(ctx).release_task(task_id, actor)


@cli.command()
@click.argument("task_id")
@click.argument("to_user")
@click.option("--as", "actor", required=True)
@click.pass_context
def reassign(ctx, task_id, to_user, actor):
    """Reassign (转办) a task to another holder of its role."""
    _engine(ctx).reassign_task(task_id, to_user, actor)


@cli.command()
@click.argument("instance_id", type=int)
@click.option("--as", "actor", default=None)
@click.option("--reason", default="")
@click.pass_context
def cancel(ctx, instance_id, actor, reason):
    """Cancel a running instance."""
    _engine(ctx).cancel_instance(instance_id, actor, reason)


@cli.command()
@click.argument("instance_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def show(ctx, instance_id, as_json):
    """Show an instance: status, step, data and events."""
    view = _engine(ctx).show_instance(instance_id).as_dict()
    if as_json:
        _emit(view)
        return
    click.echo(f"#{view['id']} {view['process_id']} {view['version']} {view['status']} step={view['step']}")
    for event in view["events"]:
        click.echo(f"  {event['at']}  {event['kind']}  {event['actor'] or ''}")


@cli.command()
@click.option("--now", "now", default=None, help="Sweep as of this ISO 8601 time.")
@click.option("--json", "as_json", is_flag=True, help="Print what each part did.")
@click.pass_context
def sweep(ctx, now, as_json):
    """Fire due timers, then due reminders and escalations, then deliver due messages, once (e.g. from cron).

    Exit 1 when a whole part crashed; instances that failed alone go to `error` (see `xieshang errors`).
    """
    services = _services(ctx)
    result = run_sweep(services.engine, _parse_time(now) or services.engine.clock.now(), services.deliveries)
    if as_json:
        _emit(result.as_dict())
    else:
        click.echo(f"fired timers of {len(result.fired)} instance(s), {result.deadlines} deadline action(s), "
                   f"{result.delivered} message(s) delivered", err=True)
        for part, ids in result.failed.items():
            click.echo(f"失败 (failed) {part}: {', '.join(map(str, ids))}", err=True)
    for part, error in result.errors.items():
        click.echo(f"错误 (error): {part}: {error}", err=True)
    if result.errors:
        sys.exit(1)


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def errors(ctx, as_json):
    """List instances stopped in `error`, with the element and the cause."""
    views = _engine(ctx).list_errors()
    if as_json:
        _emit([v.as_dict() for v in views])
        return
    for v in views:
        click.echo(f"#{v.id} {v.process_id} {v.version} step={v.step} {v.element or '-'}: {v.error}")


@cli.command()
@click.argument("instance_id", type=int)
@click.option("--as", "actor", default=None)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def retry(ctx, instance_id, actor, as_json):
    """Run an instance in `error` again from its last good state; exit 1 if it fails again (with the new cause)."""
    view = _engine(ctx).retry_instance(instance_id, actor)
    if as_json:
        _emit(view.as_dict())
    elif view.status == "error":
        click.echo(f"仍然出错 (still in error): {view.error}", err=True)
    else:
        click.echo(f"已恢复 (recovered): #{view.id} {view.status}", err=True)
    if view.status == "error":
        sys.exit(1)


def main() -> None:
    """Console entry point."""
    cli(prog_name="xieshang")
from cli.calendar import calendar as _calendar; cli.add_command(_calendar)  # noqa: E402, E702, I001
from cli import notifications as _notifications  # noqa: E402,F401  (registers `notifications` and `outbox`)
