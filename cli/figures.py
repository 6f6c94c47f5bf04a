"""`xieshang figures rebuild`: recompute the county's figure counters from the consultation records, the overdue
board's open-task counts from the open tasks, and the inbox's kept counts from the task rows.

The counters are kept up to date at every save; a rebuild is for after an upgrade that added them, after records
were changed outside the product, or to check them (`--check` reports the counters that differ and exits 1).
"""

from __future__ import annotations

import click

from cli.common import emit, services_of
from domain.consultation import figure_counts
from engine.store import open_counts, task_counts


@click.group()
def figures():
    """The county's figures (统计): their counters."""


@figures.command()
@click.option("--check", is_flag=True, help="Only compare the counters with a rebuild; change nothing.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def rebuild(ctx, check, as_json):
    """Recompute every figure counter from the records, every open-task count from the open tasks and every inbox
    count from the task rows (one transaction)."""
    services = services_of(ctx)
    ctx.call_on_close(services.close)
    with services.engine.unit_of_work() as session:
        before = figure_counts.all_counts(session)
        cases = figure_counts.rebuild(session)
        after = figure_counts.all_counts(session)
        open_before = open_counts.all_counts(session)
        open_tasks = open_counts.rebuild(session)
        open_after = open_counts.all_counts(session)
        inbox_before = task_counts.all_counts(session)
        inbox_tasks = task_counts.rebuild(session)
        inbox_after = task_counts.all_counts(session)
        if check:
            session.rollback()
    differ = sorted(key for key in set(before) | set(after) if before.get(key, 0) != after.get(key, 0))
    open_differ = sorted(key for key in set(open_before) | set(open_after)
                         if open_before.get(key, 0) != open_after.get(key, 0))
    inbox_differ = sorted(key for key in set(inbox_before) | set(inbox_after)
                          if inbox_before.get(key, 0) != inbox_after.get(key, 0))
    result = {"consultations": cases, "counters": len(after), "differed": len(differ), "open_tasks": open_tasks,
              "open_counts": len(open_after), "open_counts_differed": len(open_differ), "inbox_tasks": inbox_tasks,
              "inbox_counts": len(inbox_after), "inbox_counts_differed": len(inbox_differ), "checked_only": check}
    if as_json:
        emit(result)
    else:
        click.echo(f"{cases} consultations counted, {len(after)} counters; {len(differ)} differed from the kept ones"
                   + (" (nothing changed: --check)" if check else ""), err=True)
        for month, tier, unit, metric, step in differ[:20]:
            click.echo(f"  {month} {tier or '-'} {unit or '-'} {metric}{f' step {step}' if step else ''}: "
                       f"{before.get((month, tier, unit, metric, step), 0)} -> "
                       f"{after.get((month, tier, unit, metric, step), 0)}", err=True)
        click.echo(f"{open_tasks} open tasks counted, {len(open_after)} open-task counts; {len(open_differ)} differed",
                   err=True)
        for key in open_differ[:20]:
            unit, instance_unit, span, due = key
            click.echo(f"  open {unit or '-'} (case {instance_unit or '-'}) due {span} {due or '-'}: "
                       f"{open_before.get(key, 0)} -> {open_after.get(key, 0)}", err=True)
        click.echo(f"{inbox_tasks} tasks counted for the inboxes, {len(inbox_after)} inbox counts; "
                   f"{len(inbox_differ)} differed", err=True)
        for kind, subject, unit in inbox_differ[:20]:
            click.echo(f"  inbox {kind} {subject} {unit or '-'}: {inbox_before.get((kind, subject, unit), 0)} -> "
                       f"{inbox_after.get((kind, subject, unit), 0)}", err=True)
    if check and (differ or open_differ or inbox_differ):
        raise SystemExit(1)
