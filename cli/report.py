"""`xieshang report --month 2026-05 [--tier county] [--unit CODE] [--as USER] --output report.pdf`: the monthly report
(协商工作月报) as a PDF file, the same one /figures/report.pdf serves.

Without --as the command acts as the operator at the command line, who may report on any unit (trusted like
`xieshang init`); with --as USER it makes the report that user would download (their units), or refuses with exit
status 1 when they may not see the figures."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from sqlalchemy import select

from cli.common import engine_of, fail, services_of
from domain.consultation import report as rep
from domain.consultation import report_pdf
from domain.consultation.vocabulary import TIER_NAMES
from domain.people import policy
from engine.store.models import OrgUnit


def _units(ctx, unit: str | None, username: str | None) -> frozenset[str] | None:
    """The units the report counts: the reader's (with --as), narrowed to --unit."""
    allowed = None
    if username is not None:
        user = services_of(ctx).accounts.user(username)
        if not policy.may_see_figures(user):
            fail(f"{username} may not see the figures, so gets no monthly report")
        allowed = policy.figures_units(user)
    if unit is None:
        return allowed
    with engine_of(ctx).reading() as session:
        if session.scalar(select(OrgUnit.id).where(OrgUnit.code == unit)) is None:
            fail(f"no org unit {unit!r}")
    if allowed is not None and unit not in allowed:
        fail(f"{username}'s figures do not count {unit!r}")
    return frozenset({unit})


@click.command()
@click.option("--month", required=True, help="The month, YYYY-MM (e.g. 2026-05).")
@click.option("--tier", type=click.Choice(sorted(TIER_NAMES)), help="Only this tier's consultations.")
@click.option("--unit", help="Only this org unit's consultations (its code).")
@click.option("--as", "username", help="Make the report USER would download (their units).")
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the PDF ('-' for standard output).")
@click.pass_context
def report(ctx, month, tier, unit, username, output):
    """The monthly report (协商工作月报) as a PDF."""
    try:
        period = rep.parse_month(month)
    except rep.MonthError:
        raise click.BadParameter(f"{month!r} is not a month: write YYYY-MM, e.g. 2026-05", param_hint="--month") \
            from None
    units = _units(ctx, unit, username)
    engine = engine_of(ctx)
    with engine.reading() as session:
        made = rep.build(session, period, engine.clock.now(), tier, units, engine.hooks)
    try:
        body = report_pdf.render(made)
    except report_pdf.FontMissing as exc:
        fail(str(exc))
    if str(output) == "-":
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
        return
    output.write_bytes(body)
    click.echo(f"{made.title}: {output} ({len(body)} bytes; {made.figures.held} consultations held, "
               f"{made.overdue_total} tasks overdue, {made.ledger.total} suggestions)", err=True)
