"""Text messages (短信) to a proposer's mainland mobile, through Aliyun (Dysmsapi SendSms, RPC signature V1 with
HMAC-SHA1) or Tencent Cloud (SendSms, TC3-HMAC-SHA256): the provider is chosen by `[notifications.sms]`.

Providers only send pre-approved templates, so a delivery carries the moment's template variables, each cut to a
bounded length. Numbers appear masked (138****1234) everywhere but in the request itself. Configuration:

    [notifications.sms]                 # or XIESHANG_SMS_PROVIDER, XIESHANG_SMS_ACCESS_KEY_ID, ... (these win)
    provider = "aliyun"                 # or "tencent"
    access_key_id = "LTAI..."           # keep the secret in XIESHANG_SMS_ACCESS_KEY_SECRET
    sign_name = "有事来协商"
    app_id = "1400000000"               # Tencent's SmsSdkAppId only
    [notifications.sms.templates]       # or XIESHANG_SMS_TEMPLATE_ACCEPTED, ...; a moment without one is not sent
    accepted = "SMS_1"                  # variables: title, code  (the tracking code)
    declined = "SMS_2"                  #            title, reason (the public reason)
    meeting_held = "SMS_3"              #            title, date
    published = "SMS_4"                 #            title, report
Tencent takes the variables by position, in the order listed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import ClassVar
from urllib.parse import quote, urlsplit

from sqlalchemy.orm import Session

from domain.notifications.channels.base import MAX_ERROR, Channel, DeliveryFailed, DeliveryRefused
from engine.settings import SmsSettings
from engine.store.models import OutboxMessage

MOBILE = re.compile(r"^(?:\+?86)?(1[3-9][0-9]{9})$")
MAX_REPLY = 65536


def mask_phone(phone: str | None) -> str:
    """A number as logs and admin pages show it: 138****1234 (short or odd values show only their ends)."""
    digits = re.sub(r"[\s-]", "", phone or "")
    if len(digits) >= 8:
        return f"{digits[:3]}****{digits[-4:]}"
    return "****" if digits else ""


def mainland_mobile(phone: str | None) -> str:
    """The 11-digit mainland mobile number in `phone` (spaces, dashes and +86 allowed); raises DeliveryRefused."""
    found = MOBILE.match(re.sub(r"[\s-]", "", phone or ""))
    if found is None:
        raise DeliveryRefused(f"号码 {mask_phone(phone) or '(空)'} 不是中国大陆手机号，无法发送短信 "
                              f"(not an 11-digit mainland mobile number)")
    return found.group(1)


def bounded(values: dict, limit: int) -> dict[str, str]:
    """Template variables as strings on one line, each at most `limit` characters (cut with …)."""
    out = {}
    for key, value in values.items():
        text = " ".join(str(value if value is not None else "").split())
        out[str(key)] = text if len(text) <= limit else text[:limit - 1] + "…"
    return out


def percent(text: str) -> str:
    """RFC 3986 percent-encoding as Aliyun's signature wants it (only A-Z a-z 0-9 - _ . ~ stay as they are)."""
    return quote(text, safe="~")


class Provider:
    """One SMS HTTP API: builds the signed request for one message and judges the reply."""

    name: ClassVar[str]
    refused_codes: ClassVar[tuple[str, ...]] = ()      # the provider's codes for a number it will never reach

    def __init__(self, cfg: SmsSettings):
        self.cfg = cfg

    def request(self, phone: str, template: str, values: dict[str, str], now: datetime,
                nonce: str) -> urllib.request.Request:
        """The signed HTTP request that sends `template` with `values` to `phone`."""
        raise NotImplementedError

    def error_of(self, reply: dict) -> tuple[str, str] | None:
        """The provider's (code, message) when the reply says the message did not go out; None when it did."""
        raise NotImplementedError

    def check(self, reply: dict, where: str) -> None:
        """Raise DeliveryRefused (parked) for a number the provider will never reach, DeliveryFailed (retried) for any
        other error in the reply."""
        error = self.error_of(reply)
        if error is not None:
            code, text = error
            kind = DeliveryRefused if code in self.refused_codes else DeliveryFailed
            raise kind(f"{where}: {code} {text}"[:MAX_ERROR])


class Aliyun(Provider):
    """Aliyun Dysmsapi SendSms (version 2017-05-25), an RPC call signed with HMAC-SHA1 (signature version 1.0)."""

    name = "aliyun"
    refused_codes = ("isv.MOBILE_NUMBER_ILLEGAL", "isv.BLACK_KEY_CONTROL_LIMIT", "isv.MOBILE_COUNT_OVER_LIMIT")

    def params(self, phone: str, template: str, values: dict[str, str], now: datetime, nonce: str) -> dict[str, str]:
        """Every request parameter but the signature."""
        return {"AccessKeyId": self.cfg.access_key_id, "Action": "SendSms", "Format": "JSON",
                "PhoneNumbers": phone, "RegionId": self.cfg.region or "cn-hangzhou", "SignName": self.cfg.sign_name,
                "SignatureMethod": "HMAC-SHA1", "SignatureNonce": nonce, "SignatureVersion": "1.0",
                "TemplateCode": template, "TemplateParam": json.dumps(values, ensure_ascii=False),
                "Timestamp": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "Version": "2017-05-25"}

    def request(self, phone, template, values, now, nonce):
        """A form POST of the parameters and their `Signature`."""
        params = self.params(phone, template, values, now, nonce)
        params["Signature"] = aliyun_signature(params, self.cfg.access_key_secret or "", "POST")
        body = "&".join(f"{percent(k)}={percent(v)}" for k, v in params.items()).encode()
        return urllib.request.Request(self.cfg.url, data=body, method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded", "User-Agent": "xieshang-notify/1"})

    def error_of(self, reply):
        """`Code` "OK" means sent."""
        if reply.get("Code") == "OK":
            return None
        return str(reply.get("Code") or "NoCode"), str(reply.get("Message", ""))


def aliyun_signature(params: dict[str, str], secret: str, method: str = "POST") -> str:
    """Base64 HMAC-SHA1 (key: secret + "&") of METHOD&%2F&percent(sorted, percent-encoded query)."""
    query = "&".join(f"{percent(k)}={percent(v)}" for k, v in sorted(params.items()) if k != "Signature")
    to_sign = f"{method}&{percent('/')}&{percent(query)}"
    return base64.b64encode(hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


class Tencent(Provider):
    """Tencent Cloud SMS SendSms (version 2021-01-11), a JSON POST signed with TC3-HMAC-SHA256."""

    name = "tencent"
    refused_codes = ("InvalidParameterValue.IncorrectPhoneNumber", "FailedOperation.PhoneNumberInBlacklist",
                     "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber")
    service = "sms"

    def request(self, phone, template, values, now, nonce):
        """The JSON body with the X-TC-* headers and the TC3 `Authorization` header."""
        body = json.dumps({"PhoneNumberSet": [f"+86{phone}"], "SmsSdkAppId": self.cfg.app_id,
                           "SignName": self.cfg.sign_name, "TemplateId": template,
                           "TemplateParamSet": list(values.values()), "SessionContext": nonce},
                          ensure_ascii=False).encode()
        timestamp = int(now.timestamp())
        host = urlsplit(self.cfg.url).netloc
        headers = {"Content-Type": "application/json; charset=utf-8", "Host": host, "X-TC-Action": "SendSms",
                   "X-TC-Version": "2021-01-11", "X-TC-Timestamp": str(timestamp),
                   "X-TC-Region": self.cfg.region or "ap-guangzhou", "User-Agent": "xieshang-notify/1"}
        headers["Authorization"] = tc3_authorization(self.cfg.access_key_id, self.cfg.access_key_secret or "",
                                                     self.service, host, body, timestamp)
        return urllib.request.Request(self.cfg.url, data=body, method="POST", headers=headers)

    def error_of(self, reply):
        """No `Error` and every `SendStatusSet` entry "Ok" means sent."""
        answer = reply.get("Response") if isinstance(reply.get("Response"), dict) else {}
        error = answer.get("Error")
        if isinstance(error, dict):
            return str(error.get("Code")), str(error.get("Message", ""))
        statuses = [s for s in answer.get("SendStatusSet") or [] if isinstance(s, dict)]
        if not statuses:
            return "NoSendStatus", "reply has no SendStatusSet"
        failed = next((s for s in statuses if s.get("Code") != "Ok"), None)
        return None if failed is None else (str(failed.get("Code")), str(failed.get("Message", "")))


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def tc3_authorization(secret_id: str, secret_key: str, service: str, host: str, body: bytes, timestamp: int) -> str:
    """The `Authorization` header of a TC3-HMAC-SHA256 signed POST / with content-type and host signed."""
    canonical = "\n".join(("POST", "/", "", f"content-type:application/json; charset=utf-8\nhost:{host}\n",
                           "content-type;host", hashlib.sha256(body).hexdigest()))
    day = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{day}/{service}/tc3_request"
    to_sign = "\n".join(("TC3-HMAC-SHA256", str(timestamp), scope, hashlib.sha256(canonical.encode()).hexdigest()))
    key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), day), service), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={signature}"


PROVIDERS: dict[str, type[Provider]] = {p.name: p for p in (Aliyun, Tencent)}


def send_sms(cfg: SmsSettings, phone: str | None, moment: str, values: dict, now: datetime,
             nonce: str | None = None) -> None:
    """Send the moment's template to `phone`; DeliveryRefused for a number or template that can never work,
    DeliveryFailed for anything worth retrying (refused connection, timeout, HTTP error, provider error)."""
    number = mainland_mobile(phone)
    if not cfg.enabled:
        raise DeliveryRefused("未配置短信服务商 (no SMS provider configured)")
    template = cfg.template(moment)
    if not template:
        raise DeliveryRefused(f"未配置「{moment}」的短信模板 (no SMS template for {moment})")
    provider = PROVIDERS[cfg.provider](cfg)
    request = provider.request(number, template, bounded(values, cfg.max_param_chars), now, nonce or uuid.uuid4().hex)
    where = f"{provider.name} SMS to {mask_phone(number)}"
    try:
        with urllib.request.urlopen(request, timeout=cfg.timeout) as response:   # noqa: S310 - URL from admin config
            raw = response.read(MAX_REPLY)
    except urllib.error.HTTPError as exc:      # the provider's own error codes can come with a 4xx/5xx
        reply = _json(exc.read(MAX_REPLY) if exc.fp is not None else b"")
        code, text = (provider.error_of(reply) if reply else None) or ("", "")
        error = f"{where}: HTTP {exc.code} {exc.reason} {code} {text}".strip()[:MAX_ERROR]
        raise (DeliveryRefused if code in provider.refused_codes else DeliveryFailed)(error) from None
    except (OSError, ValueError) as exc:       # refused, timed out, bad URL
        raise DeliveryFailed(f"{where}: {type(exc).__name__}: {exc}"[:MAX_ERROR]) from None
    reply = _json(raw)
    if reply is None:
        raise DeliveryFailed(f"{where}: reply is not a JSON object: {raw[:200]!r}")
    provider.check(reply, where)


def _json(raw: bytes) -> dict | None:
    try:
        found = json.loads(raw or b"null")
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


class Sms(Channel):
    """A text message to the phone a proposer left, about one key moment; rows are written by `proposer.tell`,
    never fanned out to accounts (an account's phone is not a contact the person chose for this)."""

    name = "sms"

    def about(self, params: dict) -> Iterable[tuple[str, dict]]:
        """The proposer's phone named by a request, when the moment is told by text message: (masked, extra)."""
        phone, moment = params.get("phone"), params.get("moment")
        if not phone or not moment or not self.cfg.sms.enabled or not self.cfg.sms.template(str(moment)):
            return ()
        return [(mask_phone(phone), {"phone": str(phone), "moment": str(moment),
                                     "values": dict(params.get("values") or {})})]

    def delivery_key(self, request: OutboxMessage, recipient: str) -> str:
        """One text message per instance and moment, however many requests tell it."""
        return f"{request.instance_id}:sms:{(request.params or {}).get('moment')}"

    def send(self, session: Session, message: OutboxMessage, now: datetime) -> None:
        """Send the row's template to the phone it was dispatched with."""
        p = message.params or {}
        send_sms(self.cfg.sms, p.get("phone"), str(p.get("moment", "")), dict(p.get("values") or {}), now)
