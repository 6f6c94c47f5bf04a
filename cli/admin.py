"""`xieshang init` and `xieshang demo`: set up the database and load the demo county."""

from __future__ import annotations

import click

from cli.common import emit, engine_of
from domain.consultation import demo as demo_directory
from engine.store import db


@click.command()
@click.pass_context
def init(ctx):
    """Create or upgrade the database."""
    db.upgrade(ctx.obj["settings"].database_url)
    click.echo("database is up to date", err=True)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the demo accounts.")
@click.option("--once", is_flag=True, help="Do nothing if demo data is already loaded.")
@click.pass_context
def demo(ctx, as_json, once):
    """Load demo org units, members and accounts, and deploy the bundled processes."""
    engine = engine_of(ctx)
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
        emit(accounts)
