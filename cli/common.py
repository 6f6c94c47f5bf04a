"""What every command shares: parsing times and JSON, printing a document, and the one way to get the product."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import click

from domain.services import Services
from engine.service import Engine


def services_of(ctx: click.Context) -> Services:
    """The product for this invocation, built once from the root context's settings and clock."""
    obj = ctx.find_root().obj
    if "services" not in obj:
        obj["services"] = Services.from_settings(obj["settings"], obj["clock"])
    return obj["services"]


def engine_of(ctx: click.Context) -> Engine:
    """The engine of this invocation's product."""
    return services_of(ctx).engine


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 time (UTC when it names no offset), or None; a bad one is a usage error."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 time: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_data(value: str) -> dict:
    """A JSON object given on the command line; anything else is a usage error."""
    try:
        data = json.loads(value)
    except ValueError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise click.BadParameter("must be a JSON object")
    return data


def emit(payload) -> None:
    """Print one JSON document on stdout (Chinese as written, times as text)."""
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))


def fail(message: str) -> None:
    """Print an error on stderr and exit with status 1."""
    click.echo(f"错误 (error): {message}", err=True)
    sys.exit(1)
