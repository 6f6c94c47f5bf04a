"""The gates that keep strangers out: rate limits (Flask-Limiter; Redis storage when configured, so every web process
counts together, else in process) on sign-in, token issue, the public intake (form and API alike) and tracking, and
the 429 answer that says how long to wait.

Limits are "N per period" strings (`5 per 15 minutes`), set by app config `RATE_LIMITS` or the environment
(`XIESHANG_RATE_LIMIT_LOGIN_ACCOUNT`, …); `TOKEN_LIFETIME_DAYS` (or `XIESHANG_TOKEN_LIFETIME_DAYS`) sets how long new
API tokens last."""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from flask import Flask, current_app, jsonify, make_response, render_template, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse
from limits.errors import StorageError

log = logging.getLogger(__name__)

PREFIX = "xieshang"     # keys read LIMITER/xieshang/<limit>/<account or address>/…
DEFAULT_LIMITS = {
    "login_account": "5 per 15 minutes",     # wrong passwords for one account, from anywhere (/login and the API)
    "login_address": "30 per 15 minutes",    # wrong passwords from one address, whichever accounts
    "token_issue": "20 per hour",            # tokens issued to one account
    "intake": "5 per 10 minutes",            # public topics from one address (the form and POST /api/v1/intake)
    "track": "30 per 10 minutes",            # tracking-code lookups from one address
}
KIND_OF = {"login_account": "login", "login_address": "login", "token_issue": "token", "intake": "intake",
           "track": "track"}


@dataclass(frozen=True)
class Refusal:
    """A request over a limit: which one, and how many seconds until it may come again."""

    name: str
    wait: int

    @property
    def minutes(self) -> int:
        """The wait in whole minutes, rounded up."""
        return max(1, math.ceil(self.wait / 60))


class Gates:
    """Named limits over one Flask-Limiter storage: `refused` looks, `count` spends one try, `pass_through` both."""

    def __init__(self, limiter: Limiter, config):
        self.limiter = limiter
        self.config = config      # the app's: `RATE_LIMITS` is read at each use, so a test may change it

    def limit(self, name: str) -> RateLimitItem:
        """Limit `name` as configured (app config, else environment, else the default)."""
        text = ((self.config.get("RATE_LIMITS") or {}).get(name)
                or os.environ.get(f"XIESHANG_RATE_LIMIT_{name.upper()}") or DEFAULT_LIMITS[name])
        return _parsed(text)

    def refused(self, name: str, key: str) -> Refusal | None:
        """The refusal if `key` has used up limit `name`, without counting this request."""
        item = self.limit(name)
        try:
            if self.limiter.limiter.test(item, PREFIX, name, key):
                return None
            reset_at = self.limiter.limiter.get_window_stats(item, PREFIX, name, key).reset_time
        except StorageError as exc:
            # Losing the limiter must not close the public channel or sign-in: let the request through, loudly.
            log.warning("rate limit storage unavailable, not limiting %s: %s", name, exc.storage_error)
            return None
        return Refusal(name, max(1, math.ceil(reset_at - time.time())))

    def count(self, name: str, key: str) -> None:
        """Spend one try of limit `name` for `key`."""
        try:
            self.limiter.limiter.hit(self.limit(name), PREFIX, name, key)
        except StorageError as exc:
            log.warning("rate limit storage unavailable, not counting %s: %s", name, exc.storage_error)

    def pass_through(self, name: str, key: str) -> Refusal | None:
        """Refuse `key` if it used up limit `name`, else count this request."""
        refusal = self.refused(name, key)
        if refusal is None:
            self.count(name, key)
        return refusal

    def forget(self, name: str, key: str) -> None:
        """Clear what `key` spent of limit `name` (a successful sign-in clears the account's wrong tries)."""
        try:
            self.limiter.limiter.clear(self.limit(name), PREFIX, name, key)
        except StorageError as exc:
            log.warning("rate limit storage unavailable, not clearing %s: %s", name, exc.storage_error)

    def reset(self) -> None:
        """Forget every count (tests use it to stand for the window having passed)."""
        self.limiter.reset()


def init_app(app: Flask) -> Gates:
    """Give the app its gates (limits from config or environment, storage on Redis when configured) and the token
    lifetime; called once from create_app."""
    settings = app.extensions["xieshang_settings"]
    storage = app.config.get("RATELIMIT_STORAGE_URI") or settings.redis_url or "memory://"
    options = {"wrap_exceptions": True}
    if not storage.startswith("memory"):      # an unreachable Redis must not hang sign-in: give up within seconds
        options |= {"socket_timeout": 2, "socket_connect_timeout": 2}
    limiter = Limiter(get_remote_address, app=app, storage_uri=storage, strategy="fixed-window", key_prefix=PREFIX,
                      storage_options=options, default_limits=[], headers_enabled=False)
    for name in DEFAULT_LIMITS:      # a misspelt limit stops the start, not the first sign-in
        Gates(limiter, app.config).limit(name)
    days = app.config.get("TOKEN_LIFETIME_DAYS") or os.environ.get("XIESHANG_TOKEN_LIFETIME_DAYS")
    if days:
        app.extensions["xieshang"].accounts.token_lifetime = timedelta(days=int(days))
    app.extensions["xieshang_gates"] = Gates(limiter, app.config)
    return app.extensions["xieshang_gates"]


@cache
def _parsed(text: str) -> RateLimitItem:
    return parse(text)


def gates_of(app: Flask | None = None) -> Gates:
    """The app's gates."""
    return (app or current_app).extensions["xieshang_gates"]


def address() -> str:
    """The client's address as the limits see it."""
    return request.remote_addr or "unknown"


def sign_in_refused(username: str) -> Refusal | None:
    """Whether a sign-in (web or API) for `username` from this address is refused for too many wrong passwords."""
    gates = gates_of()
    return gates.refused("login_account", _account(username)) or gates.refused("login_address", address())


def sign_in_failed(username: str) -> None:
    """Count a wrong password against the account and the address."""
    gates = gates_of()
    gates.count("login_account", _account(username))
    gates.count("login_address", address())


def sign_in_succeeded(username: str) -> None:
    """The right password clears the account's wrong tries (the address keeps its count)."""
    gates_of().forget("login_account", _account(username))


def token_issue_refused(username: str) -> Refusal | None:
    """Whether `username` was issued too many tokens lately."""
    return gates_of().refused("token_issue", _account(username))


def token_issued(username: str) -> None:
    """Count one token issued to `username`."""
    gates_of().count("token_issue", _account(username))


def _account(username: str) -> str:
    return (username or "").strip().lower()[:64] or "-"


def too_many(refusal: Refusal, api: bool = False):
    """The 429 answer: JSON for the API, else a page saying what was limited and how long to wait (the sign-in page
    answers with its own form instead)."""
    headers = {"Retry-After": str(refusal.wait)}
    if api:
        return make_response(jsonify(error="too_many_requests", message=_api_message(refusal), status=429,
                                     retry_after=refusal.wait), 429, headers)
    page = render_template("gates/limited.html", kind=KIND_OF[refusal.name], minutes=refusal.minutes,
                           seconds=refusal.wait)
    return make_response(page, 429, headers)


def _api_message(refusal: Refusal) -> str:
    what = {"login": "登录失败次数过多 (too many failed sign-ins)",
            "token": "签发令牌过于频繁 (too many tokens issued)",
            "intake": "提交过于频繁 (too many submissions)", "track": "查询过于频繁 (too many lookups)"}
    return f"{what[KIND_OF[refusal.name]]}，请在 {refusal.minutes} 分钟后再试 (try again in {refusal.wait} s)"
