"""The senders behind the outbox, one class per channel (in-app, email, webhook), found by name in CHANNELS.

A new channel is one `Channel` subclass and one `register` line below."""

from domain.notifications.channels.base import (
    CHANNELS,
    MAX_ERROR,
    Channel,
    DeliveryFailed,
    Letter,
    Recipient,
    build_channels,
    channel_of,
    letter_of,
    register,
)
from domain.notifications.channels.email import Email
from domain.notifications.channels.inapp import InApp
from domain.notifications.channels.webhook import Webhook

# The registry, in fan-out order: a person's in-app row, then their email, then the webhook targets.
register(InApp)
register(Email)
register(Webhook)

__all__ = ["CHANNELS", "MAX_ERROR", "Channel", "DeliveryFailed", "Email", "InApp", "Letter", "Recipient", "Webhook",
           "build_channels", "channel_of", "letter_of", "register"]
