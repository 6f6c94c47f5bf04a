"""`xieshang token USERNAME`: issue an API token for a person (printed once; only its hash is kept), list their
tokens (`--list`) or revoke one (`--revoke ID`)."""

from __future__ import annotations

import json
from datetime import timedelta

import click

from cli.common import services_of
from domain.people.tokens import MAX_LIFETIME


@click.command()
@click.argument("username")
@click.option("--label", default="api", show_default=True, help="What the token is for (kept with it).")
@click.option("--days", type=click.IntRange(1, MAX_LIFETIME.days), default=None,
              help="How many days the token lasts (default: the server's token lifetime, 90 days).")
@click.option("--list", "listing", is_flag=True, help="List USERNAME's tokens instead (never the tokens themselves).")
@click.option("--revoke", "revoke_id", type=click.IntRange(1), default=None, help="Revoke USERNAME's token ID.")
@click.option("--json", "as_json", is_flag=True, help='Print {"token": …} (or the list) as JSON.')
@click.pass_context
def token(ctx, username: str, label: str, days: int | None, listing: bool, revoke_id: int | None,
          as_json: bool) -> None:
    """Issue an API token for USERNAME (use it as `Authorization: Bearer <token>`), list or revoke their tokens."""
    accounts = services_of(ctx).accounts
    owner = accounts.user(username)
    if listing:
        rows = [{"id": t.id, "label": t.label, "created_at": t.created_at.isoformat(),
                 "expires_at": t.expires_at.isoformat() if t.expires_at else None,
                 "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None, "valid": t.valid}
                for t in accounts.tokens_of(owner)]
        click.echo(json.dumps(rows, ensure_ascii=False) if as_json else "\n".join(
            f"{r['id']}\t{r['label']}\t{r['expires_at']}\t{'valid' if r['valid'] else 'ended'}" for r in rows))
        return
    if revoke_id is not None:
        accounts.revoke_token(owner, revoke_id)     # as the owner: only their own token can be named
        click.echo(f"revoked {revoke_id}")
        return
    issued = accounts.issue_token(username, label, timedelta(days=days) if days else None)
    if as_json:
        click.echo(json.dumps({"token": issued}, ensure_ascii=False))
    else:
        click.echo(issued)
