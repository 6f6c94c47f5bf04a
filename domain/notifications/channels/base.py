"""What every channel shares: the letter a delivery carries, the failure it raises, the Channel base and the
registry that names each channel class."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from sqlalchemy.orm import Session

from engine.settings import NotificationSettings
from engine.store.models import HumanTask, OutboxMessage

MAX_ERROR = 1000


class DeliveryFailed(Exception):
    """A send that did not go through; the message says why (kept as the outbox row's last error)."""


class DeliveryRefused(DeliveryFailed):
    """A send that can never go through (a number no provider reaches, no template): parked at once, not retried."""


@dataclass(frozen=True)
class Recipient:
    """A person to tell, the role through which they are told, and the task it is about."""

    username: str
    role: str
    task: HumanTask | None


@dataclass(frozen=True)
class Letter:
    """What one delivery says, whatever the channel."""

    key: str
    kind: str
    level: int
    title: str
    body: str
    instance_id: int | None
    task_id: str | None
    org_unit: str | None
    link: str | None
    created_at: datetime

    @property
    def text(self) -> str:
        """Title, body and link as plain text."""
        return "\n".join(part for part in (self.title, self.body, self.link) if part)


def letter_of(message: OutboxMessage) -> Letter:
    """What a delivery row says."""
    p = message.params or {}
    return Letter(message.idempotency_key, p.get("kind", "result"), int(p.get("level", 0)), p.get("title", ""),
                  p.get("body", ""), message.instance_id, message.task_id, p.get("org_unit"), p.get("link"),
                  message.created_at)


class Channel:
    """One way of telling people. A subclass names itself, says whom it reaches and sends one delivery row;
    once registered, the dispatcher and the delivery loop find it by name."""

    name: ClassVar[str]
    in_transaction: ClassVar[bool] = False    # True: written in the caller's transaction, no network call

    def __init__(self, cfg: NotificationSettings):
        self.cfg = cfg

    def reach(self, session: Session, people: Sequence[Recipient], kind: str) -> dict[str, dict]:
        """The people this channel tells about a `kind` message: {username: extra params of their delivery}."""
        return {}

    def targets(self, units: set[str | None], kind: str, level: int) -> Iterable[tuple[str, dict]]:
        """Configured destinations that are not people (group robots): (recipient, extra params) pairs."""
        return ()

    def about(self, params: dict) -> Iterable[tuple[str, dict]]:
        """Destinations a request names itself (a phone a proposer left): (recipient, extra params) pairs."""
        return ()

    def delivery_key(self, request: OutboxMessage, recipient: str) -> str:
        """The idempotency key of this channel's delivery of `request` to `recipient`."""
        return f"{request.idempotency_key}:{self.name}:{recipient}"

    def send(self, session: Session, message: OutboxMessage, now: datetime) -> None:
        """Deliver one row of this channel; raises DeliveryFailed (retried) or DeliveryRefused (parked)."""
        raise NotImplementedError


CHANNELS: dict[str, type[Channel]] = {}


def register(channel: type[Channel]) -> type[Channel]:
    """List a channel under its name; fan-out asks the channels in the order they were registered."""
    CHANNELS[channel.name] = channel
    return channel


def build_channels(cfg: NotificationSettings) -> list[Channel]:
    """One instance of every registered channel, in registration order."""
    return [channel(cfg) for channel in CHANNELS.values()]


def channel_of(message: OutboxMessage, cfg: NotificationSettings) -> Channel:
    """The channel that delivers this row; raises DeliveryFailed for a name no channel has."""
    channel = CHANNELS.get(message.channel)
    if channel is None:
        raise DeliveryFailed(f"未知渠道 {message.channel} (unknown channel)")
    return channel(cfg)
