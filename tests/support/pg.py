"""A throwaway PostgreSQL server from Debian's package, started once per test session."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} not found: install Debian's postgresql package (make test does)")
    return found[-1]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """initdb + pg_ctl in a temporary directory; runs as `postgres` when the tests run as root."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="xieshang-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)

    def start(self) -> str:
        """Start the server; returns its SQLAlchemy URL."""
        if self.user:
            info = pwd.getpwnam(self.user)
            os.chown(self.root, info.pw_uid, info.pw_gid)
        self._run(_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C")
        self.resume()
        return self.url("postgres")

    def halt(self) -> None:
        """Stop the server (an outage: every connection is cut), keeping its files so that `resume` brings it back.

        A fast stop, not an immediate one: this throwaway server runs with synchronous_commit=off, so an immediate stop
        would also lose the last commits before it (an API token issued a moment earlier was gone after resume)."""
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-t", "30", "-w", "stop")

    def resume(self) -> None:
        """Start the (initialised) server on its port and wait, at most 30 s, until it accepts connections."""
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-w", "-t", "30", "-l", str(self.root / "log"),
                  "start")

    def url(self, database: str) -> str:
        """URL of one database on this server."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create an empty database (or a copy of `template`, which nobody may be connected to); returns its URL."""
        copy = ("-T", template) if template else ()
        self._run(_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", *copy, name)
        return self.url(name)

    def stop(self) -> None:
        """Stop the server and remove its files."""
        try:
            self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
