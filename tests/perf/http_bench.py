"""The six-step process over real HTTP: a server process on a SQLite file, one client thread on a kept-alive
connection, as the issue measured the peer (SpiffArena's backend under uvicorn, one process, SQLite).

Per instance: a start, then for each of the six steps one lookup GET (`/api/v1/tasks?instance_id=`) and one submit —
the issue's shape — and, as a second figure, the same run following the next task `complete` answers with (no
lookup). Baseline in the same run: the engine's in-process path for the same six steps (`complete_and_follow`).
The peer is not installable here (its backend is not a published package), so `vs_peer_recorded` divides by the
peer's figure the issue recorded on this machine class (1.43 instances/s) — a recorded figure, not side by side.

    python -m tests.perf.http_bench [--instances 40] [--server gunicorn|serve]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from domain.consultation.demo import load_demo
from domain.services import Services
from engine.clock import SystemClock
from engine.store import db
from tests.perf.submit_bench import ANSWER, SIX
from tests.support.pg import free_port

PEER_RECORDED = 1.43        # SpiffArena's backend, six user tasks end to end, one client thread (issue 15)
BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]


class Client:
    """JSON over one kept-alive HTTP connection."""

    def __init__(self, port: int, token: str):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        self.connection.request(method, path, body=None if body is None else json.dumps(body), headers=self.headers)
        response = self.connection.getresponse()
        answer = json.loads(response.read())
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: {response.status} {answer}")
        return answer


def run_instance(client: Client, lookup: bool) -> None:
    """Start the six-step process and complete its six tasks (looking each up, or following `next_tasks`)."""
    instance_id = client.call("POST", "/api/v1/instances", {"process_id": "six_step", "data": {}})["instance_id"]
    following: list = []
    for step in range(6):
        if lookup or step == 0:
            following = client.call("GET", f"/api/v1/tasks?instance_id={instance_id}")["items"]
        answer = client.call("POST", f"/api/v1/tasks/{_task_id(following[0])}/complete", {"data": ANSWER})
        following = answer["next_tasks"]
    assert following == [], following


def _task_id(item: dict) -> str:
    """A task's id in the task list (`task_id`) or in complete's `next_tasks` (`id`)."""
    return item.get("task_id") or item["id"]


def engine_run(engine) -> None:
    instance_id = engine.start_instance("six_step", {}, actor="m001")
    task_id = engine.list_tasks(instance_id=instance_id)[0].id
    for _ in range(6):
        _, following = engine.complete_and_follow(task_id, ANSWER, "m001")
        task_id = following[0].id if following else None


def _rate(work, count: int) -> float:
    began = time.perf_counter()
    for _ in range(count):
        work()
    return count / (time.perf_counter() - began)


def _start_server(kind: str, env: dict, port: int, log) -> subprocess.Popen:
    command = [str(BIN / "xieshang"), "serve", "--workers", "1", "--threads", "1", "--port", str(port)] \
        if kind == "serve" else [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "1",
                                 "--threads", "1", "webui.wsgi:app"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        probe = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            probe.request("GET", "/login")
            if probe.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
        finally:
            probe.close()
    os.killpg(process.pid, signal.SIGTERM)
    raise RuntimeError(f"{kind} did not answer within 60 s")


def http_section(instances: int = 30, rounds: int = 3, kind: str = "gunicorn"):
    """(title, lines, figures): instances/s over HTTP with and without the lookup, against the engine in-process."""
    with tempfile.TemporaryDirectory(prefix="xieshang-http-") as tmp:
        url = f"sqlite:///{tmp}/http.db"
        db.upgrade(url)
        services = Services.from_url(url, SystemClock())
        engine = services.engine
        with engine.unit_of_work() as session:
            load_demo(session, engine.clock.now())
        engine.deploy([SIX], actor="owner")
        token = services.accounts.issue_token("m001")
        env = {**os.environ, "XIESHANG_DATABASE_URL": url, "XIESHANG_SECRET_KEY": "bench",
               "XIESHANG_INSTANCE_PATH": str(Path(tmp) / "instance"), "XIESHANG_PROCESSES_PATH": str(SIX.parent)}
        env.pop("XIESHANG_REDIS_URL", None)
        port = free_port()
        with (Path(tmp) / "server.log").open("wb") as log:
            server = _start_server(kind, env, port, log)
            client = Client(port, token)
            try:
                for _ in range(3):                               # warm-up: caches, connections, compiled scripts
                    run_instance(client, lookup=True)
                    engine_run(engine)
                looked, followed, local = [], [], []
                for _ in range(rounds):                          # alternating, so each side sees the same load
                    looked.append(_rate(lambda: run_instance(client, lookup=True), instances))
                    followed.append(_rate(lambda: run_instance(client, lookup=False), instances))
                    local.append(_rate(lambda: engine_run(engine), instances))
            finally:
                client.connection.close()
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(30)
                engine.sessions.kw["bind"].dispose()
                if os.environ.get("XIESHANG_BENCH_LOG"):
                    print((Path(tmp) / "server.log").read_text(errors="replace")[-3000:])
    look, follow, base = (statistics.median(v) for v in (looked, followed, local))
    lines = [f"  {'server':44} {kind}, 1 process, 1 thread; SQLite file; one client thread, kept-alive",
             f"  {'HTTP, lookup GET + submit per step':44} {look:8.2f} inst/s   rounds: "
             + " ".join(f"{v:.2f}" for v in looked),
             f"  {'HTTP, following next_tasks (no lookup)':44} {follow:8.2f} inst/s   rounds: "
             + " ".join(f"{v:.2f}" for v in followed),
             f"  {'engine in-process (baseline, same run)':44} {base:8.2f} inst/s   rounds: "
             + " ".join(f"{v:.2f}" for v in local),
             f"  HTTP/engine time ratio (lookup shape) = {base / look:.2f}; against the peer's recorded "
             f"{PEER_RECORDED} inst/s: {look / PEER_RECORDED:.1f}x (recorded, not side by side)"]
    figures = {f"http_{kind}_inst_per_s": round(look, 2), f"http_{kind}_follow_inst_per_s": round(follow, 2),
               f"http_{kind}_engine_inst_per_s": round(base, 2),
               f"http_{kind}_time_vs_engine_ratio": round(base / look, 3),
               f"http_{kind}_vs_peer_recorded": round(look / PEER_RECORDED, 2)}
    return (f"Six-step process over real HTTP ({kind}), {rounds} rounds x {instances} instances per side "
            "(alternating), medians", lines, figures)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=30, help="instances per side and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--server", choices=("gunicorn", "serve"), default="gunicorn")
    args = parser.parse_args(argv)
    title, lines, figures = http_section(args.instances, args.rounds, args.server)
    print(f"== {title}")
    print("\n".join(lines))
    for name, value in figures.items():
        print(f"{name}={value}")


if __name__ == "__main__":
    main()
