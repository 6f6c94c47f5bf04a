"""The deployment topology under load, for `make bench` (`python -m tests.perf.bench --topology`): PostgreSQL,
redis-server, gunicorn with 4 web processes, 2 Celery workers and one beat (tests/support/topology.py); first one
person works a consultation alone (the baseline), then N people at once; p95 of each request type for both, and
their ratio."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from tests.perf.section import Section
from tests.support.pg import PostgresServer, free_port
from tests.support.redis_server import RedisServer
from tests.support.topology import Topology

ALONE_RUN_TIME, LOAD_RUN_TIME = 90.0, 240.0


def kind(request_name: str) -> str:
    """`POST /api/v1/tasks/<id>/complete` → `post_tasks_id_complete`: a figure name."""
    words = re.sub(r"^/api/v1/", "", request_name.split(" ", 1)[1]).replace("<id>", "id")
    return f"{request_name.split(' ', 1)[0].lower()}_{re.sub(r'[^a-z0-9]+', '_', words).strip('_')}"


def topology_section(people: int) -> Section:
    """Start the topology, run the baseline and the load, report p95 per request type."""
    postgres, redis = PostgresServer(), RedisServer()
    postgres.start()
    redis.start()
    try:
        with tempfile.TemporaryDirectory(prefix="xieshang-topology-") as tmp:
            deployment = Topology(Path(tmp), postgres.create_database("topology"), redis.url)
            engine = deployment.prepare()
            try:
                deployment.start(free_port())
                alone = deployment.load(1, ALONE_RUN_TIME, scenarios=("township",), name="alone")
                loaded = deployment.load(people, LOAD_RUN_TIME, name="load")
            finally:
                deployment.close()
                engine.sessions.kw["bind"].dispose()
    finally:
        redis.stop()
        postgres.stop()
    out = Section(f"Deployment topology: gunicorn 4 web processes, 2 Celery workers, 1 beat, PostgreSQL, Redis; "
                  f"{people} people at once vs one alone (JSON API, think time 0, locust)")
    out.add(f"  {'request':40} {'n':>6} {'fail':>5} {'p50 ms':>8} {'p95 ms':>8} {'alone p95':>10} {'ratio':>6}")
    base = alone.p95()
    for name, row in sorted(loaded.stats.items()):
        if name == "Aggregated":
            continue
        ratio = row["p95"] / base[name] if base.get(name) else None
        out.add(f"  {name:40} {row['requests']:6.0f} {row['failures']:5.0f} {row['p50']:8.0f} {row['p95']:8.0f} "
                f"{base.get(name, 0):10.0f} {ratio if ratio is not None else float('nan'):6.1f}")
        out.figures[f"topology_{kind(name)}_p95_ms"] = row["p95"]
        if ratio is not None:
            out.figures[f"topology_{kind(name)}_p95_vs_alone"] = round(ratio, 2)
    finished = sum(1 for i in loaded.results["instances"].values() if i["status"] == "completed")
    out.add(f"  {finished}/{people} consultations finished, {len(loaded.results['completed'])} tasks, "
            f"{loaded.results['server_errors']} server errors, in {loaded.seconds:.1f} s")
    out.figures.update({"topology_people": people, "topology_finished": finished,
                        "topology_tasks": len(loaded.results["completed"]),
                        "topology_server_errors": loaded.results["server_errors"],
                        "topology_s": round(loaded.seconds, 1)})
    return out
