"""The compose file's topology without containers: one PostgreSQL database, redis-server, gunicorn with N web
processes, N `xieshang worker` Celery processes and one `xieshang beat`, all sharing one clock file; and a headless
locust run against it (tests/perf/topology_locustfile.py). Used by tests/integration/test_topology.py and by
`make bench`."""

from __future__ import annotations

import csv
import http.client
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from domain.consultation.demo import load_demo
from domain.services import Services
from engine.clock import CLOCK_OFFSET_FILE_ENV, FileOffsetClock
from engine.service import Engine
from engine.settings import Settings
from engine.store import db
from tasks.celery_app import create_celery_app

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent                # the venv's console scripts: xieshang, gunicorn, locust
LOCUSTFILE = ROOT / "tests" / "perf" / "topology_locustfile.py"
WITHIN = 60.0                                    # seconds the processes may take to come up
# Every tier (county, committee, township, village), each through all six steps (declined topics stop at triage).
SCENARIOS = ("township", "committee", "village_not_adopted", "county", "no_instruction")   # 14, 14, 13, 24, 14 tasks


class TopologyError(RuntimeError):
    """A process did not come up, or died."""


@dataclass
class LoadRun:
    """What one locust run did: its per-request-type statistics and the simulated people's own record."""

    seconds: float
    stats: dict[str, dict[str, float]]           # request name → {"requests", "failures", "p50", "p95", ...}
    results: dict
    exit_code: int
    output: str

    def p95(self) -> dict[str, float]:
        """The 95th percentile response time (ms) of each request type."""
        return {name: row["p95"] for name, row in self.stats.items() if name != "Aggregated"}


@dataclass
class Topology:
    """The running processes of one deployment; `start()` then `close()`."""

    root: Path
    database_url: str
    redis_url: str
    web_workers: int = 4
    celery_workers: int = 2
    port: int = 0
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def clock_file(self) -> Path:
        return self.root / "clock-offset"

    @property
    def env(self) -> dict[str, str]:
        """What every process of the deployment reads (the compose file's variables)."""
        return {**os.environ, "XIESHANG_DATABASE_URL": self.database_url, "XIESHANG_REDIS_URL": self.redis_url,
                "XIESHANG_SECRET_KEY": self._secret, "XIESHANG_INSTANCE_PATH": str(self.root / "instance"),
                "XIESHANG_PROCESSES_PATH": str(ROOT / "processes"), CLOCK_OFFSET_FILE_ENV: str(self.clock_file),
                "PYTHONPATH": str(ROOT),
                # fifty simulated people share one loopback address: the per-address gates would stop the run
                "XIESHANG_RATE_LIMIT_INTAKE": "1000 per minute", "XIESHANG_RATE_LIMIT_TOKEN_ISSUE": "1000 per minute",
                "XIESHANG_RATE_LIMIT_TRACK": "1000 per minute",
                # the fleet's clock jumps past the longest timer (90 days), which would expire 90-day tokens
                "XIESHANG_TOKEN_LIFETIME_DAYS": "366"}

    def __post_init__(self):
        self._secret = secrets.token_urlsafe(32)

    def prepare(self) -> Engine:
        """Migrate (what `xieshang init` does), load the demo people and deploy the consultation."""
        db.upgrade(self.database_url)
        settings = Settings(self.database_url, None, self.root / "instance", ROOT / "processes")
        engine = Services.from_settings(settings, FileOffsetClock(self.clock_file)).engine
        with engine.unit_of_work() as session:
            load_demo(session, engine.clock.now())
        engine.deploy([ROOT / "processes" / "consultation"], actor="owner")
        return engine

    def start(self, port: int) -> None:
        """gunicorn (N workers), N Celery workers and one beat; returns when the web answers and workers ping."""
        self.port = port
        self._run("web", [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", str(self.web_workers),
                          "--threads", "2", "--timeout", "60", "webui.wsgi:app"])
        for index in range(self.celery_workers):
            self._run(f"worker{index}", [str(BIN / "xieshang"), "worker", "--concurrency", "1",
                                         "--hostname", f"w{index}@%h", "--loglevel", "warning"])
        self._run("beat", [str(BIN / "xieshang"), "beat", "--schedule", str(self.root / "beat-schedule"),
                           "--loglevel", "warning"])
        self.wait_until(self._web_answers, "gunicorn serving /login")
        self.wait_until(lambda: len(self.web_pids()) == self.web_workers, f"{self.web_workers} web processes")
        self.wait_until(lambda: self._pinged() >= self.celery_workers, f"{self.celery_workers} Celery workers up")

    def _run(self, name: str, command: list[str]) -> None:
        with (self.root / f"{name}.log").open("wb") as log:
            self.processes[name] = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log,
                                                    stderr=subprocess.STDOUT, start_new_session=True)

    def _web_answers(self) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request("GET", "/login")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def _pinged(self) -> int:
        app = create_celery_app(Settings(self.database_url, self.redis_url, self.root, ROOT / "processes"))
        try:
            return len(app.control.ping(timeout=0.5))
        finally:
            app.close()

    def web_pids(self) -> list[int]:
        """The gunicorn worker processes (children of the master)."""
        pid = self.processes["web"].pid
        try:
            return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except FileNotFoundError:
            return []

    def busy_web_pids(self) -> list[int]:
        """The gunicorn workers holding a client connection right now (serving a request)."""
        serving = set()
        for name in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(name).read_text().splitlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == self.port and fields[3] == "01":    # ESTABLISHED
                    serving.add(fields[9])
        busy = []
        for pid in self.web_pids():
            try:
                sockets = {os.readlink(f"/proc/{pid}/fd/{fd}")[8:-1] for fd in os.listdir(f"/proc/{pid}/fd")}
            except OSError:
                continue
            if sockets & serving:
                busy.append(pid)
        return busy

    def kill_one_web_process(self, within: float = 10.0) -> int:
        """SIGKILL a gunicorn worker while it serves a request (the master starts another); its pid."""
        deadline = time.monotonic() + within
        while not (busy := self.busy_web_pids()) and time.monotonic() < deadline:
            time.sleep(0.01)
        victim = (busy or self.web_pids())[0]
        os.kill(victim, signal.SIGKILL)
        return victim

    def log(self, name: str) -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self) -> str:
        """The tail of every process's log, for failure messages."""
        return "\n".join(f"--- {path.name}\n" + path.read_text(errors="replace")[-3000:]
                         for path in sorted(self.root.glob("*.log")))

    def wait_until(self, predicate: Callable[[], bool], what: str, within: float = WITHIN) -> None:
        deadline = time.monotonic() + within
        while not predicate():
            dead = {name: p.returncode for name, p in self.processes.items() if p.poll() is not None}
            if dead or time.monotonic() > deadline:
                raise TopologyError(f"not reached within {within} s: {what}; exited: {dead}\n{self.logs()}")
            time.sleep(0.1)

    def load(self, users: int, run_time: float, scenarios: tuple[str, ...] = SCENARIOS,
             during: Callable[[subprocess.Popen], None] | None = None, name: str = "locust") -> LoadRun:
        """Run `users` simulated people (each one consultation), loopback only, stopped after `run_time` s at most.

        `during(process)` runs in this process while locust works (e.g. to kill a web process mid-run).
        """
        prefix, results = self.root / name, self.root / f"{name}-results.json"
        env = {**self.env, "TOPOLOGY_CLOCK_FILE": str(self.clock_file), "TOPOLOGY_RESULTS": str(results),
               "TOPOLOGY_SCENARIOS": ",".join(scenarios), "TOPOLOGY_USERS": str(users)}
        command = [str(BIN / "locust"), "-f", str(LOCUSTFILE), "--headless", "--host", f"http://127.0.0.1:{self.port}",
                   "--users", str(users), "--spawn-rate", str(users), "--run-time", f"{int(run_time)}s",
                   "--stop-timeout", "10", "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
                   "--exit-code-on-error", "0"]
        started = time.monotonic()
        with (self.root / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
            try:
                if during is not None:
                    during(process)
                process.wait(timeout=run_time + 60)
            finally:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        seconds = time.monotonic() - started
        output = self.log(name)
        if not results.exists():
            raise TopologyError(f"locust wrote no results (exit {process.returncode}):\n{output[-5000:]}")
        return LoadRun(seconds, read_stats(Path(f"{prefix}_stats.csv")), json.loads(results.read_text("utf-8")),
                       process.returncode, output)

    def close(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def read_stats(path: Path) -> dict[str, dict[str, float]]:
    """locust's `<prefix>_stats.csv`: per request name, counts and percentiles (ms)."""
    with path.open(encoding="utf-8") as fh:
        return {row["Name"]: {"requests": float(row["Request Count"]), "failures": float(row["Failure Count"]),
                              "p50": float(row["50%"] or 0), "p95": float(row["95%"] or 0),
                              "max": float(row["Max Response Time"] or 0)}
                for row in csv.DictReader(fh)}
