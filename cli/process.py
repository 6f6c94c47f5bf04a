"""Commands on process versions, instances and tasks: validate, deploy, start, tasks, complete, claim, release,
reassign, cancel, show, sweep, errors and retry."""

from __future__ import annotations

import sys

import click

from cli.common import emit, engine_of, parse_data, parse_time, services_of
from engine.store import queries
from engine.sweep import run_sweep


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.pass_context
def validate(ctx, paths):
    """Check a bundle: one `file:line element-id: message` line per problem (exit 1) and per notice (exit 0)."""
    problems, notices = engine_of(ctx).review(paths)
    for problem in problems + notices:
        click.echo(str(problem))
    sys.exit(1 if problems else 0)


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True)
@click.option("--as", "actor", default=None)
@click.option("--note", default="", help="What changed in this version (at most 500 characters).")
@click.pass_context
def deploy(ctx, paths, as_json, actor, note):
    """Deploy a bundle as an immutable version, the process's next number (identical content: same version)."""
    deployed = engine_of(ctx).deploy(paths, actor, note)
    if as_json:
        emit({"process_id": deployed.process_id, "version": deployed.version, "created": deployed.created,
              "number": deployed.number})
    else:
        click.echo(f"{deployed.process_id} v{deployed.number} {deployed.version}"
                   f"{'' if deployed.created else ' (unchanged)'}")


@click.command()
@click.argument("process")
@click.option("--data", "data", default="{}", help="Start data as a JSON object.")
@click.option("--as", "actor", default=None)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def start(ctx, process, data, actor, as_json):
    """Start an instance of the latest version of PROCESS."""
    instance_id = engine_of(ctx).start_instance(process, parse_data(data), actor)
    emit({"instance_id": instance_id}) if as_json else click.echo(instance_id)


_TASK_FIELDS = ("id", "instance_id", "task_spec", "name", "step", "lane", "candidates", "assignee", "due_at",
                "escalation_level", "form", "role", "org_unit", "tier", "revision")


TASK_CHUNK = 500


@click.command()
@click.option("--as", "actor", default=None, help="Only tasks this user may act on.")
@click.option("--instance", "instance_id", type=int, default=None)
@click.option("--limit", type=click.IntRange(1, 1_000_000), default=500, show_default=True,
              help="List at most this many (says so on stderr when more are left).")
@click.option("--all", "everything", is_flag=True, help="List every ready task, however many.")
@click.option("--page-size", type=click.IntRange(1, TASK_CHUNK), default=TASK_CHUNK, hidden=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def tasks(ctx, actor, instance_id, limit, everything, page_size, as_json):
    """List ready tasks, soonest due first, read from the database in pages of 500."""
    engine, views, after = engine_of(ctx), [], None
    while everything or len(views) <= limit:      # one more than the limit: to know whether more are left
        wanted = page_size if everything else min(page_size, limit + 1 - len(views))
        chunk = engine.list_tasks(actor, instance_id, limit=wanted, after=after)
        views += chunk
        if len(chunk) < wanted:
            break
        after = queries.task_key(chunk[-1])
    if not everything and len(views) > limit:
        views = views[:limit]
        click.echo(f"只列出前 {limit} 项，还有更多；用 --all 列出全部或加大 --limit "
                   f"(showing the first {limit}; more are left: use --all or a larger --limit)", err=True)
    if as_json:
        emit([{k: v.as_dict()[k] for k in _TASK_FIELDS} for v in views])
        return
    for v in views:
        due = v.due_at.strftime("%Y-%m-%d %H:%M") if v.due_at else "-"
        click.echo(f"{v.id}  #{v.instance_id}  {v.name}  step={v.step}  due={due}  "
                   f"{v.assignee or ','.join(v.candidates[:3])}")


@click.command()
@click.argument("task_id")
@click.option("--data", "data", default="{}")
@click.option("--as", "actor", required=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def complete(ctx, task_id, data, actor, as_json):
    """Complete TASK_ID with form data; exit 1 with field errors if the data is invalid."""
    instance_id = engine_of(ctx).complete_task(task_id, parse_data(data), actor)
    emit({"instance_id": instance_id}) if as_json else click.echo(f"completed; instance {instance_id}", err=True)


@click.command()
@click.argument("task_id")
@click.option("--as", "actor", required=True)
@click.pass_context
def claim(ctx, task_id, actor):
    """Claim a task."""
    engine_of(ctx).claim_task(task_id, actor)


@click.command()
@click.argument("task_id")
@click.option("--as", "actor", required=True)
@click.pass_context
def release(ctx, task_id, actor):
    """Release a claimed task."""
    engine_of(ctx).release_task(task_id, actor)


@click.command()
@click.argument("task_id")
@click.argument("to_user")
@click.option("--as", "actor", required=True)
@click.pass_context
def reassign(ctx, task_id, to_user, actor):
    """Reassign (转办) a task to another holder of its role."""
    engine_of(ctx).reassign_task(task_id, to_user, actor)


@click.command()
@click.argument("instance_id", type=int)
@click.option("--as", "actor", default=None)
@click.option("--reason", default="")
@click.pass_context
def cancel(ctx, instance_id, actor, reason):
    """Cancel a running instance."""
    engine_of(ctx).cancel_instance(instance_id, actor, reason)


@click.command()
@click.argument("instance_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def show(ctx, instance_id, as_json):
    """Show an instance: status, step, data and events."""
    view = engine_of(ctx).show_instance(instance_id).as_dict()
    if as_json:
        emit(view)
        return
    click.echo(f"#{view['id']} {view['process_id']} {view['version']} {view['status']} step={view['step']}")
    for event in view["events"]:
        click.echo(f"  {event['at']}  {event['kind']}  {event['actor'] or ''}")


@click.command()
@click.option("--now", "now", default=None, help="Sweep as of this ISO 8601 time.")
@click.option("--json", "as_json", is_flag=True, help="Print what each part did.")
@click.pass_context
def sweep(ctx, now, as_json):
    """Fire due timers, then due reminders and escalations, then deliver due messages, once (e.g. from cron).

    Exit 1 when a whole part crashed; instances that failed alone go to `error` (see `xieshang errors`).
    """
    services = services_of(ctx)
    result = run_sweep(services.engine, parse_time(now) or services.engine.clock.now(), services.deliveries)
    if as_json:
        emit(result.as_dict())
    else:
        click.echo(f"fired timers of {len(result.fired)} instance(s), {result.deadlines} deadline action(s), "
                   f"{result.delivered} message(s) delivered", err=True)
        for part, ids in result.failed.items():
            click.echo(f"失败 (failed) {part}: {', '.join(map(str, ids))}", err=True)
    for part, error in result.errors.items():
        click.echo(f"错误 (error): {part}: {error}", err=True)
    if result.errors:
        sys.exit(1)


@click.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def errors(ctx, as_json):
    """List instances stopped in `error`, with the element and the cause."""
    views = engine_of(ctx).list_errors()
    if as_json:
        emit([v.as_dict() for v in views])
        return
    for v in views:
        click.echo(f"#{v.id} {v.process_id} {v.version} step={v.step} {v.element or '-'}: {v.error}")


@click.command()
@click.argument("instance_id", type=int)
@click.option("--as", "actor", default=None)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def retry(ctx, instance_id, actor, as_json):
    """Run an instance in `error` again from its last good state; exit 1 if it fails again (with the new cause)."""
    view = engine_of(ctx).retry_instance(instance_id, actor)
    if as_json:
        emit(view.as_dict())
    elif view.status == "error":
        click.echo(f"仍然出错 (still in error): {view.error}", err=True)
    else:
        click.echo(f"已恢复 (recovered): #{view.id} {view.status}", err=True)
    if view.status == "error":
        sys.exit(1)
