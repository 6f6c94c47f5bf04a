"""The six-step process over real HTTP: a server process on a SQLite file, one client thread, as the issue measured
the peer (SpiffArena's backend under uvicorn, one process, SQLite).

Per instance: a start, then for each of the six steps one lookup GET (`/api/v1/tasks?instance_id=`) and one submit —
the issue's shape — and, as a second figure, the same run following the next task `complete` answers with (no
lookup); a third figure is starts alone (POST /api/v1/instances). Baselines in the same run do the same work in
process: the engine's six steps following `complete_and_follow` (the following shape), and the same with the lookup
the GET makes before each step (`participation.inbox(user, instance_id=)`, the lookup shape; the engine's own
`list_tasks(actor, instance_id)` builds more per task than the inbox answers: forms, candidates, deadlines). The
server's CPU per instance (its processes' user + system time, from /proc) is printed beside the wall figures: on a
busy machine it is the steadier one.

The peer is not installable here (its backend is not a published package), so `vs_peer_recorded` divides by the
peer's figure the issue recorded on this machine class (1.43 instances/s) — a recorded figure, not side by side.
The issue recorded starts only as a ratio (4-8x the peer); `--then PATH` (a checkout of the commit the issue was
filed against, cff4988) runs that tree's server in the same run, alternating, so starts against the peer are 4-8x
times (starts now / starts then).

    python -m tests.perf.http_bench [--instances 30] [--server gunicorn|serve] [--then PATH | --ab PATH]
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
PEER_STARTS = (4, 8)        # xieshang's starts against the peer's when the issue was filed (a ratio only)
BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
TICK = os.sysconf("SC_CLK_TCK")

# A database as a server tree expects it (its own migrations), the demo directory, the six-step process deployed
# and m001's token printed: run with the tree first on the path, so an older checkout builds its own schema.
PREPARE = """
import sys
from pathlib import Path
from domain.consultation.demo import load_demo
from domain.services import Services
from engine.clock import SystemClock
from engine.store import db
db.upgrade(sys.argv[1])
services = Services.from_url(sys.argv[1], SystemClock())
with services.engine.unit_of_work() as session:
    load_demo(session, services.engine.clock.now())
services.engine.deploy([Path(sys.argv[2])], actor="owner")
print(services.accounts.issue_token("m001"))
services.engine.sessions.kw["bind"].dispose()
"""


class Client:
    """JSON over one kept-alive HTTP connection."""

    def __init__(self, port: int, token: str):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        try:
            self.connection.request(method, path, body=None if body is None else json.dumps(body),
                                    headers=self.headers)
            response = self.connection.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            self.connection.close()         # the server ended a connection idle past its keep-alive: send again
            self.connection.request(method, path, body=None if body is None else json.dumps(body),
                                    headers=self.headers)
            response = self.connection.getresponse()
        answer = json.loads(response.read())
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: {response.status} {answer}")
        return answer

    def start(self) -> int:
        return self.call("POST", "/api/v1/instances", {"process_id": "six_step", "data": {}})["instance_id"]


def run_instance(client: Client, lookup: bool) -> None:
    """Start the six-step process and complete its six tasks (looking each up, or following `next_tasks`)."""
    instance_id = client.start()
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
    """The following shape in process: start, one list, six `complete_and_follow`."""
    instance_id = engine.start_instance("six_step", {}, actor="m001")
    task_id = engine.list_tasks(instance_id=instance_id)[0].id
    for _ in range(6):
        _, following = engine.complete_and_follow(task_id, ANSWER, "m001")
        task_id = following[0].id if following else None


def engine_lookup_run(services, user) -> None:
    """The lookup shape in process: start, then per step the same lookup the GET makes (the person's inbox filtered
    to the instance: `participation.inbox`, which the view calls) and a submit."""
    engine = services.engine
    instance_id = engine.start_instance("six_step", {}, actor=user.username)
    for _ in range(6):
        task_id = services.participation.inbox(user, instance_id=instance_id).items[0].task_id
        engine.complete_and_follow(task_id, ANSWER, user.username)


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) of a process and every process under it, from /proc."""
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
            times[int(entry)] = (int(fields[11]) + int(fields[12])) / TICK
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += times.get(current, 0.0)
        todo.extend(children.get(current, []))
    return total


class Measured:
    """Instances (or starts) per second, wall, and CPU ms per unit of the server (or of this process, in process)."""

    def __init__(self):
        self.rates: list[float] = []
        self.cpu_ms: list[float] = []

    def run(self, work, count: int, pid: int | None = None) -> None:
        cpu = (lambda: _cpu_of(pid)) if pid else time.process_time
        began, began_cpu = time.perf_counter(), cpu()
        for _ in range(count):
            work()
        self.rates.append(count / (time.perf_counter() - began))
        self.cpu_ms.append((cpu() - began_cpu) * 1000 / count)

    @property
    def rate(self) -> float:
        return statistics.median(self.rates)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpu_ms)

    def line(self, label: str, unit: str = "inst/s") -> str:
        return (f"  {label:52} {self.rate:8.2f} {unit:8} {self.cpu:7.1f} CPU ms   rounds: "
                + " ".join(f"{v:.2f}" for v in self.rates))


class Server:
    """A server process for one source tree (its own database, prepared with its own code)."""

    def __init__(self, kind: str, tree: Path, tmp: Path):
        tmp.mkdir(exist_ok=True)
        url = f"sqlite:///{tmp}/http.db"
        env = {**os.environ, "XIESHANG_DATABASE_URL": url, "XIESHANG_SECRET_KEY": "bench",
               "XIESHANG_INSTANCE_PATH": str(tmp / "instance"), "XIESHANG_PROCESSES_PATH": str(SIX.parent)}
        env.pop("XIESHANG_REDIS_URL", None)
        if tree != ROOT:      # another checkout: its code first on the path
            env["PYTHONPATH"] = str(tree)
        token = subprocess.run([sys.executable, "-c", PREPARE, url, str(SIX)], cwd=tree, env=env, check=True,
                               capture_output=True, text=True).stdout.strip().splitlines()[-1]
        self.port, self.log = free_port(), (tmp / "server.log").open("wb")
        command = [str(BIN / "xieshang"), "serve", "--workers", "1", "--threads", "1", "--port", str(self.port)] \
            if kind == "serve" else [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", "--workers", "1",
                                     "--threads", "1", "webui.wsgi:app"]
        self.process = subprocess.Popen(command, cwd=tree, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self._wait(kind)
        self.client = Client(self.port, token)

    def _wait(self, kind: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            probe = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                probe.request("GET", "/login")
                if probe.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.2)
            finally:
                probe.close()
        self.stop()
        raise RuntimeError(f"{kind} did not answer within 60 s")

    def stop(self) -> None:
        if hasattr(self, "client"):
            self.client.connection.close()
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(30)
        self.log.close()


def http_section(instances: int = 30, rounds: int = 3, kind: str = "gunicorn", then: Path | None = None,
                 ab: Path | None = None):
    """(title, lines, figures): instances/s over HTTP with and without the lookup and starts/s, against the engine
    in process doing the same work; starts on the `then` tree's server and every HTTP figure on the `ab` tree's
    (another checkout of today's API, e.g. the main branch before a change), when given, in the same rounds."""
    with tempfile.TemporaryDirectory(prefix="xieshang-http-") as tmp:
        url = f"sqlite:///{tmp}/http.db"
        db.upgrade(url)
        services = Services.from_url(url, SystemClock())
        engine = services.engine
        with engine.unit_of_work() as session:
            load_demo(session, engine.clock.now())
        engine.deploy([SIX], actor="owner")
        user = services.accounts.user("m001")
        servers: list[Server] = []
        try:
            now = Server(kind, ROOT, Path(tmp) / "now")     # each server its own file, the in-process runs another
            servers.append(now)
            if then is not None:
                servers.append(Server(kind, then.resolve(), Path(tmp) / "then"))
            if ab is not None:
                servers.append(Server(kind, ab.resolve(), Path(tmp) / "ab"))
            other = servers[-1]
            for _ in range(3):                               # warm-up: caches, connections, compiled scripts
                run_instance(now.client, lookup=True)
                engine_run(engine)
                engine_lookup_run(services, user)
                for server in servers:
                    server.client.start()
            looked, followed, started, local, local_looked = (Measured() for _ in range(5))
            others = {"lookup": Measured(), "follow": Measured(), "starts": Measured()}
            for _ in range(rounds):                          # alternating, so each side sees the same load
                looked.run(lambda: run_instance(now.client, lookup=True), instances, now.process.pid)
                if ab is not None:
                    others["lookup"].run(lambda: run_instance(other.client, lookup=True), instances, other.process.pid)
                local_looked.run(lambda: engine_lookup_run(services, user), instances)
                followed.run(lambda: run_instance(now.client, lookup=False), instances, now.process.pid)
                if ab is not None:
                    others["follow"].run(lambda: run_instance(other.client, lookup=False), instances,
                                         other.process.pid)
                local.run(lambda: engine_run(engine), instances)
                started.run(now.client.start, instances, now.process.pid)
                for server in servers[1:]:
                    others["starts"].run(server.client.start, instances, server.process.pid)
        finally:
            for server in servers:
                server.stop()
            engine.sessions.kw["bind"].dispose()
            if os.environ.get("XIESHANG_BENCH_LOG"):
                print((Path(tmp) / "now" / "server.log").read_text(errors="replace")[-3000:])
    title, lines, figures = _report(kind, rounds, instances, looked, followed, started, local, local_looked)
    if then is not None:
        gain = started.rate / others["starts"].rate
        lines += [others["starts"].line("HTTP, starts on the issue's commit (same run)", "starts/s"),
                  f"  starts now / then = {gain:.2f}; against the peer: {PEER_STARTS[0] * gain:.1f}-"
                  f"{PEER_STARTS[1] * gain:.1f}x (the issue's {PEER_STARTS[0]}-{PEER_STARTS[1]}x times now/then)"]
        figures.update({f"http_{kind}_then_starts_per_s": round(others["starts"].rate, 2),
                        f"http_{kind}_starts_vs_then": round(gain, 2)})
    if ab is not None:
        lines += [others["lookup"].line(f"{ab.name}: HTTP, lookup GET + submit per step"),
                  others["follow"].line(f"{ab.name}: HTTP, following next_tasks"),
                  others["starts"].line(f"{ab.name}: HTTP, starts", "starts/s"),
                  "  this tree / " + ab.name + ": " + ", ".join(
                      f"{name} {mine.rate / others[name].rate:.2f}x wall, {mine.cpu / others[name].cpu:.2f}x CPU"
                      for name, mine in (("lookup", looked), ("follow", followed), ("starts", started)))]
    return title, lines, figures


def _report(kind, rounds, instances, looked, followed, started, local, local_looked):
    lookup_ratio, follow_ratio = local_looked.rate / looked.rate, local.rate / followed.rate
    lines = [f"  {'server':52} {kind}, 1 process, 1 thread; SQLite file; one client thread "
             + ("(gunicorn's sync worker closes each connection)" if kind == "gunicorn" else "(kept alive)"),
             f"  {'':52} {'wall':17} CPU per instance or start (server's; in process: this process's)",
             looked.line("HTTP, lookup GET + submit per step"),
             local_looked.line("in process, inbox lookup + submit per step"),
             followed.line("HTTP, following next_tasks (no lookup)"),
             local.line("engine in process, following (complete_and_follow)"),
             started.line("HTTP, starts (POST /api/v1/instances)", "starts/s")]
    figures = {f"http_{kind}_inst_per_s": round(looked.rate, 2),
               f"http_{kind}_follow_inst_per_s": round(followed.rate, 2),
               f"http_{kind}_starts_per_s": round(started.rate, 2),
               f"http_{kind}_engine_inst_per_s": round(local.rate, 2),
               f"http_{kind}_engine_lookup_inst_per_s": round(local_looked.rate, 2),
               f"http_{kind}_time_vs_engine_ratio": round(lookup_ratio, 3),
               f"http_{kind}_follow_time_vs_engine_ratio": round(follow_ratio, 3),
               f"http_{kind}_cpu_vs_engine_ratio": round(looked.cpu / local_looked.cpu, 3),
               f"http_{kind}_server_cpu_ms_per_inst": round(looked.cpu, 1),
               f"http_{kind}_vs_peer_recorded": round(looked.rate / PEER_RECORDED, 2)}
    lines += [f"  time ratio engine/HTTP, same work: lookup shape {lookup_ratio:.2f} (the issue's target, <= 2), "
              f"following shape {follow_ratio:.2f}; CPU ratio (server / in process), lookup shape "
              f"{looked.cpu / local_looked.cpu:.2f}, following {followed.cpu / local.cpu:.2f}",
              f"  against the peer's recorded {PEER_RECORDED} inst/s: lookup shape {looked.rate / PEER_RECORDED:.1f}x, "
              f"following {followed.rate / PEER_RECORDED:.1f}x (recorded, not side by side)"]
    return (f"Six-step process over real HTTP ({kind}), {rounds} rounds x {instances} instances per side "
            "(alternating), medians", lines, figures)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=30, help="instances per side and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--server", choices=("gunicorn", "serve"), default="gunicorn")
    parser.add_argument("--then", type=Path, help="a checkout of the commit the issue was filed against (cff4988)")
    parser.add_argument("--ab", type=Path, help="another checkout of today's API to measure side by side")
    args = parser.parse_args(argv)
    if args.then and args.ab:
        parser.error("--then or --ab, not both")
    title, lines, figures = http_section(args.instances, args.rounds, args.server, args.then, args.ab)
    print(f"== {title}")
    print("\n".join(lines))
    for name, value in figures.items():
        print(f"{name}={value}")


if __name__ == "__main__":
    main()
