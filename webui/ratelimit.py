"""A small fixed-window rate limiter: Redis-backed when configured (shared by every web process), else in process."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

import redis

log = logging.getLogger(__name__)
MAX_MEMORY_KEYS = 10_000


class RateLimiter:
    """Counts hits per key in fixed windows of `window_seconds`; `hit` says whether this one is within the limit.

    `clock` returns seconds (a float); tests pass a frozen one. With a Redis client, each window's counter is one
    key, incremented and given an expiry in one MULTI/EXEC transaction, so concurrent web processes count together.
    """

    def __init__(self, client: redis.Redis | None = None, clock: Callable[[], float] = time.time,
                 prefix: str = "xieshang:rl"):
        self.client = client
        self.clock = clock
        self.prefix = prefix
        self._counts: dict[tuple[str, int], tuple[int, int]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, redis_url: str | None, clock: Callable[[], float] = time.time) -> RateLimiter:
        """Redis-backed for a URL, in process without one."""
        if not redis_url:
            return cls(None, clock)
        return cls(redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2), clock)

    def hit(self, key: str, limit: int, window_seconds: int) -> bool:
        """Count one hit for `key`; True while at most `limit` hits fell in the current window."""
        window = int(self.clock() // window_seconds)
        if self.client is None:
            return self._hit_memory(key, window, window_seconds) <= limit
        name = f"{self.prefix}:{window_seconds}:{window}:{key}"
        try:
            with self.client.pipeline(transaction=True) as pipe:
                count, _ = pipe.incr(name).expire(name, window_seconds).execute()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            # Losing the limiter must not close the public channel: let the request through, loudly.
            log.warning("rate limiter unavailable, not limiting %s: %s", key, exc)
            return True
        return int(count) <= limit

    def retry_after(self, window_seconds: int) -> int:
        """Whole seconds until the current window ends (at least 1)."""
        return max(1, math.ceil(window_seconds - self.clock() % window_seconds))

    def _hit_memory(self, key: str, window: int, window_seconds: int) -> int:
        with self._lock:
            slot = (key, window_seconds)
            seen_window, count = self._counts.get(slot, (window, 0))
            count = count + 1 if seen_window == window else 1
            self._counts[slot] = (window, count)
            if len(self._counts) > MAX_MEMORY_KEYS:
                self._forget_ended()
            return count

    def _forget_ended(self) -> None:
        """Drop counters of windows that have ended (called with the lock held)."""
        now = self.clock()
        for slot, (seen_window, _) in list(self._counts.items()):
            if seen_window < int(now // slot[1]):
                del self._counts[slot]


def install(app) -> RateLimiter:
    """Give the app its limiter (once): `app.config["RATE_LIMITER"]` if set, else one on the configured Redis
    (or in process), reading the engine's clock so that tests move both together."""
    if "xieshang_ratelimiter" not in app.extensions:
        engine = app.extensions["xieshang"].engine     # the app's Services
        settings = app.extensions["xieshang_settings"]
        app.extensions["xieshang_ratelimiter"] = app.config.get("RATE_LIMITER") or RateLimiter.from_url(
            settings.redis_url, lambda: engine.clock.now().timestamp())
    return app.extensions["xieshang_ratelimiter"]


def limiter_of(app) -> RateLimiter:
    """The limiter `install` gave the app."""
    return app.extensions["xieshang_ratelimiter"]
