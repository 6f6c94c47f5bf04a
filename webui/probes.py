"""Probes for the machines that run us: /healthz (alive), /readyz (dependencies reachable), /metrics (Prometheus).

webui/observability.py answers them before any other step of the request: none reads a session or signs anyone
in, and none tells how many of anything there are except /metrics, which is served only to loopback callers that
came through no proxy, or to callers bearing XIESHANG_METRICS_TOKEN.
Several web processes: set PROMETHEUS_MULTIPROC_DIR to one empty directory per host (emptied before the server
starts) and every process's request counts and sweep times are added up on whichever process is scraped.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os

import redis
from flask import Blueprint, Response, abort, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.exc import SQLAlchemyError

from engine.store.gauges import backlog, ping

from . import engine_of, observability

log = logging.getLogger(__name__)
bp = Blueprint("probes", __name__)
TIMEOUT_SECONDS = 2.0       # each dependency answers within this or counts as down
FORWARDED = ("X-Forwarded-For", "X-Real-IP", "Forwarded")


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers. Touches nothing else, so a database outage never restarts the web."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Readiness: the database answers SELECT 1 and Redis (when configured) answers PING; 503 naming what failed."""
    checks = {"database": _database_check(), "redis": _redis_check()}
    ready = all(state in {"ok", "not configured"} for state in checks.values())
    return jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503


def _database_check() -> str:
    try:
        with engine_of(current_app).reading() as session:
            ping(session, int(TIMEOUT_SECONDS * 1000))
    except SQLAlchemyError as exc:
        log.warning("readiness: the database does not answer: %s", exc.__class__.__name__, exc_info=exc)
        return "unavailable"
    return "ok"


def _redis_check() -> str:
    url = current_app.extensions["xieshang_settings"].redis_url
    if not url:
        return "not configured"
    client = redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS)
    try:
        client.ping()
    except redis.RedisError as exc:
        log.warning("readiness: Redis does not answer: %s", exc)
        return "unavailable"
    finally:
        client.close()
    return "ok"


@bp.get("/metrics")
def metrics():
    """The Prometheus exposition: request counts and latencies, sweep times, and the backlog counted now."""
    _allow_scrape()
    registry = CollectorRegistry(auto_describe=True)
    own = observability.metrics_of(current_app)
    if own.multiprocess:
        MultiProcessCollector(registry)
    else:
        registry.register(_Forward(own.registry))
    registry.register(_BacklogCollector(engine_of(current_app)))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def metrics_token() -> str:
    """The bearer token that opens /metrics from anywhere (empty: loopback only)."""
    return current_app.config.get("METRICS_TOKEN") or os.environ.get("XIESHANG_METRICS_TOKEN", "")


def _allow_scrape() -> None:
    """Loopback without a proxy in between, or the configured token; else 404 (no token sent) or 403 (wrong one)."""
    header = request.headers.get("Authorization", "")
    token = metrics_token()
    if header[:7].lower() == "bearer ":
        if token and hmac.compare_digest(header[7:].strip().encode(), token.encode()):
            return
        abort(403)
    if _loopback(request.remote_addr) and not any(name in request.headers for name in FORWARDED):
        return
    abort(404)


def _loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class _Forward:
    """Collects another registry's metrics into this scrape's registry."""

    def __init__(self, registry: CollectorRegistry):
        self.registry = registry

    def collect(self):
        yield from self.registry.collect()


class _BacklogCollector:
    """Gauges counted at scrape time with indexed COUNT queries; `xieshang_database_up` 0 when they cannot be."""

    GAUGES = (("due_timers", "xieshang_due_timers", "Instances whose timer is due and not yet fired"),
              ("due_deadlines", "xieshang_due_deadlines", "Open deadlines with a reminder or escalation due"),
              ("outbox_backlog", "xieshang_outbox_backlog", "Deliveries waiting for a first or another attempt"),
              ("parked_deliveries", "xieshang_parked_deliveries", "Deliveries given up, waiting for a person"),
              ("instances_in_error", "xieshang_instances_in_error", "Instances stopped in error"))

    def __init__(self, engine):
        self.engine = engine

    def describe(self):
        return []      # computed at scrape time only: registering must not query

    def collect(self):
        try:
            with self.engine.reading() as session:
                counts = backlog(session, self.engine.clock.now())
        except SQLAlchemyError as exc:
            log.warning("metrics: the backlog cannot be counted: %s", exc.__class__.__name__, exc_info=exc)
            counts = None
        yield GaugeMetricFamily("xieshang_database_up", "Whether the database answered this scrape",
                                value=0 if counts is None else 1)
        for field, name, documentation in self.GAUGES if counts is not None else ():
            yield GaugeMetricFamily(name, documentation, value=getattr(counts, field))
