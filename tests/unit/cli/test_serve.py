"""`xieshang serve` as a deployment runs it: gunicorn with several workers as a real process tree, exactly one
sweep in embedded mode (and another worker takes over when the sweeping one is killed), graceful stop, and the
refusals that come before any worker starts."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.clock import CLOCK_OFFSET_FILE_ENV, SystemClock
from engine.store import db
from engine.store.models import AuditEvent, ProcessInstance
from tests.conftest import ROOT, make_services
from tests.support.pg import free_port

XIESHANG = Path(sys.executable).parent / "xieshang"
TIMERS = ROOT / "tests" / "data" / "timers"          # start, timer PT1H, notify, end
WITHIN = 60.0


def env_for(tmp_path: Path, url: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "XIESHANG_DATABASE_URL": url, "XIESHANG_INSTANCE_PATH": str(tmp_path / "instance"),
           CLOCK_OFFSET_FILE_ENV: str(tmp_path / "offset"), "XIESHANG_SWEEP_INTERVAL": "0.5", **extra}
    for name in ("XIESHANG_REDIS_URL", "XIESHANG_SECRET_KEY", "XIESHANG_PROXIES", "XIESHANG_HTTPS"):
        if name not in extra:
            env.pop(name, None)
    return env


def wait_for(condition, what: str, server: subprocess.Popen, within: float = WITHIN):
    deadline = time.monotonic() + within
    while True:
        found = condition()
        if found:
            return found
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            out, _ = server.communicate(timeout=30)
            pytest.fail(f"{what}: not within {within} s (server exit {server.returncode}):\n{out[-3000:]}")
        time.sleep(0.1)


def status(port: int, path: str = "/login") -> int | None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


def workers_of(master: int) -> set[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return {int(pid) for pid in children.read_text().split()} if children.exists() else set()


def leader(lock: Path) -> int | None:
    try:
        text = lock.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None


@pytest.mark.slow
def test_three_workers_one_sweep_a_due_timer_fires_once_and_a_killed_sweeper_is_replaced(tmp_path):
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    db.upgrade(url)
    services = make_services(url, SystemClock())
    engine = services.engine
    engine.deploy([TIMERS], actor="test")
    first = engine.start_instance("timers", {})
    port, lock = free_port(), tmp_path / "instance" / "sweep.lock"
    server = subprocess.Popen([str(XIESHANG), "serve", "--port", str(port), "--workers", "3", "--threads", "2"],
                              env=env_for(tmp_path, url), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: status(port) == 200 and len(workers_of(server.pid)) == 3, "three workers serving", server)
        workers = workers_of(server.pid)
        sweeper = wait_for(lambda: leader(lock), "a worker leading the sweep", server)
        assert sweeper in workers
        (tmp_path / "offset").write_text("7200", encoding="ascii")          # the timer is an hour past due
        wait_for(lambda: engine.show_instance(first).status == "completed", "the due timer firing", server)
        time.sleep(2)                          # four more sweep intervals: a second sweeper would show up here
        assert fired_counts(engine) == {first: 1}
        assert leader(lock) == sweeper

        os.kill(sweeper, signal.SIGKILL)
        second = engine.start_instance("timers", {})
        (tmp_path / "offset").write_text("14400", encoding="ascii")
        successor = wait_for(lambda: leader(lock) not in (None, sweeper) and leader(lock), "a new sweeper", server)
        assert successor in workers_of(server.pid)
        wait_for(lambda: engine.show_instance(second).status == "completed", "the sweep going on", server)
        assert fired_counts(engine) == {first: 1, second: 1}
        wait_for(lambda: len(workers_of(server.pid)) == 3, "gunicorn replacing the killed worker", server)

        server.send_signal(signal.SIGTERM)        # graceful: stop accepting, finish requests in flight, exit 0
        out, _ = server.communicate(timeout=45)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate(timeout=30)
        services.close()
    assert server.returncode == 0, out[-3000:]
    assert "Using worker: cli.serving.SlowClientThreadWorker" in out and "Shutting down: Master" in out
    assert "development server" not in out


def fired_counts(engine) -> dict[int, int]:
    with engine.reading() as session:
        rows = session.execute(select(AuditEvent.instance_id, func.count()).where(AuditEvent.kind == "timer_fired")
                               .group_by(AuditEvent.instance_id)).all()
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == len(rows)
    return dict(rows)


def run_serve(tmp_path: Path, url: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(XIESHANG), "serve", "--port", str(free_port())], env=env_for(tmp_path, url, **extra),
                          capture_output=True, text=True, timeout=60)


def test_serve_refuses_a_database_init_has_not_migrated_and_never_migrates_it(tmp_path):
    missing = run_serve(tmp_path, f"sqlite:///{tmp_path / 'new.db'}")
    assert missing.returncode == 1
    assert "does not exist: run `xieshang init` to create it" in missing.stderr
    assert not (tmp_path / "new.db").exists()
    behind = f"sqlite:///{tmp_path / 'old.db'}"
    db.upgrade(behind, "0013")
    result = run_serve(tmp_path, behind)
    assert result.returncode == 1 and "is at revision 0013" in result.stderr and "run `xieshang init`" in result.stderr
    with pytest.raises(db.SchemaNotReady):
        db.check_schema(behind)                     # still behind: serve did not upgrade it


def test_serve_with_redis_refuses_to_start_without_a_secret_key_and_names_the_variable(tmp_path, sqlite_url):
    result = run_serve(tmp_path, sqlite_url, XIESHANG_REDIS_URL="redis://127.0.0.1:1/0")
    assert result.returncode == 1
    assert "XIESHANG_SECRET_KEY is not set" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_serve_refuses_a_bad_proxy_count_and_out_of_range_options(tmp_path, sqlite_url):
    result = run_serve(tmp_path, sqlite_url, XIESHANG_PROXIES="many")
    assert result.returncode == 1 and "XIESHANG_PROXIES must be the number of reverse proxies" in result.stderr
    result = subprocess.run([str(XIESHANG), "serve", "--workers", "0"], env=env_for(tmp_path, sqlite_url),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--workers" in result.stderr
    result = subprocess.run([str(XIESHANG), "serve", "--header-timeout", "0"], env=env_for(tmp_path, sqlite_url),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--header-timeout" in result.stderr


def answer_of(sock: socket.socket) -> int:
    """The status of the next whole answer on a connection (its body read too)."""
    sock.settimeout(10)
    response = http.client.HTTPResponse(sock)
    response.begin()
    response.read()
    assert not response.will_close, "the server did not keep the connection alive"
    return response.status


@pytest.mark.slow
def test_idle_and_dribbling_clients_hold_no_thread_and_are_dropped_after_the_header_timeout(tmp_path, sqlite_url):
    port = free_port()
    server = subprocess.Popen([str(XIESHANG), "serve", "--port", str(port), "--workers", "1", "--threads", "2"],
                              env=env_for(tmp_path, sqlite_url, XIESHANG_HEADER_TIMEOUT="2"),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    stalled: list[socket.socket] = []
    try:
        wait_for(lambda: status(port) == 200, "serving", server)
        opened = time.monotonic()
        for index in range(60):          # 30 say nothing, 30 send half a request head: 30 times the threads
            sock = socket.create_connection(("127.0.0.1", port))
            if index % 2:
                sock.sendall(b"GET /login HTTP/1.1\r\nHost: x\r\n")
            stalled.append(sock)
        started = time.monotonic()
        assert status(port) == 200 and time.monotonic() - started < 1.5       # not queued behind them
        with socket.create_connection(("127.0.0.1", port)) as split:      # a head in pieces, then kept alive
            for piece in (b"GET /login HT", b"TP/1.1\r\nHost: x\r\n", b"\r\n"):
                split.sendall(piece)
                time.sleep(0.3)
            assert answer_of(split) == 200
            body = b"username=a&password=b"
            split.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                          b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            assert answer_of(split) == 400                # no CSRF token: refused, answered
            for piece in (b"GET /login HTTP/1.1\r\n", b"Host: x\r\n", b"\r\n"):       # kept alive, in pieces
                split.sendall(piece)
                time.sleep(0.3)
            assert answer_of(split) == 200
        for sock in stalled:
            sock.settimeout(8)
            assert sock.recv(1024) == b"", "a stalled connection was answered instead of closed"
        assert 1.5 < time.monotonic() - opened < 8                            # after the 2 s header timeout
        assert status(port) == 200
    finally:
        for sock in stalled:
            sock.close()
        server.send_signal(signal.SIGTERM)
        out, _ = server.communicate(timeout=45)
    assert server.returncode == 0 and "Traceback" not in out, out[-3000:]
