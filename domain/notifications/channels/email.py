"""Email over SMTP: one message per delivery, with a Message-ID that is the same for every attempt."""

from __future__ import annotations

import hashlib
import re
import smtplib
import ssl
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.notifications.channels.base import MAX_ERROR, Channel, DeliveryFailed, Letter, Recipient, letter_of
from engine.settings import NotificationSettings
from engine.store.models import OutboxMessage, User

_BREAKS = re.compile(r"\s*[\r\n]+\s*")


class Email(Channel):
    """Email to the address on the person's account, when an SMTP server is configured."""

    name = "email"

    def reach(self, session: Session, people: Sequence[Recipient], kind: str) -> dict[str, dict]:
        """People with an email address whose role's rule lets `kind` through by email."""
        emails = dict(session.execute(select(User.username, User.email).where(
            User.username.in_([p.username for p in people]), User.email.isnot(None), User.email != ""))
                      .all()) if people else {}
        return {p.username: {"email": emails[p.username]} for p in people
                if self.cfg.smtp_host and p.username in emails and self.cfg.allows(p.role, self.name, kind)}

    def send(self, session: Session, message: OutboxMessage, now: datetime) -> None:
        """Send the row's letter to the address it was dispatched with."""
        send_email(self.cfg, (message.params or {}).get("email", ""), letter_of(message))


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
