"""gunicorn, run from `xieshang serve`: the options, the worker class and the checks made before any worker starts.

gunicorn's master starts `workers` processes (the gthread worker: `threads` threads each), restarts one that dies
or hangs longer than `timeout`, and on SIGTERM or SIGINT stops accepting and lets requests in flight finish within
`graceful_timeout` seconds. Every worker builds the app itself (webui/wsgi.py, no preload), so in embedded mode
every worker joins the sweep election and exactly one sweeps.

Slow clients: the gthread worker parks an idle connection in its poller without a thread, but a client that sends
half a request holds a thread while gunicorn waits for the rest. `SlowClientThreadWorker` bounds that wait: the
request line and headers must arrive within `XIESHANG_HEADER_TIMEOUT` seconds (default 10), and every later read
or write of the request must progress within `timeout` seconds. A reverse proxy that buffers requests (nginx) in
front remains the complete answer to many slow clients.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker

HEADER_TIMEOUT_ENV = "XIESHANG_HEADER_TIMEOUT"
DEFAULT_HEADER_TIMEOUT = 10.0


class SlowClientThreadWorker(ThreadWorker):
    """gunicorn's gthread worker with a deadline for reading a request's head and a timeout for each later read."""

    header_timeout = float(os.environ.get(HEADER_TIMEOUT_ENV) or DEFAULT_HEADER_TIMEOUT)

    def handle(self, conn):
        """Read the request head within `header_timeout` seconds; a client that stalls is dropped (and logged)."""
        conn.sock.settimeout(self.header_timeout)
        return super().handle(conn)

    def handle_request(self, req, conn):
        """Run the app with reads and writes bounded by the worker timeout (a slow body or a stalled reader)."""
        conn.sock.settimeout(self.cfg.timeout)
        return super().handle_request(req, conn)


class Server(BaseApplication):
    """gunicorn with options given here, not from its command line; `load_app` builds the WSGI app in each worker."""

    def __init__(self, load_app: Callable, options: dict):
        self.load_app = load_app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.load_app()


def options(bind: list[str], workers: int, threads: int, timeout: int, graceful_timeout: int,
            keepalive: int) -> dict:
    """gunicorn settings for xieshang: gthread workers, bounded timeouts and request sizes, logs on stderr."""
    return {
        "bind": bind, "workers": workers, "threads": threads,
        "worker_class": f"{__name__}.{SlowClientThreadWorker.__name__}",
        "timeout": timeout, "graceful_timeout": graceful_timeout, "keepalive": keepalive,
        "limit_request_line": 8190, "limit_request_fields": 100, "limit_request_field_size": 8190,
        "worker_connections": 1000, "proc_name": "xieshang", "errorlog": "-", "preload_app": False,
    }


def load_wsgi_app():
    """The web app of webui/wsgi.py, built in the worker from the environment."""
    from webui.wsgi import create_wsgi_app

    return create_wsgi_app()


def serve(bind: list[str], workers: int, threads: int, timeout: int, graceful_timeout: int, keepalive: int) -> None:
    """Run gunicorn until it is told to stop (SIGTERM/SIGINT: graceful; SIGQUIT: at once)."""
    Server(load_wsgi_app, options(bind, workers, threads, timeout, graceful_timeout, keepalive)).run()
