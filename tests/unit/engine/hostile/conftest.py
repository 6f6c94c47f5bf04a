"""Fixtures of the hostile-input tests: a CLI runner, a secret file, a probe HTTP server."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from engine.store.models import User
from tests.unit.engine.hostile.support import (
    ACTOR,
    TOKEN,
)


def _with_actor(engine):
    """The review task's assignee is a real, active account: the engine lets only those act."""
    with engine.unit_of_work() as session:
        session.add(User(username=ACTOR, display_name="办事员", password_hash="-", created_at=engine.clock.now()))
    return engine


@pytest.fixture
def service(service):
    """The engine service (SQLite, then PostgreSQL) with the fixture's actor in the directory."""
    return _with_actor(service)


@pytest.fixture
def sqlite_service(sqlite_service):
    """The engine service on SQLite with the fixture's actor in the directory."""
    return _with_actor(sqlite_service)


@pytest.fixture
def secret(tmp_path) -> Path:
    """A file with a unique token that no hostile document may read."""
    path = tmp_path / "secret.txt"
    path.write_text(f"{TOKEN}\n")
    return path


@pytest.fixture
def probe():
    """An HTTP server on 127.0.0.1 recording every request; yields (base URL, hits)."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server naming
            hits.append(self.path)
            body = f'<!ENTITY leak "{TOKEN}">'.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/xml-dtd")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def run_cli(sqlite_url, tmp_path, monkeypatch):
    """Invoke the CLI on the same SQLite database as `sqlite_service`; returns the click Result."""
    monkeypatch.setenv("XIESHANG_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("XIESHANG_INSTANCE_PATH", str(tmp_path / "instance"))
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(cli, [str(a) for a in args])
        # exit 1 through sys.exit, never an escaped exception (which a terminal would show as a traceback)
        assert result.exception is None or type(result.exception) is SystemExit, result.exception
        assert "Traceback" not in result.output
        return result

    return invoke


