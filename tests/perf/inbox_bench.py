"""Benchmark part: the inbox of an office holding 100,000 claimable tasks (figures `inbox_office_*`), and of a
township's organizer holding 10,000 (`inbox_township_*`), in a database of 1,000,000 task rows (the bulk projection of
tests/perf/bench_data.py plus those people's tasks: a tenth and a hundredth of the rows at any size).

Timed in the same run against a baseline on the same rows: main's inbox before keyset paging and kept counts
(`before_inbox` below: four counts over every matching row, then an OFFSET page), and the peer's figure from issue 15
(SpiffArena's claimable list, p50 133 ms at 10,000 open tasks on this machine class). Server time = the time the
Flask app takes to answer in-process (test client: no network, no browser).
Standalone: `python -m tests.perf.inbox_bench [--rows 1000000] [--runs 40] [--postgres]`; the built SQLite database is
kept by tests/perf/bench_cache.py (set XIESHANG_BENCH_CACHE to keep it apart from other runs); `--postgres` also builds
the same rows in a throwaway PostgreSQL server (tests/support/pg.py) and times the same requests there (`pg_` figures).
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from pathlib import Path

from sqlalchemy import and_, false, func, select, text, union_all

from domain.people.accounts import UserView
from domain.services import Services
from domain.work import inbox
from domain.work.models import TaskRead
from engine.clock import FrozenClock
from engine.settings import Settings
from engine.store.models import HumanTask, ProcessInstance
from tests.perf.bench_data import NOW, quantiles
from tests.perf.inbox_data import OFFICES, prepared, prepared_postgres

PEER_CLAIMABLE_10K_P50_MS = 133.0     # issue 15: SpiffArena's claimable list over its API at 10,000 open tasks
TARGET_P95_MS = 20.0
DEEP_PAGES = 50


# --- the baseline: main's inbox before keyset pages and kept counts (domain/work/inbox.py at cff4988) ---------------
def _before_condition(user: UserView, tab: str):
    if tab == "assigned":
        return and_(HumanTask.status == "ready", HumanTask.assignee == user.username)
    if tab == "claimable":
        branches = [select(HumanTask.id).where(HumanTask.status == "ready", HumanTask.role == role,
                                               HumanTask.org_unit_code == org, HumanTask.assignee.is_(None))
                    for role, org in sorted(set(user.memberships))]
        if not branches:
            return false()
        return HumanTask.id.in_(union_all(*branches).scalar_subquery() if len(branches) > 1
                                else branches[0].scalar_subquery())
    if tab == "done":
        return and_(HumanTask.completed_by == user.username, HumanTask.status == "completed")
    took_part = select(HumanTask.instance_id).where(HumanTask.completed_by == user.username)
    started = select(ProcessInstance.id).where(ProcessInstance.started_by == user.username)
    return and_(HumanTask.instance_id.in_(union_all(took_part, started).scalar_subquery()),
                HumanTask.status == "ready")


def before_inbox(session, user: UserView, tab: str, hooks) -> int:
    """Main's inbox page before this change: every tab counted over all its rows, then page 1 by OFFSET."""
    def base(condition):
        return (select(HumanTask, ProcessInstance.process_id, TaskRead.read_at)
                .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
                .outerjoin(TaskRead, and_(TaskRead.task_id == HumanTask.id, TaskRead.username == user.username))
                .where(condition))

    counts = {name: session.scalar(select(func.count()).select_from(base(_before_condition(user, name)).subquery()))
              for name in inbox.TABS}
    query = base(_before_condition(user, tab))
    query = query.order_by(HumanTask.completed_at.desc()) if tab == "done" else \
        query.order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.created_at)
    rows = session.execute(query.limit(20)).all()
    hooks.titles(session, {(row.instance_id, process_id) for row, process_id, _ in rows})
    return counts[tab]


# --- timing ---------------------------------------------------------------------------------------------------------
def figure_names() -> list[str]:
    """The names inbox_section prints, in order."""
    names = ["inbox_peer_claimable_10k_p50_ms", "inbox_target_p95_ms"]
    for _, *_, size, _ in OFFICES:
        names.append(f"inbox_{size}_claimable_tasks")
        for tab in inbox.TABS:
            names += [f"inbox_{size}_{tab}_before_p95_ms"] + [
                f"inbox_{size}_{kind}_{tab}_{q}_ms" for kind in ("api", "web") for q in ("p50", "p95")]
        extra = ["api_claimable_page51", "web_claimable_page51"] + (["web_supervise"] if size == "office" else [])
        names += [f"inbox_{size}_{name}_{q}_ms" for name in extra for q in ("p50", "p95")]
    return names + ["inbox_worst_p95_ms", "target_inbox_tabs_met", "inbox_load_average"]


# A long-lived web process runs each statement many times on one connection: PostgreSQL changes how it plans a
# prepared statement after its first runs there (psycopg prepares from the fifth, the server may go generic after five
# more), so the timed runs start past that point, as a server's requests do.
WARM_UP = 12


def _timed(fn, runs: int, cpu: list | None = None, warm_up: int = WARM_UP) -> list[float]:
    """Wall-clock seconds of `runs` calls after `warm_up` calls; the process's CPU seconds of each appended to `cpu`
    (on a loaded machine the wall time waits for a core, the CPU time much less: both are reported)."""
    for _ in range(warm_up):
        fn()
    samples = []
    for _ in range(runs):
        start, used = time.perf_counter(), time.process_time()
        fn()
        samples.append(time.perf_counter() - start)
        if cpu is not None:
            cpu.append(time.process_time() - used)
    return samples


def _client(services: Services, url: str, tmp: str, username: str):
    from webui import create_app

    app = create_app({"SETTINGS": Settings(url, None, Path(tmp), None), "SERVICES": services, "TESTING": True,
                      "SECRET_KEY": "bench"})
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True))[1]
    client.post("/login", data={"username": username, "password": "xieshang-demo", "csrf_token": token})
    return client, {"Authorization": f"Bearer {services.accounts.issue_token(username, 'bench')}"}


def _get(client, path: str, headers=None):
    def run():
        response = client.get(path, headers=headers or {})
        assert response.status_code == 200, (path, response.status_code)
        return response
    return run


def _deep_cursor(services: Services, user: UserView, pages: int) -> str | None:
    after = None
    for _ in range(pages):
        after = services.participation.inbox(user, tab="claimable", after=after).next or after
    return after


def inbox_section(services: Services, url: str, runs: int, label: str = "SQLite file", prefix: str = "",
                  deep_pages: int = DEEP_PAGES) -> tuple[str, list[str], dict[str, float]]:
    """(title, report lines, name=value figures): before and after, API and web, each tab, both offices; figure names
    start with `prefix` (`pg_` on PostgreSQL)."""
    lines, figures = [], {"inbox_peer_claimable_10k_p50_ms": PEER_CLAIMABLE_10K_P50_MS,
                          "inbox_target_p95_ms": TARGET_P95_MS}
    lines.append(f"  {'request (server time, ms)':66} {'p50':>8} {'p95':>8} {'p95/before':>10} {'cpu p50':>8} "
                 f"{'cpu p95':>8}")
    started = os.getloadavg()[0]
    hooks = services.engine.hooks
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="xieshang-inbox-bench-") as tmp:
        for username, *_, size, _ in OFFICES:
            user = services.accounts.user(username)
            with services.engine.reading() as session:
                claimable = inbox.inbox(session, user, NOW, tab="claimable", hooks=hooks).counts["claimable"]
            lines.append(f"  -- {username}: {claimable:,} claimable tasks")
            figures[f"inbox_{size}_claimable_tasks"] = claimable       # 100,000 / 10,000 at a million rows
            client, headers = _client(services, url, tmp, username)
            for tab in inbox.TABS:
                def before(tab=tab, user=user):
                    with services.engine.reading() as session:
                        before_inbox(session, user, tab, hooks)
                base = quantiles(_timed(before, max(3, runs // 8), warm_up=1))     # a second each
                lines.append(f"  {'before: main inbox query, tab ' + tab:66} {base[0]:8.2f} {base[1]:8.2f} {1:10.2f}")
                figures[f"inbox_{size}_{tab}_before_p95_ms"] = round(base[1], 2)
                for kind, path, hdrs in (("api", f"/api/v1/tasks?tab={tab}", headers),
                                         ("web", f"/inbox?tab={tab}", None)):
                    cpu: list[float] = []
                    p50, p95 = quantiles(_timed(_get(client, path, hdrs), runs, cpu))
                    cpu50, cpu95 = quantiles(cpu)
                    worst = max(worst, p95)
                    lines.append(f"  {'after: GET ' + path:66} {p50:8.2f} {p95:8.2f} {p95 / base[1]:10.2f} "
                                 f"{cpu50:8.2f} {cpu95:8.2f}")
                    figures[f"inbox_{size}_{kind}_{tab}_p50_ms"] = round(p50, 2)
                    figures[f"inbox_{size}_{kind}_{tab}_p95_ms"] = round(p95, 2)
            deep = _deep_cursor(services, user, deep_pages)
            extra = [("api_claimable_page51", f"/api/v1/tasks?tab=claimable&after={deep}", headers),
                     ("web_claimable_page51", f"/inbox?tab=claimable&after={deep}", None)]
            if size == "office":
                extra.append(("web_supervise", "/inbox?tab=supervise", None))
            for name, path, hdrs in extra:
                cpu = []
                p50, p95 = quantiles(_timed(_get(client, path, hdrs), runs, cpu))
                cpu50, cpu95 = quantiles(cpu)
                worst = max(worst, p95)
                lines.append(f"  {'after: GET ' + path[:54]:66} {p50:8.2f} {p95:8.2f} {'':10} {cpu50:8.2f} "
                             f"{cpu95:8.2f}")
                figures[f"inbox_{size}_{name}_p50_ms"] = round(p50, 2)
                figures[f"inbox_{size}_{name}_p95_ms"] = round(p95, 2)
    figures["inbox_worst_p95_ms"] = round(worst, 2)
    figures["target_inbox_tabs_met"] = int(worst <= TARGET_P95_MS)
    load = os.getloadavg()
    figures["inbox_load_average"] = round(max(started, load[0]), 2)
    busy = "shared with other work: wall times wait for a core, read the CPU columns too" \
        if figures["inbox_load_average"] > 0.75 * (os.cpu_count() or 1) else "a quiet machine"
    title = (f"Inbox at 10k and 100k claimable tasks ({label}, {runs} runs per request; load average "
             f"{started:.1f} at the start, {load[0]:.1f}/{load[1]:.1f} at the end on {os.cpu_count()} cpus: {busy})")
    return title, lines, {prefix + name: value for name, value in figures.items()}


def bench_section(rows: int, runs: int) -> tuple[str, list[str], dict[str, float]]:
    """The section `make bench` prints (tests/perf/bench.py), on the cached database of `rows` task rows."""
    with tempfile.TemporaryDirectory(prefix="xieshang-inbox-") as tmp:
        services, url, _ = prepared(rows, tmp)
        try:
            return inbox_section(services, url, runs)
        finally:
            services.close()


def postgres_section(rows: int, runs: int, url: str | None = None,
                     keep: bool = False) -> tuple[str, list[str], dict[str, float]]:
    """The same section on PostgreSQL: a throwaway server, the rows built with COPY, `pg_` figures; or the database
    at `url` as it is (one an earlier run kept: `keep` leaves the server running and prints its URL)."""
    from tests.support.pg import PostgresServer

    server = None
    if url is None:
        server = PostgresServer()
        server.start()
    try:
        start = time.perf_counter()
        if server is not None:
            services, url = prepared_postgres(rows, server)
        else:
            services = Services.from_url(url, FrozenClock(NOW))
        built = time.perf_counter() - start
        try:
            title, lines, figures = inbox_section(services, url, runs, "PostgreSQL", "pg_")
        finally:
            services.close()
        source = f"database built with COPY in {built:.1f} s" if server is not None else f"database {url} as kept"
        return title, [f"  {source}", *lines], figures
    finally:
        if server is not None and keep:
            print(f"kept: --postgres-url {url} (stop it with pg_ctl -D {server.data} stop)")
        elif server is not None:
            server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="human-task rows in all")
    parser.add_argument("--runs", type=int, default=40, help="timed runs per request")
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL (built with COPY, this run)")
    parser.add_argument("--only-postgres", action="store_true", help="PostgreSQL only")
    parser.add_argument("--keep-postgres", action="store_true",
                        help="leave the PostgreSQL server and its database running, for --postgres-url")
    parser.add_argument("--postgres-url", help="time the inbox on this already built database (implies --postgres)")
    args = parser.parse_args(argv)
    if args.postgres or args.only_postgres or args.postgres_url:
        title, lines, figures = postgres_section(args.rows, args.runs, args.postgres_url, args.keep_postgres)
        print(f"== {title}")
        print("\n".join(lines))
        print()
        for name, value in figures.items():
            print(f"{name}={value}")
        if args.only_postgres:
            return
    with tempfile.TemporaryDirectory(prefix="xieshang-inbox-") as tmp:
        start = time.perf_counter()
        services, url, reused = prepared(args.rows, tmp)
        try:
            with services.engine.reading() as session:
                counts = session.execute(text("SELECT (SELECT count(*) FROM human_task), "
                                              "(SELECT count(*) FROM human_task WHERE status = 'ready')")).one()
            print(f"== {counts[0]:,} human tasks ({counts[1]:,} ready); database "
                  f"{'from the bench cache' if reused else 'built and cached'} in {time.perf_counter() - start:.1f} s")
            title, lines, figures = inbox_section(services, url, args.runs)
            print(f"== {title}")
            print("\n".join(lines))
            print()
            for name, value in figures.items():
                print(f"{name}={value}")
        finally:
            services.close()


if __name__ == "__main__":
    main()
