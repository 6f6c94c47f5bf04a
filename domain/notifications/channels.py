"""The senders behind the outbox: email over SMTP and webhooks (plain JSON, WeCom or DingTalk group robots)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import smtplib
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from urllib.parse import quote_plus

from engine.settings import NotificationSettings, WebhookTarget
from engine.store.models import OutboxMessage

MAX_ERROR = 1000
_BREAKS = re.compile(r"\s*[\r\n]+\s*")


class DeliveryFailed(Exception):
    """A send that did not go through; the message says why (kept as the outbox row's last error)."""


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


def send(message: OutboxMessage, now: datetime, cfg: NotificationSettings) -> None:
    """Send one email or webhook delivery row; raises DeliveryFailed."""
    if message.channel == "email":
        send_email(cfg, (message.params or {}).get("email", ""), letter_of(message))
    elif message.channel == "webhook":
        target = next((t for t in cfg.webhooks if t.name == message.recipient), None)
        if target is None:
            raise DeliveryFailed(f"未配置 webhook {message.recipient} (no such webhook target)")
        post_webhook(target, letter_of(message), now, cfg.timeout)
    else:
        raise DeliveryFailed(f"未知渠道 {message.channel} (unknown channel)")


def message_id(key: str, sender: str) -> str:
    """A Message-ID that is the same for every attempt of one delivery, so mail clients drop duplicates."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "xieshang.invalid"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


def one_line(text: str) -> str:
    """A header value on one line: CR, LF and the whitespace around them fold into one space (a header with a line
    break is refused by the email package, and would let a subject inject headers)."""
    return _BREAKS.sub(" ", text).strip()


def send_email(cfg: NotificationSettings, address: str, letter: Letter) -> None:
    """Send one letter to `address` through the configured SMTP server."""
    if not cfg.smtp_host:
        raise DeliveryFailed("未配置 SMTP 服务器 (no SMTP host configured)")
    mail = EmailMessage()
    mail["Subject"] = one_line(letter.title)
    mail["From"] = cfg.smtp_from
    mail["To"] = address
    mail["Date"] = format_datetime(letter.created_at)
    mail["Message-ID"] = message_id(letter.key, cfg.smtp_from)
    mail["X-Xieshang-Key"] = letter.key
    mail.set_content(letter.text + "\n\n— 有事来协商 (xieshang)\n")
    try:
        with smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=cfg.timeout) as smtp:
            if cfg.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if cfg.smtp_user:
                smtp.login(cfg.smtp_user, cfg.smtp_password or "")
            smtp.send_message(mail)
    except (OSError, smtplib.SMTPException) as exc:    # refused, timed out, rejected by the server
        raise DeliveryFailed(f"SMTP {cfg.smtp_host}:{cfg.smtp_port}: {type(exc).__name__}: {exc}"[:MAX_ERROR]) from None


def webhook_body(target: WebhookTarget, letter: Letter) -> dict:
    """The JSON document for the target's format."""
    if target.format == "wecom":
        text = {"content": letter.text}
        if target.at_mobiles or target.at_all:
            text["mentioned_mobile_list"] = list(target.at_mobiles) + (["@all"] if target.at_all else [])
        return {"msgtype": "text", "text": text}
    if target.format == "dingtalk":
        body = {"msgtype": "text", "text": {"content": letter.text}}
        if target.at_mobiles or target.at_all:
            body["at"] = {"atMobiles": list(target.at_mobiles), "isAtAll": target.at_all}
        return body
    return {"idempotency_key": letter.key, "kind": letter.kind, "level": letter.level, "title": letter.title,
            "body": letter.body, "instance_id": letter.instance_id, "task_id": letter.task_id,
            "org_unit": letter.org_unit, "link": letter.link, "created_at": letter.created_at.isoformat()}


def signed_url(target: WebhookTarget, now: datetime) -> str:
    """DingTalk robots with 加签 want `timestamp` and an HMAC-SHA256 `sign` in the query string."""
    if target.format != "dingtalk" or not target.secret:
        return target.url
    timestamp = str(int(now.timestamp() * 1000))
    digest = hmac.new(target.secret.encode(), f"{timestamp}\n{target.secret}".encode(), hashlib.sha256).digest()
    separator = "&" if "?" in target.url else "?"
    return f"{target.url}{separator}timestamp={timestamp}&sign={quote_plus(base64.b64encode(digest).decode())}"


def post_webhook(target: WebhookTarget, letter: Letter, now: datetime, timeout: float) -> None:
    """POST the letter; 2xx succeeds, except a robot answering `errcode` other than 0."""
    data = json.dumps(webhook_body(target, letter), ensure_ascii=False).encode()
    request = urllib.request.Request(signed_url(target, now), data=data, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "Idempotency-Key": letter.key,
        "User-Agent": "xieshang-notify/1"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:   # noqa: S310 - URL from admin config
            reply = response.read(65536)
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"webhook {target.name}: HTTP {exc.code} {exc.reason}"[:MAX_ERROR]) from None
    except (OSError, ValueError) as exc:       # refused, timed out, bad URL
        raise DeliveryFailed(f"webhook {target.name}: {type(exc).__name__}: {exc}"[:MAX_ERROR]) from None
    if target.format in {"wecom", "dingtalk"}:
        _check_robot_reply(target, reply)


def _check_robot_reply(target: WebhookTarget, reply: bytes) -> None:
    try:
        answer = json.loads(reply or b"{}")
    except ValueError:
        raise DeliveryFailed(f"webhook {target.name}: reply is not JSON: {reply[:200]!r}") from None
    code = answer.get("errcode", 0) if isinstance(answer, dict) else 0
    if code != 0:
        raise DeliveryFailed(f"webhook {target.name}: errcode {code} {answer.get('errmsg', '')}"[:MAX_ERROR])
