"""`xieshang init`, `xieshang demo` and `xieshang backfill`: set up the database, load the demo county, and record
older instances' submitted forms and evidence files for their case files."""

from __future__ import annotations

import click
from sqlalchemy import exists, select

from cli.common import emit, engine_of, services_of
from domain.consultation import demo as demo_directory
from domain.consultation import demo_cases, figure_counts
from domain.halls import demo as hall_demo
from domain.meetings import demo as demo_meetings
from domain.plans import demo as demo_plans
from domain.services import Services
from domain.work import legacy_uploads
from engine.clock import FrozenClock
from engine.failures import cause_of
from engine.store import db, submissions
from engine.store.models import ProcessInstance
from engine.store.submissions import TaskSubmission


@click.command()
@click.pass_context
def init(ctx):
    """Create or upgrade the database."""
    db.upgrade(ctx.obj["settings"].database_url)
    services = services_of(ctx)
    ctx.call_on_close(services.close)
    with services.engine.unit_of_work() as session:      # counters added by an upgrade start from the records
        counted = figure_counts.fill_if_empty(session)
    if counted:
        click.echo(f"figure counters rebuilt from {counted} consultations", err=True)
    click.echo("database is up to date", err=True)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the demo accounts.")
@click.option("--once", is_flag=True, help="Do nothing if demo data is already loaded.")
@click.option("--no-cases", is_flag=True, help="People and processes only: run no demo consultations.")
@click.pass_context
def demo(ctx, as_json, once, no_cases):
    """Load demo org units, members and accounts, deploy the bundled processes, and run the demo consultations
    (once, into a database without any)."""
    engine = engine_of(ctx)
    ctx.call_on_close(services_of(ctx).close)       # the pool's connections closed (PostgreSQL warns otherwise)
    with engine.unit_of_work() as session:
        loaded = demo_directory.has_demo_data(session)
        if not (once and loaded):
            added = demo_directory.load_demo(session, engine.clock.now())
            click.echo(f"demo data: {added} accounts added", err=True)
        accounts = demo_directory.demo_accounts(session)
    if not (once and loaded):
        folder = ctx.obj["settings"].processes_path
        for bundle_dir in sorted(p for p in folder.iterdir() if p.is_dir() and any(p.glob("*.bpmn"))):
            deployed = engine.deploy([bundle_dir], actor="owner")
            click.echo(f"deployed {deployed.process_id} version {deployed.version}", err=True)
        if not no_cases:
            _demo_cases(ctx, engine)
        plans = demo_plans.load_plans(services_of(ctx), engine.clock.now())      # after the cases, before the halls'
        click.echo(f"demo plans: {plans} written", err=True)
        # meetings first: they are only added to a database without any, and the halls' demo holds activities too
        made = demo_meetings.load_meetings(lambda clock: Services(engine.sessions, clock, ctx.obj["settings"]),
                                           engine.clock.now())
        click.echo(f"demo meetings: {len(made)} recorded", err=True)
        with engine.unit_of_work() as session:
            click.echo(f"demo halls: {hall_demo.load(session, engine.clock.now())} profiles", err=True)
    if as_json:
        emit(accounts)


def _demo_cases(ctx, engine) -> None:
    """Run the demo's consultations through the engine on a clock of their own, once: only into a database where
    no consultation was ever started."""
    with engine.reading() as session:
        if demo_cases.has_cases(session):
            return
    now = engine.clock.now()
    started = demo_cases.load_cases(Services(engine.sessions, FrozenClock(now), ctx.obj["settings"]), now)
    click.echo(f"demo consultations: {len(started)} started", err=True)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print what was recorded.")
@click.pass_context
def backfill(ctx, as_json):
    """Record the submitted forms of instances started before submissions were recorded (read from their state),
    so their case files no longer depend on the stored state; each instance alone, once. Then adopt evidence files
    stored before upload records existed that those forms name; files nothing names are listed, not deleted."""
    engine = engine_of(ctx)
    with engine.reading() as session:
        recorded = exists().where(TaskSubmission.instance_id == ProcessInstance.id)
        pending = list(session.scalars(select(ProcessInstance.id).where(~recorded).order_by(ProcessInstance.id)))
    done, failed = {}, {}
    for instance_id in pending:
        try:
            with engine.unit_of_work() as session:
                row = engine.instance(session, instance_id)
                parsed, workflow = engine.load(row)
                done[instance_id] = submissions.backfill(session, row, parsed, workflow)
        except engine.transient_errors:
            raise                           # the database is down: nothing to record per instance
        except Exception as exc:  # noqa: BLE001 - one instance that cannot load stays as it was; the others go on
            failed[instance_id] = cause_of(exc)
    files = legacy_uploads.adopt(services_of(ctx).uploads)
    if as_json:
        emit({"recorded": done, "failed": failed,
              "files": {"adopted": {a.reference: {"instance_id": a.instance_id, "owner": a.owner, "task_id": a.task_id}
                                    for a in files.adopted},
                        "unreferenced": list(files.unreferenced)}})
        return
    click.echo(f"backfilled {len(done)} instances ({sum(done.values())} forms); {len(failed)} failed", err=True)
    click.echo(f"evidence files stored before upload records: {len(files.adopted)} adopted, "
               f"{len(files.unreferenced)} named by no form (left in place)", err=True)
    for name in files.unreferenced:
        click.echo(f"  not named by any form: {files_root(ctx) / name}", err=True)


def files_root(ctx):
    """The uploads folder of this invocation."""
    return services_of(ctx).uploads.root()
