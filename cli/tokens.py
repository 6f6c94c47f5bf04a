"""`xieshang token USERNAME`: issue an API token for a person (printed once; only its hash is kept)."""

from __future__ import annotations

import json

import click

from cli.common import services_of


@click.command()
@click.argument("username")
@click.option("--label", default="api", show_default=True, help="What the token is for (kept with it).")
@click.option("--json", "as_json", is_flag=True, help='Print {"token": …}.')
@click.pass_context
def token(ctx, username: str, label: str, as_json: bool) -> None:
    """Issue an API token for USERNAME (use it as `Authorization: Bearer <token>`)."""
    issued = services_of(ctx).accounts.issue_token(username, label)
    if as_json:
        click.echo(json.dumps({"token": issued}, ensure_ascii=False))
    else:
        click.echo(issued)
