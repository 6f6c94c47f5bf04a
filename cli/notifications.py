"""`xieshang notifications` (a person's notification centre) and `xieshang outbox` (deliveries, retry, deliver)."""

from __future__ import annotations

import click

from cli.common import emit, services_of
from domain.notifications.centre import NotificationCentre
from domain.notifications.dispatch import STATUSES

_NOTIFICATION_FIELDS = ("id", "kind", "level", "task_id", "instance_id", "created_at", "read", "title", "body")
_OUTBOX_FIELDS = ("id", "idempotency_key", "instance_id", "task_id", "operator", "channel", "recipient", "kind",
                  "status", "attempts", "last_error", "created_at", "next_attempt_at", "sent_at")


def _centre(ctx) -> NotificationCentre:
    return services_of(ctx).notifications()


@click.group(invoke_without_command=True)
@click.option("--as", "username", required=True, help="Whose notifications.")
@click.option("--unread", is_flag=True, help="Only unread ones.")
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def notifications(ctx, username, unread, limit, as_json):
    """List a person's notifications, newest first."""
    ctx.obj["username"] = username
    if ctx.invoked_subcommand is not None:
        return
    views = _centre(ctx).notifications(username, unread_only=unread, limit=limit)
    if as_json:
        emit([{k: v.as_dict()[k] for k in _NOTIFICATION_FIELDS} for v in views])
        return
    for v in views:
        click.echo(f"{v.id}  {'  ' if v.read else '● '}{v.created_at:%Y-%m-%d %H:%M}  {v.kind}  {v.title}")


@notifications.command("read")
@click.argument("ids", nargs=-1, type=int)
@click.pass_context
def notifications_read(ctx, ids):
    """Mark notifications read (all unread ones without IDS)."""
    count = _centre(ctx).mark_read(ctx.obj["username"], list(ids) if ids else None)
    click.echo(f"marked {count} read", err=True)


@click.group(invoke_without_command=True)
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Only messages in this status.")
@click.option("--limit", type=int, default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def outbox(ctx, status, limit, as_json):
    """List outbox messages (requests and their deliveries), newest first."""
    if ctx.invoked_subcommand is not None:
        return
    views = _centre(ctx).outbox(status, limit)
    if as_json:
        emit([{k: v.as_dict()[k] for k in _OUTBOX_FIELDS} for v in views])
        return
    for v in views:
        click.echo(f"{v.id}  {v.status:<10} {v.channel:<8} {v.recipient or '-':<20} attempts={v.attempts}"
                   f"{'  ' + v.last_error if v.last_error else ''}")


@outbox.command("retry")
@click.argument("message_id", type=int)
@click.pass_context
def outbox_retry(ctx, message_id):
    """Re-queue a parked (or failing) delivery; it goes out on the next delivery run."""
    view = _centre(ctx).retry(message_id)
    click.echo(f"message {view.id} is {view.status} again", err=True)


@outbox.command("deliver")
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def outbox_deliver(ctx, limit, as_json):
    """Dispatch and deliver what is due now (what the scheduler and the Celery beat do)."""
    sent = _centre(ctx).deliver_due(limit)
    emit({"sent": sent}) if as_json else click.echo(f"sent {sent} message(s)", err=True)
