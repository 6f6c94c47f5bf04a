"""Request ids, access logs (JSON lines in production, plain text in development) and Prometheus request metrics.

`init_app` wires it all with one call from create_app. Log format: XIESHANG_LOG_FORMAT=plain|json, by default
plain in the embedded mode (development) and JSON when Redis is configured (production); level XIESHANG_LOG_LEVEL.
Metrics: per-app counters and histograms; with PROMETHEUS_MULTIPROC_DIR set (see webui/probes.py) every worker
process writes its samples to that directory and /metrics adds them up.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import traceback
import uuid
from datetime import UTC, datetime

from flask import Flask, current_app, g, has_request_context, request
from prometheus_client import CollectorRegistry, Counter, Histogram

from tasks.metrics import sweep_histogram

access_log = logging.getLogger("xieshang.access")
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")      # an upstream id we pass on; anything else is replaced
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
UNMATCHED = "<unmatched>"       # the route label of a request no URL rule matched (404s), so labels stay few
PROBES = {"probes.healthz", "probes.readyz", "probes.metrics"}     # webui/probes.py
REQUEST_FIELDS = ("request_id", "user", "method", "route", "path", "status", "duration_ms")


class Metrics:
    """One app's request metrics; in multiprocess mode they live in the shared directory, not in `registry`."""

    def __init__(self, multiprocess: bool):
        self.multiprocess = multiprocess
        self.registry = None if multiprocess else CollectorRegistry(auto_describe=True)
        self.requests = Counter("xieshang_http_requests", "HTTP requests by route (URL rule), method and status",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("xieshang_http_request_duration_seconds", "Time to answer, by route and method",
                                 ["route", "method"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.sweeps = sweep_histogram()
        if self.registry is not None:
            self.registry.register(self.sweeps)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)


def metrics_of(app: Flask) -> Metrics:
    """The app's request metrics."""
    return app.extensions["xieshang_metrics"]


def init_app(app: Flask) -> None:
    """Request ids, timing, access logs and request metrics for every request; the root logger configured unless
    the host process (a server given a logging configuration, a test runner) already handles it."""
    app.extensions["xieshang_metrics"] = Metrics(multiprocess=bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR")))
    # First, so every later step is timed; then the probes, answered before any session or database work.
    app.before_request_funcs.setdefault(None, [])[:0] = [_start, _answer_probe]
    app.after_request(_finish)
    fmt = app.config.get("LOG_FORMAT")          # tests; else the environment, else by the run mode
    if fmt or not _logging_configured_elsewhere():
        fmt = fmt or os.environ.get("XIESHANG_LOG_FORMAT") or \
            ("plain" if app.extensions["xieshang_settings"].embedded else "json")
        configure_logging(fmt, app.config.get("LOG_STREAM"), os.environ.get("XIESHANG_LOG_LEVEL", "INFO"))


def _logging_configured_elsewhere() -> bool:
    """Whether the host process (a --log-config, a test runner) already handles the root logger's records."""
    return any(not getattr(handler, "xieshang", False) for handler in logging.getLogger().handlers)


def _start() -> None:
    sent = request.headers.get("X-Request-ID", "")
    g.request_id = sent if REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _answer_probe():
    """Serve a probe before the session, sign-in and database scope steps run (they may need the database)."""
    if request.endpoint in PROBES:
        return current_app.view_functions[request.endpoint]()
    return None


def _finish(response):
    """Stamp the request id, count the request, write one access line."""
    started = g.get("request_started")
    if started is None:          # a response made before _start ran (none today): nothing to measure
        return response
    seconds = time.perf_counter() - started
    route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    response.headers["X-Request-ID"] = g.request_id
    metrics_of(current_app).observe(route, request.method, response.status_code, seconds)
    level = logging.ERROR if response.status_code >= 500 else logging.INFO
    access_log.log(level, "%s %s %s %.1f ms", request.method, request.path, response.status_code, seconds * 1000,
                   extra={**request_fields(), "route": route, "status": response.status_code,
                          "duration_ms": round(seconds * 1000, 1)})
    return response


def request_fields() -> dict:
    """The current request's id, person, method and path (empty outside a request)."""
    if not has_request_context():
        return {}
    user = g.get("user")
    return {"request_id": g.get("request_id"), "user": getattr(user, "username", None), "method": request.method,
            "path": request.path}


class RequestContextFilter(logging.Filter):
    """Adds the request's fields to every record logged while it is served (the engine's too)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in request_fields().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the request's fields, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        entry.update({key: getattr(record, key) for key in REQUEST_FIELDS if getattr(record, key, None) is not None})
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(entry, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    """Human-readable lines with the request id when there is one."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        return f"{line} [{request_id}]" if request_id else line


class _Stderr(logging.StreamHandler):
    """A handler writing to whatever sys.stderr is when a record comes (it may be replaced after we start)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure_logging(fmt: str, stream=None, level: str = "INFO") -> logging.Handler:
    """Send the root logger's records to `stream` (default: stderr) as `fmt` ("json" or "plain"), replacing the
    handler an earlier call installed; returns the new handler."""
    if fmt not in {"json", "plain"}:
        raise ValueError(f"XIESHANG_LOG_FORMAT must be json or plain, not {fmt!r}")
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "xieshang", False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream) if stream is not None else _Stderr()
    handler.xieshang = True
    handler.setFormatter(JsonFormatter() if fmt == "json" else PlainFormatter())
    handler.addFilter(RequestContextFilter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    # SpiffWorkflow logs every task's state change at INFO (dozens per form submitted): shown at DEBUG only
    logging.getLogger("spiff").setLevel(max(logging.WARNING, root.level) if root.level > logging.DEBUG else root.level)
    return handler
