"""`xieshang calendar …`: show a year's working-day calendar and enter the State Council's holiday schedule.

Without --as the command acts as the operator at the command line ("system"), who is trusted like
`xieshang init`; with --as USER the user must be an active admin, or nothing changes and the exit status is 1.
"""

from __future__ import annotations

import json

import chinese_calendar
import click

from cli.common import fail, services_of
from domain.calendar.workdays import WorkCalendar, package_coverage


def _calendar(ctx) -> WorkCalendar:
    return services_of(ctx).calendar()


def _actor(ctx, username: str | None):
    """None for the command-line operator, else the named user (refused later unless an active admin)."""
    return None if username is None else services_of(ctx).accounts.user(username)


@click.group()
def calendar():
    """Working-day calendar: holidays and make-up working days (调休)."""


@calendar.command()
@click.argument("year", type=click.IntRange(2000, 2100))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def show(ctx, year, as_json):
    """Every day of YEAR that is not an ordinary weekday or weekend, and where the year's calendar comes from."""
    view = _calendar(ctx).year(year)
    coverage = package_coverage()
    if as_json:
        click.echo(json.dumps({"year": year, "basis": view.basis, "warning": view.warning,
                               "package": {"name": "chinese-calendar", "version": chinese_calendar.__version__,
                                           "covers": list(coverage) if coverage else None},
                               "days": [d.as_dict() for d in view.days]}, ensure_ascii=False, indent=2))
        return
    covers = f"{coverage[0]}–{coverage[1]}" if coverage else "-"
    click.echo(f"{year} basis: {view.basis}  (chinese-calendar {chinese_calendar.__version__} covers {covers})")
    for d in view.days:
        by = f" by {d.entered_by}" if d.entered_by else ""
        click.echo(f"{d.day.isoformat()} {d.day.strftime('%a')}  {d.kind:<7}  {d.source}{by}  {d.note}".rstrip())
    if view.warning:
        click.echo(f"警告 (warning): {view.warning}", err=True)


@calendar.command("set")
@click.argument("day", metavar="DATE")
@click.argument("kind", metavar="holiday|workday")
@click.option("--note", default="", help="E.g. 春节 or 春节调休.")
@click.option("--as", "actor", default=None, help="An admin's username (default: the command-line operator).")
@click.pass_context
def set_day(ctx, day, kind, note, actor):
    """Enter DATE (YYYY-MM-DD) as a holiday or a make-up working day; it overrides the package."""
    entered = _calendar(ctx).set_day(_actor(ctx, actor), day, kind, note)
    click.echo(f"{entered.day.isoformat()} {entered.kind} {entered.note}".rstrip(), err=True)


@calendar.command("unset")
@click.argument("day", metavar="DATE")
@click.option("--as", "actor", default=None, help="An admin's username (default: the command-line operator).")
@click.pass_context
def unset_day(ctx, day, actor):
    """Remove an entered DATE; the package (or Monday to Friday) decides it again."""
    _calendar(ctx).unset_day(_actor(ctx, actor), day)
    click.echo(f"{day} removed", err=True)


@calendar.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--as", "actor", default=None, help="An admin's username (default: the command-line operator).")
@click.pass_context
def import_days(ctx, file, actor):
    """Enter every day in FILE, a JSON list of {"date", "kind", "note"}: all of them, or none if any is wrong."""
    try:
        with open(file, encoding="utf-8") as fh:
            entries = json.load(fh)
    except (ValueError, UnicodeDecodeError) as exc:
        fail(f"{file} 不是有效的 JSON 文件 (not valid JSON): {exc}")
    if not isinstance(entries, list):
        fail(f"{file} 应为 JSON 列表 [{{date, kind, note}}, …] (must be a JSON list of objects)")
    entered = _calendar(ctx).enter_days(_actor(ctx, actor), entries)
    years = sorted({d.day.year for d in entered})
    click.echo(f"entered {len(entered)} day(s) in {', '.join(map(str, years))}", err=True)

