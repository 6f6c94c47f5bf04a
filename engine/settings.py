"""Configuration from the environment, with an optional TOML instance file."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = ROOT / "instance"
KINDS = ("assignment", "reminder", "escalation", "extension", "result")
WEBHOOK_FORMATS = ("json", "wecom", "dingtalk")     # each is a payload class in domain/notifications/channels
SMS_PROVIDERS = ("aliyun", "tencent")          # each is a signed-request adapter in domain/notifications/channels/sms
SMS_ENDPOINTS = {"aliyun": "https://dysmsapi.aliyuncs.com/", "tencent": "https://sms.tencentcloudapi.com/"}
DEFAULT_RULES = {"default": {"inapp": ["*"], "email": ["reminder", "escalation", "extension", "result", "urge",
                                                       "meeting"]}}


def _rule_rows(rules: dict) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """{role: {channel: [kinds]}} as hashable (role, channel, kinds) rows."""
    return tuple((role, channel, tuple(kinds)) for role, table in rules.items() for channel, kinds in table.items())


@dataclass(frozen=True)
class WebhookTarget:
    """A group robot or other HTTP endpoint that hears about one or more org units' messages."""

    name: str
    url: str
    format: str = "json"                      # one of WEBHOOK_FORMATS
    org_units: tuple[str, ...] = ()           # empty: every org unit
    kinds: tuple[str, ...] = ()               # empty: every kind
    min_level: int = 0
    at_mobiles: tuple[str, ...] = ()
    at_all: bool = False
    secret: str | None = field(default=None, repr=False)     # DingTalk 加签 secret


@dataclass(frozen=True)
class SmsSettings:
    """The `[notifications.sms]` table (XIESHANG_SMS_* variables win): the text-message provider, its keys, the
    approved sign name and one approved template per moment (e.g. accepted = "SMS_123")."""

    provider: str | None = None               # one of SMS_PROVIDERS; None: no text message is sent
    endpoint: str = ""                        # empty: the provider's public endpoint
    access_key_id: str = ""
    access_key_secret: str | None = field(default=None, repr=False)
    sign_name: str = ""
    app_id: str = ""                          # Tencent's SmsSdkAppId (unused by Aliyun)
    region: str = ""                          # empty: the provider's default region
    templates: tuple[tuple[str, str], ...] = ()     # (moment, template code)
    max_param_chars: int = 35                 # each template variable is cut to this many characters
    timeout: float = 5.0

    @property
    def enabled(self) -> bool:
        """Whether text messages are sent at all."""
        return bool(self.provider)

    def template(self, moment: str) -> str | None:
        """The approved template for a moment, None when the moment is not told by text message."""
        return dict(self.templates).get(moment)

    @property
    def url(self) -> str:
        """Where requests go."""
        return self.endpoint or SMS_ENDPOINTS.get(self.provider or "", "")

    @classmethod
    def from_mapping(cls, values: dict, env: dict[str, str]) -> SmsSettings:
        """Build from the TOML table and XIESHANG_SMS_* variables (XIESHANG_SMS_TEMPLATE_<MOMENT> per moment)."""
        def pick(key: str, default=""):
            found = env.get(f"XIESHANG_SMS_{key.upper()}") or values.get(key)
            return default if found is None or found == "" else found

        templates = {str(k): str(v) for k, v in (values.get("templates") or {}).items()}
        templates.update({k[len("XIESHANG_SMS_TEMPLATE_"):].lower(): v for k, v in env.items()
                          if k.startswith("XIESHANG_SMS_TEMPLATE_") and v})
        provider = pick("provider") or None
        if provider is not None and provider not in SMS_PROVIDERS:
            raise ValueError(f"notifications.sms.provider must be one of {', '.join(SMS_PROVIDERS)}: {provider}")
        endpoint = str(pick("endpoint"))
        if endpoint and not endpoint.startswith(("https://", "http://")):
            raise ValueError(f"notifications.sms.endpoint must be an http(s) URL: {endpoint}")
        if provider and not (pick("access_key_id") and pick("access_key_secret") and pick("sign_name")):
            raise ValueError("notifications.sms needs access_key_id, access_key_secret and sign_name")
        max_chars, timeout = int(pick("max_param_chars", 35)), float(pick("timeout", 5.0))
        if not 1 <= max_chars <= 100 or not 0 < timeout <= 60:
            raise ValueError("notifications.sms: max_param_chars must be 1–100 and timeout 0–60 seconds")
        return cls(provider=provider, endpoint=endpoint, access_key_id=str(pick("access_key_id")),
                   access_key_secret=str(pick("access_key_secret")) or None, sign_name=str(pick("sign_name")),
                   app_id=str(pick("app_id")), region=str(pick("region")), templates=tuple(sorted(templates.items())),
                   max_param_chars=max_chars, timeout=timeout)


@dataclass(frozen=True)
class NotificationSettings:
    """The `[notifications]` table: SMTP server, webhook targets, per-role rules, retry policy."""

    smtp_host: str | None = None              # no host: no email is sent
    smtp_port: int = 25
    smtp_from: str = "xieshang@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_starttls: bool = False
    timeout: float = 10.0
    webhooks: tuple[WebhookTarget, ...] = ()
    rules: tuple[tuple[str, str, tuple[str, ...]], ...] = _rule_rows(DEFAULT_RULES)
    max_attempts: int = 6
    backoff_seconds: int = 60
    backoff_cap_seconds: int = 6 * 3600
    lease_seconds: int = 300
    base_url: str = ""
    sms: SmsSettings = field(default_factory=SmsSettings)

    def allows(self, role: str | None, channel: str, kind: str) -> bool:
        """Whether people reached through `role` get `kind` messages on `channel` (role rule, else default)."""
        table = {(r, c): k for r, c, k in self.rules}
        kinds = table.get((role or "", channel), table.get(("default", channel), ()))
        return "*" in kinds or kind in kinds

    @classmethod
    def from_mapping(cls, values: dict, env: dict[str, str]) -> NotificationSettings:
        """Build from the TOML table; XIESHANG_SMTP_PASSWORD keeps the password out of the file."""
        smtp = values.get("smtp", {})
        rules = {role: dict(table) for role, table in DEFAULT_RULES.items()}
        for role, table in values.get("rules", {}).items():
            rules.setdefault(role, {}).update(table)
        for index, hook in enumerate(values.get("webhooks", ())):
            if not hook.get("name") or not hook.get("url"):
                raise ValueError(f"notifications.webhooks[{index}] needs a name and a url")
        hooks = tuple(WebhookTarget(
            name=h["name"], url=h["url"], format=h.get("format", "json"), org_units=tuple(h.get("org_units", ())),
            kinds=tuple(h.get("kinds", ())), min_level=int(h.get("min_level", 0)),
            at_mobiles=tuple(str(m) for m in h.get("at_mobiles", ())), at_all=bool(h.get("at_all", False)),
            secret=h.get("secret")) for h in values.get("webhooks", ()))
        bad = [h.name for h in hooks if h.format not in WEBHOOK_FORMATS]
        if bad:
            raise ValueError(f"webhook format must be {', '.join(WEBHOOK_FORMATS[:-1])} or {WEBHOOK_FORMATS[-1]}: "
                             f"{', '.join(bad)}")
        if len({h.name for h in hooks}) != len(hooks):
            raise ValueError("webhook names must be unique")
        defaults = cls()
        return cls(
            smtp_host=smtp.get("host"), smtp_port=int(smtp.get("port", 25)),
            smtp_from=smtp.get("from", defaults.smtp_from), smtp_user=smtp.get("user"),
            smtp_password=env.get("XIESHANG_SMTP_PASSWORD") or smtp.get("password"),
            smtp_starttls=bool(smtp.get("starttls", False)), timeout=float(values.get("timeout", defaults.timeout)),
            webhooks=hooks,
            rules=_rule_rows(rules),
            max_attempts=int(values.get("max_attempts", defaults.max_attempts)),
            backoff_seconds=int(values.get("backoff_seconds", defaults.backoff_seconds)),
            backoff_cap_seconds=int(values.get("backoff_cap_seconds", defaults.backoff_cap_seconds)),
            lease_seconds=int(values.get("lease_seconds", defaults.lease_seconds)),
            base_url=str(values.get("base_url", "")).rstrip("/"),
            sms=SmsSettings.from_mapping(values.get("sms", {}), env))


@dataclass(frozen=True)
class Settings:
    """Where the database, broker, process definitions and uploads are."""

    database_url: str
    redis_url: str | None
    instance_path: Path
    processes_path: Path
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
    secret_key: str | None = field(default=None, repr=False)   # unset: one key kept in the instance folder

    @property
    def embedded(self) -> bool:
        """True without Redis: background work runs in process."""
        return not self.redis_url

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read XIESHANG_* variables; XIESHANG_CONFIG (or instance/xieshang.toml) supplies defaults."""
        env = os.environ if environ is None else environ
        instance = Path(env.get("XIESHANG_INSTANCE_PATH", DEFAULT_INSTANCE))
        config_file = Path(env.get("XIESHANG_CONFIG", instance / "xieshang.toml"))
        file_values: dict = {}
        if config_file.is_file():
            with config_file.open("rb") as fh:
                file_values = tomllib.load(fh)

        def pick(key: str, default):
            return env.get(f"XIESHANG_{key.upper()}") or file_values.get(key) or default

        return cls(
            database_url=pick("database_url", f"sqlite:///{instance / 'xieshang.db'}"),
            redis_url=pick("redis_url", None),
            instance_path=instance,
            processes_path=Path(pick("processes_path", ROOT / "processes")),
            notifications=NotificationSettings.from_mapping(file_values.get("notifications", {}), env),
            secret_key=pick("secret_key", None),
        )
