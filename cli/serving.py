"""gunicorn, run from `xieshang serve`: the options, the worker class and the checks made before any worker starts.

gunicorn's master starts `workers` processes (the gthread worker: `threads` threads each), restarts one that dies
or hangs longer than `timeout`, and on SIGTERM or SIGINT stops accepting and lets requests in flight finish within
`graceful_timeout` seconds. Every worker builds the app itself (webui/wsgi.py, no preload), so in embedded mode
every worker joins the sweep election and exactly one sweeps.

Slow clients: gunicorn's gthread worker parks an idle connection in its poller without a thread, for ever, and a
client that sends half a request head holds a thread while gunicorn waits for the rest (each worker's threads
serve such connections in order, so a few hundred of them delay everyone for minutes). `SlowClientThreadWorker`
waits for request heads in its event loop instead, without a thread, and closes a connection whose head has not
arrived within `--header-timeout` seconds (default 10); a thread's reads of the body and writes of the
answer must progress within `timeout` seconds. A reverse proxy that buffers requests (nginx) in front still helps
with slow bodies and very many connections.
"""

from __future__ import annotations

import errno
import selectors
import time
from collections.abc import Callable
from functools import partial

from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import TConn, ThreadWorker

DEFAULT_HEADER_TIMEOUT = 10.0


class SlowClientThreadWorker(ThreadWorker):
    """gunicorn's gthread worker that gives a connection a thread only once its request head has arrived.

    The event loop reads what a new (or kept-alive) connection sends without blocking and keeps it until the blank
    line that ends the headers; then a thread parses the buffered head (gunicorn's parser, handed the bytes
    back) and runs the app. A connection whose head is not complete within `header_timeout` seconds of its
    accept (or of its first byte, when kept alive) is closed, so idle and dribbling clients hold neither a thread
    nor a connection slot for long. Over TLS gunicorn's own handling applies (the bytes are encrypted).
    """

    header_timeout = DEFAULT_HEADER_TIMEOUT         # set by `serve` before gunicorn forks its workers
    max_head = 64 * 1024          # more than this without a blank line: let gunicorn's limits refuse it

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.heads: dict[TConn, bytes] = {}            # what each waiting connection sent so far
        self.head_deadlines: dict[TConn, float] = {}

    def accept(self, server, listener):
        try:
            sock, client = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        conn = TConn(self.cfg, sock, client, server)
        self.nr_conns += 1
        self.head_deadlines[conn] = time.monotonic() + self.header_timeout
        with self._lock:
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_client_socket_readable, conn))

    def on_client_socket_readable(self, conn, client):
        if self.cfg.is_ssl:
            self.head_deadlines.pop(conn, None)
            return super().on_client_socket_readable(conn, client)
        try:
            chunk = conn.sock.recv(self.max_head)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""                                 # reset: gunicorn sees the end of the stream and closes
        head = self.heads.pop(conn, b"") + chunk
        if chunk and b"\r\n\r\n" not in head and len(head) < self.max_head:
            self.heads[conn] = head                     # not complete: wait (in the poller, without a thread)
            self.head_deadlines.setdefault(conn, time.monotonic() + self.header_timeout)
            return
        self.head_deadlines.pop(conn, None)
        with self._lock:
            self.poller.unregister(client)
            if conn.initialized:
                try:
                    self._keep.remove(conn)
                except ValueError:
                    return
        conn.init()
        conn.parser.unreader.unread(head)
        self._wrap_future(self.tpool.submit(self.handle, conn), conn)

    def murder_keepalived(self):
        """Close idle kept-alive connections (gunicorn), then connections whose head is late."""
        super().murder_keepalived()
        now = time.monotonic()
        for conn, deadline in list(self.head_deadlines.items()):
            if deadline > now:
                continue
            del self.head_deadlines[conn]
            self.heads.pop(conn, None)
            if conn.sock.fileno() == -1:                # closed already as an idle kept-alive connection
                continue
            with self._lock:
                self.poller.unregister(conn.sock)
                if conn.initialized and conn in self._keep:
                    self._keep.remove(conn)
            self.nr_conns -= 1
            conn.close()

    def handle(self, conn):
        """Parse and answer; reads of the body and writes of the answer must progress within `timeout` seconds."""
        conn.sock.settimeout(self.cfg.timeout)
        return super().handle(conn)


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


def serve(bind: list[str], workers: int, threads: int, timeout: int, graceful_timeout: int, keepalive: int,
          header_timeout: float = DEFAULT_HEADER_TIMEOUT) -> None:
    """Run gunicorn until it is told to stop (SIGTERM/SIGINT: graceful; SIGQUIT: at once)."""
    SlowClientThreadWorker.header_timeout = header_timeout
    Server(load_wsgi_app, options(bind, workers, threads, timeout, graceful_timeout, keepalive)).run()
