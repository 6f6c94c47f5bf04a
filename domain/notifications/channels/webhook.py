"""Webhooks: a POST per delivery to a configured target, as plain JSON or as a WeCom or DingTalk group robot's
message (DingTalk signed when the target has a secret)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Iterable
from datetime import datetime
from typing import ClassVar
from urllib.parse import quote_plus

from sqlalchemy.orm import Session

from domain.notifications.channels.base import MAX_ERROR, Channel, DeliveryFailed, Letter, letter_of
from engine.settings import WebhookTarget
from engine.store.models import OutboxMessage


class Webhook(Channel):
    """The configured webhook targets that hear about the message's org units, kinds and level."""

    name = "webhook"

    def targets(self, units: set[str | None], kind: str, level: int) -> Iterable[tuple[str, dict]]:
        """Each matching target by name, with its format."""
        return [(target.name, {"format": target.format}) for target in self.cfg.webhooks
                if (not target.org_units or units & set(target.org_units))
                and (not target.kinds or kind in target.kinds) and level >= target.min_level]

    def send(self, session: Session, message: OutboxMessage, now: datetime) -> None:
        """POST the row's letter to the target it names."""
        target = next((t for t in self.cfg.webhooks if t.name == message.recipient), None)
        if target is None:
            raise DeliveryFailed(f"未配置 webhook {message.recipient} (no such webhook target)")
        post_webhook(target, letter_of(message), now, self.cfg.timeout)


class JsonFormat:
    """A plain JSON document with every field of the letter; any 2xx reply succeeds."""

    name: ClassVar[str] = "json"
    robot: ClassVar[bool] = False      # a group robot answers 2xx with an `errcode` that must be 0

    def __init__(self, target: WebhookTarget):
        self.target = target

    def body(self, letter: Letter) -> dict:
        """The JSON document to POST."""
        return {"idempotency_key": letter.key, "kind": letter.kind, "level": letter.level, "title": letter.title,
                "body": letter.body, "instance_id": letter.instance_id, "task_id": letter.task_id,
                "org_unit": letter.org_unit, "link": letter.link, "created_at": letter.created_at.isoformat()}

    def url(self, now: datetime) -> str:
        """Where to POST it."""
        return self.target.url


class WeComFormat(JsonFormat):
    """A WeCom (企业微信) group robot's text message, mentioning the configured mobiles or everyone."""

    name = "wecom"
    robot = True

    def body(self, letter: Letter) -> dict:
        """The robot's `text` message."""
        text = {"content": letter.text}
        if self.target.at_mobiles or self.target.at_all:
            text["mentioned_mobile_list"] = list(self.target.at_mobiles) + (["@all"] if self.target.at_all else [])
        return {"msgtype": "text", "text": text}


class DingTalkFormat(JsonFormat):
    """A DingTalk (钉钉) group robot's text message; with a secret the URL carries the 加签 signature."""

    name = "dingtalk"
    robot = True

    def body(self, letter: Letter) -> dict:
        """The robot's `text` message, with its `at` block."""
        body = {"msgtype": "text", "text": {"content": letter.text}}
        if self.target.at_mobiles or self.target.at_all:
            body["at"] = {"atMobiles": list(self.target.at_mobiles), "isAtAll": self.target.at_all}
        return body

    def url(self, now: datetime) -> str:
        """DingTalk robots with 加签 want `timestamp` and an HMAC-SHA256 `sign` in the query string."""
        target = self.target
        if not target.secret:
            return target.url
        timestamp = str(int(now.timestamp() * 1000))
        digest = hmac.new(target.secret.encode(), f"{timestamp}\n{target.secret}".encode(), hashlib.sha256).digest()
        separator = "&" if "?" in target.url else "?"
        return f"{target.url}{separator}timestamp={timestamp}&sign={quote_plus(base64.b64encode(digest).decode())}"


FORMATS: dict[str, type[JsonFormat]] = {f.name: f for f in (JsonFormat, WeComFormat, DingTalkFormat)}


def format_of(target: WebhookTarget) -> JsonFormat:
    """The payload format of a target (settings refuse any other name when they are read)."""
    return FORMATS[target.format](target)


def webhook_body(target: WebhookTarget, letter: Letter) -> dict:
    """The JSON document for the target's format."""
    return format_of(target).body(letter)


def signed_url(target: WebhookTarget, now: datetime) -> str:
    """The URL to POST to: DingTalk targets with a secret carry `timestamp` and `sign`."""
    return format_of(target).url(now)


def post_webhook(target: WebhookTarget, letter: Letter, now: datetime, timeout: float) -> None:
    """POST the letter; 2xx succeeds, except a robot answering `errcode` other than 0."""
    shape = format_of(target)
    data = json.dumps(shape.body(letter), ensure_ascii=False).encode()
    request = urllib.request.Request(shape.url(now), data=data, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "Idempotency-Key": letter.key,
        "User-Agent": "xieshang-notify/1"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:   # noqa: S310 - URL from admin config
            reply = response.read(65536)
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"webhook {target.name}: HTTP {exc.code} {exc.reason}"[:MAX_ERROR]) from None
    except (OSError, ValueError) as exc:       # refused, timed out, bad URL
        raise DeliveryFailed(f"webhook {target.name}: {type(exc).__name__}: {exc}"[:MAX_ERROR]) from None
    if shape.robot:
        _check_robot_reply(target, reply)


def _check_robot_reply(target: WebhookTarget, reply: bytes) -> None:
    try:
        answer = json.loads(reply or b"{}")
    except ValueError:
        raise DeliveryFailed(f"webhook {target.name}: reply is not JSON: {reply[:200]!r}") from None
    code = answer.get("errcode", 0) if isinstance(answer, dict) else 0
    if code != 0:
        raise DeliveryFailed(f"webhook {target.name}: errcode {code} {answer.get('errmsg', '')}"[:MAX_ERROR])
