"""Benchmark part: the overdue board (domain/work/board.py) on the bulk-loaded projection of tests/perf/bench.py.

Timed against a baseline measured in the same run on the same rows: the engine's own overdue list
(`queries.overdue(session, now, org_units=None, limit=100)`), so the figures read as ratios on any machine.
Standalone: `python -m tests.perf.board_bench [--rows 100000] [--runs 60]` (SQLite file, bulk SQL inserts).
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

from sqlalchemy import case, func, select, text

from domain.services import Services
from domain.work import board
from engine.clock import FrozenClock
from engine.settings import Settings
from engine.store import queries
from engine.store.models import HumanTask
from tests.perf import bench_cache
from tests.perf.bench_data import NOW, build_scale, quantiles, seeded
from tests.perf.figures_bench import build_records, figures_section, timed

WATCHERS = (("county office", "office"), ("township supervisor", "supervisor_xunchang"))
PAGE_RUNS = 10


def _cursor_at(services: Services, user, filters, pages: int) -> str | None:
    """The cursor after `pages` pages of 25 (walked once, untimed), as a reader paging on would hold it."""
    after = None
    with services.engine.reading() as session:
        for _ in range(pages):
            page = board.tasks(session, user, NOW, filters, after=after, per_page=25, hooks=services.engine.hooks)
            after = page.next or after
    return after


def _page_times(services: Services, url: str, username: str, paths: tuple[str, ...]) -> dict[str, list[float]]:
    """Server time of the board's pages through the Flask app (test client: no network, no browser)."""
    from webui import create_app

    with tempfile.TemporaryDirectory(prefix="xieshang-board-") as tmp:
        app = create_app({"SETTINGS": Settings(url, None, Path(tmp), None), "SERVICES": services, "TESTING": True,
                          "SECRET_KEY": "bench"})
        client = app.test_client()
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True))[1]
        client.post("/login", data={"username": username, "password": "xieshang-demo", "csrf_token": token})
        times: dict[str, list[float]] = {}
        for path in paths:
            for index in range(PAGE_RUNS + 1):
                start = time.perf_counter()
                response = client.get(path)
                assert response.status_code == 200, (path, response.status_code)
                if index:
                    times.setdefault(path, []).append(time.perf_counter() - start)
        return times


def board_section(services: Services, url: str, runs: int, prefix: str = "",
                  figures_too: bool = True) -> tuple[list[str], dict[str, float]]:
    """Report lines and name=value figures: matrix and list p50/p95 per watcher, pages' server time, ratios."""
    users = {key: services.accounts.user(name) for key, name in WATCHERS}
    base = quantiles(timed(services, runs, lambda s: queries.overdue(s, NOW, org_units=None, limit=100)))
    lines = [f"  {'board query (ms)':58} {'p50':>8} {'p95':>8} {'p95/base':>9}",
             f"  {'baseline: queries.overdue(org_units=None, limit=100)':58} {base[0]:8.2f} {base[1]:8.2f} "
             f"{1.0:9.2f}"]
    figures = {f"{prefix}board_baseline_overdue_p50_ms": round(base[0], 3),
               f"{prefix}board_baseline_overdue_p95_ms": round(base[1], 3)}
    counted = select(HumanTask.org_unit_code, func.count(), func.sum(case((HumanTask.due_at < NOW, 1), else_=0))) \
        .where(HumanTask.status == "ready").group_by(HumanTask.org_unit_code)
    calls, by_urges = [("before: the matrix counted from the open rows, county-wide", "board_matrix_counted",
                        lambda s: s.execute(counted).all())], board.Filters(sort="-urges")
    for key, user in users.items():
        short, deep = key.split()[1], _cursor_at(services, user, by_urges, 39)
        calls += [(f"matrix, {key}", f"board_matrix_{short}",
                   lambda s, u=user: board.matrix(s, u, NOW)),
                  (f"overdue list page 1 (25 rows), {key}", f"board_list_{short}",
                   lambda s, u=user: board.tasks(s, u, NOW, board.Filters(), per_page=25, hooks=services.engine.hooks)),
                  (f"overdue list sorted by urges, page 40 (by cursor), {key}", f"board_list_sorted_{short}",
                   lambda s, u=user, c=deep: board.tasks(s, u, NOW, by_urges, after=c, per_page=25,
                                                         hooks=services.engine.hooks))]
    for label, name, fn in calls:
        p50, p95 = quantiles(timed(services, runs, fn))
        lines.append(f"  {label:58} {p50:8.2f} {p95:8.2f} {p95 / base[1]:9.2f}")
        figures |= {f"{prefix}{name}_p50_ms": round(p50, 3), f"{prefix}{name}_p95_ms": round(p95, 3),
                    f"{prefix}{name}_vs_baseline": round(p95 / base[1], 2)}
    pages = _page_times(services, url, "office", ("/board", "/board/tasks"))
    for path, samples in pages.items():
        p50, p95 = quantiles(samples)
        name = "board_page" if path == "/board" else "board_list_page"
        lines.append(f"  {'GET ' + path + ' as the office (server time, ' + str(PAGE_RUNS) + ' runs)':58} "
                     f"{p50:8.2f} {p95:8.2f} {p95 / base[1]:9.2f}")
        figures |= {f"{prefix}{name}_p50_ms": round(p50, 3), f"{prefix}{name}_p95_ms": round(p95, 3)}
    if not figures_too:
        return lines, figures
    figure_lines, figure_values = figures_section(services, max(5, runs // 4), prefix)
    return lines + figure_lines, figures | figure_values


def build_database(path: Path, rows: int) -> None:
    """The bench database: demo directory, the consultation deployed, `rows` task rows on a tenth as many instances,
    their consultation records, every kept counter rebuilt."""
    services, version_id, parsed = seeded(f"sqlite:///{path}")
    try:
        bind = services.engine.sessions.kw["bind"]
        info = build_scale(bind, parsed, version_id, max(1, rows // 10), rows)
        records = build_records(bind)
        print(f"   built {info.instances:,} instances, {info.tasks:,} human tasks in {info.seconds:.1f} s; records: "
              + ", ".join(f"{table} {n:,}" for table, n in records.items()))
    finally:
        services.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="human-task rows, a tenth as many instances")
    parser.add_argument("--runs", type=int, default=60, help="timed runs per query")
    parser.add_argument("--board-only", action="store_true", help="leave out the county's figures (the heatmap alone "
                        "takes minutes at a million rows)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="xieshang-board-bench-") as tmp:
        path = Path(tmp) / "board.db"
        start = time.perf_counter()
        reused = bench_cache.database(f"board-{args.rows}", path, lambda target: build_database(target, args.rows),
                                      rows=args.rows)
        url = f"sqlite:///{path}"
        services = Services.from_url(url, FrozenClock(NOW))
        try:
            with services.engine.reading() as session:
                counts = session.execute(text(
                    "SELECT (SELECT count(*) FROM process_instance), (SELECT count(*) FROM human_task), "
                    "(SELECT count(*) FROM human_task WHERE status = 'ready')")).one()
            print(f"== Overdue board on SQLite: {counts[0]:,} instances, {counts[1]:,} human tasks ({counts[2]:,} "
                  f"ready); database {'from the bench cache' if reused else 'built and cached'} in "
                  f"{time.perf_counter() - start:.1f} s ({bench_cache.cache_dir()})")
            lines, figures = board_section(services, url, args.runs, figures_too=not args.board_only)
            print("\n".join(lines))
            print()
            for name, value in figures.items():
                print(f"{name}={value}")
        finally:
            services.close()


if __name__ == "__main__":
    main()
