"""The engine's in-process six-step run (`http_bench.engine_run`: start, list, six `complete_and_follow`) in two source
trees side by side: one worker process per tree on its own SQLite file, rounds alternating (the order flips each
round) so both see the same machine load. Prints each tree's instances/s (wall) and CPU ms per instance, medians, and
the ratios to the first tree.

    python -m tests.perf.engine_ab /path/to/baseline/checkout . [--rounds 10] [--instances 10] [--postgres]

Each tree runs its own code (the worker is started with that tree as its working directory and first on the path),
with this interpreter, so both use the same installed libraries.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.pg import PostgresServer

WORKER = """
import sys, tempfile, time
from domain.consultation.demo import load_demo
from domain.services import Services
from engine.clock import SystemClock
from engine.store import db
from tests.perf.http_bench import engine_run
from tests.perf.submit_bench import SIX
url = sys.argv[2] if len(sys.argv) > 2 else f"sqlite:///{sys.argv[1]}/engine-ab.db"
db.upgrade(url)
engine = Services.from_url(url, SystemClock()).engine
with engine.unit_of_work() as session:
    load_demo(session, engine.clock.now())
engine.deploy([SIX], actor="owner")
for _ in range(5):
    engine_run(engine)
print("ready", flush=True)
for line in sys.stdin:
    began, cpu = time.perf_counter(), time.process_time()
    for _ in range(int(line)):
        engine_run(engine)
    print(time.perf_counter() - began, time.process_time() - cpu, flush=True)
"""


def _worker(tree: Path, tmp: str, url: str | None = None) -> subprocess.Popen:
    folder = tempfile.mkdtemp(dir=tmp)
    process = subprocess.Popen([sys.executable, "-c", WORKER, folder, *([url] if url else [])], cwd=tree, text=True,
                               env={**os.environ, "PYTHONPATH": str(tree)}, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE)
    if process.stdout.readline().strip() != "ready":
        raise RuntimeError(f"the worker in {tree} did not start")
    return process


def compare(trees: list[Path], rounds: int, instances: int, postgres: bool = False) -> list[str]:
    """Report lines: per tree the median instances/s and CPU ms per instance, then the ratios to the first tree. With
    `postgres`, each tree on its own database of one throwaway PostgreSQL server (CPU: the worker's, not the
    server's)."""
    server = PostgresServer() if postgres else None
    if server:
        server.start()
    try:
        return _compare(trees, rounds, instances, server)
    finally:
        if server:
            server.stop()


def _compare(trees, rounds, instances, server) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="xieshang-engine-ab-") as tmp:
        workers = [_worker(tree, tmp, server and server.create_database(f"ab{i}")) for i, tree in enumerate(trees)]
        rates: list[list[float]] = [[] for _ in trees]
        cpu: list[list[float]] = [[] for _ in trees]
        try:
            for turn in range(rounds):
                order = range(len(trees)) if turn % 2 == 0 else reversed(range(len(trees)))
                for index in order:
                    workers[index].stdin.write(f"{instances}\n")
                    workers[index].stdin.flush()
                    wall, used = map(float, workers[index].stdout.readline().split())
                    rates[index].append(instances / wall)
                    cpu[index].append(used * 1000 / instances)
        finally:
            for worker in workers:
                worker.stdin.close()
                worker.wait(60)
    lines = [f"load average at the end: {os.getloadavg()[0]:.2f} (1 min), {time.strftime('%H:%M:%S')}"]
    for tree, rate, used in zip(trees, rates, cpu, strict=True):
        lines.append(f"{str(tree):40} {statistics.median(rate):7.2f} inst/s  {statistics.median(used):6.1f} CPU ms/inst"
                     f"   rounds: {' '.join(f'{r:.1f}' for r in rate)}")
    for tree, rate, used in zip(trees[1:], rates[1:], cpu[1:], strict=True):
        lines.append(f"{str(tree)} vs {trees[0]}: {statistics.median(rate) / statistics.median(rates[0]):.2f}x "
                     f"inst/s, {statistics.median(cpu[0]) / statistics.median(used):.2f}x less CPU")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="+", type=Path, help="source trees; the first is the baseline")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--instances", type=int, default=10, help="instances per tree per round")
    parser.add_argument("--postgres", action="store_true", help="on a throwaway PostgreSQL server, not SQLite files")
    args = parser.parse_args()
    print("\n".join(compare([tree.resolve() for tree in args.trees], args.rounds, args.instances, args.postgres)))


if __name__ == "__main__":
    main()
