"""The senders behind the outbox, one class per channel (in-app, email, webhook, SMS), found by name in CHANNELS.

A new channel is one `Channel` subclass and one `register` line below."""

from domain.notifications.channels.base import (
    CHANNELS,
    MAX_ERROR,
    Channel,
    DeliveryFailed,
    DeliveryRefused,
    Letter,
    Recipient,
    build_channels,
    channel_of,
    letter_of,
    register,
)
from domain.notifications.channels.email import Email
from domain.notifications.channels.inapp import InApp
from domain.notifications.channels.sms import Sms
from domain.notifications.channels.webhook import Webhook

# The registry, in fan-out order: a person's in-app row, then their email, then the webhook targets, then a
# proposer's phone.
register(InApp)
register(Email)
register(Webhook)
register(Sms)

__all__ = ["CHANNELS", "MAX_ERROR", "Channel", "DeliveryFailed", "DeliveryRefused", "Email", "InApp", "Letter",
           "Recipient", "Sms", "Webhook", "build_channels", "channel_of", "letter_of", "register"]
