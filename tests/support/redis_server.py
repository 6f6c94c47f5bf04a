"""A throwaway redis-server from Debian's package, started once per test session (no persistence)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.support.pg import free_port

READY_WITHIN = 5.0   # seconds to wait for the server to answer PING


class RedisServer:
    """`redis-server --port <free> --save '' --appendonly no` in a temporary directory."""

    def __init__(self):
        self.port = free_port()
        self.root = tempfile.mkdtemp(prefix="xieshang-redis-")
        self.process: subprocess.Popen | None = None
        self.log = None

    @property
    def url(self) -> str:
        """The server's URL (database 0)."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> str:
        """Start the server and wait until it answers PING; returns its URL."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server not found: install Debian's redis-server package (make test does)")
        self.log = open(f"{self.root}/redis.log", "wb")   # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.root], stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_ready()
        return self.url

    def _wait_ready(self) -> None:
        """Poll the socket with PING (the server needs a moment to bind); give up after READY_WITHIN seconds."""
        deadline = time.monotonic() + READY_WITHIN
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            try:   # between polls, wait on the process itself: it returns early if the server died
                self.process.wait(timeout=0.02)
            except subprocess.TimeoutExpired:
                continue
            log = (Path(self.root) / "redis.log").read_text(encoding="utf-8", errors="replace")
            raise RuntimeError(f"redis-server exited: {log}")
        self.stop()
        raise RuntimeError(f"redis-server did not answer PING within {READY_WITHIN} s")

    def stop(self) -> None:
        """Stop the server and remove its directory."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.log is not None:
            self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server():
    """One redis-server for the whole session; import this fixture into a test module to use it."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()
