"""`xieshang figures rebuild`: recompute the county's figure counters from the consultation records.

The counters are kept up to date at every save; a rebuild is for after an upgrade that added them, after records
were changed outside the product, or to check them (`--check` reports the counters that differ and exits 1).
"""

from __future__ import annotations

import click

from cli.common import emit, services_of
from domain.consultation import figure_counts


@click.group()
def figures():
    """The county's figures (统计): their counters."""


@figures.command()
@click.option("--check", is_flag=True, help="Only compare the counters with a rebuild; change nothing.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def rebuild(ctx, check, as_json):
    """Recompute every figure counter from the records (one transaction)."""
    services = services_of(ctx)
    ctx.call_on_close(services.close)
    with services.engine.unit_of_work() as session:
        before = figure_counts.all_counts(session)
        cases = figure_counts.rebuild(session)
        after = figure_counts.all_counts(session)
        if check:
            session.rollback()
    differ = sorted(key for key in set(before) | set(after) if before.get(key, 0) != after.get(key, 0))
    result = {"consultations": cases, "counters": len(after), "differed": len(differ), "checked_only": check}
    if as_json:
        emit(result)
    else:
        click.echo(f"{cases} consultations counted, {len(after)} counters; {len(differ)} differed from the kept ones"
                   + (" (nothing changed: --check)" if check else ""), err=True)
        for month, tier, unit, metric, step in differ[:20]:
            click.echo(f"  {month} {tier or '-'} {unit or '-'} {metric}{f' step {step}' if step else ''}: "
                       f"{before.get((month, tier, unit, metric, step), 0)} -> "
                       f"{after.get((month, tier, unit, metric, step), 0)}", err=True)
    if check and differ:
        raise SystemExit(1)
