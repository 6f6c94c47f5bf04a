"""Benchmark part: the county's figures (domain/consultation/figures.py) for a year, on bulk-loaded records.

`build_records` adds, next to build_scale's instances and human tasks, one consultation per instance (with its intake
item), suggestions for the consultations whose meeting was held and the meeting's submission (attendees) — bulk SQL
inserts, never through the engine. `figures_section` times the year's figures (`compute` + `step_times`, as /figures
and /figures/heatmap run them) against the same run's baseline (the engine's overdue list, as board_bench does).
"""

from __future__ import annotations

import json
import random
import time
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.consultation import demo_data, figure_counts
from domain.consultation import figures as figs
from engine.store import queries
from tests.perf.bench_data import NOW, _sqlite_stamp, quantiles
from tests.perf.bulk_load import load_rows

ADOPTIONS = ("adopted", "adopted", "partly", "not_adopted", "solved", None)
SATISFACTIONS = ("satisfied", "satisfied", "basically_satisfied", "unsatisfied", None)
YEAR = "2025"
INTAKE_COLUMNS = ("id", "tracking_code", "instance_id", "title", "description", "category", "scope", "township",
                  "village", "source", "created_at")
CONSULTATION_COLUMNS = ("id", "instance_id", "intake_id", "title", "topic", "category", "tier", "org_unit_code",
                        "status", "step", "meeting_date", "created_at", "updated_at")
SUGGESTION_COLUMNS = ("id", "consultation_id", "number", "text", "department_code", "adoption", "answer_round",
                      "satisfaction")
SUBMISSION_COLUMNS = ("id", "instance_id", "task_id", "task_spec", "name", "step", "data", "actor", "submitted_at")


def _rows(bind, seed: int):
    """(table, columns, rows) for the consultation records of every process_instance row."""
    sqlite = bind.dialect.name == "sqlite"
    stamp = _sqlite_stamp if sqlite else (lambda value: value)
    with bind.connect() as conn:
        instances = conn.exec_driver_sql(
            "SELECT id, tier, org_unit_code, status, step FROM process_instance ORDER BY id").all()
        held = {row[0] for row in conn.exec_driver_sql(
            "SELECT DISTINCT instance_id FROM human_task WHERE task_spec = 'hold_meeting' AND status = 'completed'")}
    rng = random.Random(seed)
    departments = [u.code for u in demo_data.org_units() if u.kind == "department"]
    members = [u.username for u in demo_data.users() if u.username.startswith("m")]
    intake, consultations, suggestions, submissions = [], [], [], []
    for iid, tier, org, status, step in instances:
        day = NOW.replace(tzinfo=None) - timedelta(days=rng.uniform(1, 700))
        meeting = (day + timedelta(days=rng.uniform(10, 40))).date() if iid in held or rng.random() < 0.3 else None
        intake.append((iid, f"XS-B{iid:07d}", iid, f"议题 {iid}", "", "livelihood", "township", None, None,
                       "member" if rng.random() < 0.4 else "office", stamp(day)))
        consultations.append((iid, iid, iid, f"议题 {iid}", f"议题 {iid}", "livelihood", tier, org,
                              "completed" if status == "completed" else "in_progress", step, meeting, stamp(day),
                              stamp(day)))
        if iid in held:
            for number in range(1, rng.randint(1, 5) + 1):
                suggestions.append((len(suggestions) + 1, iid, number, f"建议 {number}", rng.choice(departments),
                                    rng.choice(ADOPTIONS), 1, rng.choice(SATISFACTIONS)))
            attendees = rng.sample(members, min(len(members), rng.randint(3, 9)))
            submissions.append((len(submissions) + 1, iid, None, "hold_meeting", "召开协商会议", 4,
                                json.dumps({"attendees": attendees}), "organizer_county", stamp(day)))
    return [("intake_item", INTAKE_COLUMNS, intake), ("consultation", CONSULTATION_COLUMNS, consultations),
            ("suggestion", SUGGESTION_COLUMNS, suggestions), ("task_submission", SUBMISSION_COLUMNS, submissions)]


def build_records(bind, seed: int = 11) -> dict[str, int]:
    """Bulk-insert the consultation records of the instances build_scale wrote, then count them into the figure
    counters with `xieshang figures rebuild`'s code; returns rows per table and the rebuild's seconds."""
    sqlite = bind.dialect.name == "sqlite"
    tables = _rows(bind, seed)
    dbapi = bind.raw_connection()
    try:
        for table, columns, rows in tables:
            load_rows(dbapi, sqlite, table, columns, iter(rows))
        dbapi.commit()
        if not sqlite:
            cursor = dbapi.cursor()
            for table, _, rows in tables:
                cursor.execute(f"SELECT setval('{table}_id_seq', %s)", (max(1, len(rows)),))
            cursor.execute("ANALYZE")
            dbapi.commit()
            cursor.close()
    finally:
        dbapi.close()
    start = time.perf_counter()
    with Session(bind) as session, session.begin():
        figure_counts.rebuild(session)
        counters = session.scalar(select(func.count()).select_from(figure_counts.FigureCount))
    return {table: len(rows) for table, _, rows in tables} | {
        "figure_count": counters, "rebuild_s": round(time.perf_counter() - start, 1)}


def timed(services, runs: int, fn) -> list[float]:
    """fn(session) `runs` times after one untimed warm-up, a fresh read session each."""
    samples = []
    for index in range(runs + 1):
        with services.engine.reading() as session:
            start = time.perf_counter()
            fn(session)
            if index:
                samples.append(time.perf_counter() - start)
    return samples


def figures_section(services, runs: int, prefix: str = "") -> tuple[list[str], dict[str, float]]:
    """Report lines and name=value figures: a year's figures (all tiers; one township's reader), p50/p95, ratios."""
    period = figs.parse_period(YEAR, NOW.date())
    township = frozenset(code for code in (u.code for u in demo_data.org_units())
                         if code.startswith("township_xunchang"))
    base = quantiles(timed(services, runs, lambda s: queries.overdue(s, NOW, org_units=None, limit=100)))
    lines = [f"  {'figures for ' + YEAR + ' (ms)':58} {'p50':>8} {'p95':>8} {'p95/base':>9}"]
    out: dict[str, float] = {}
    calls = (("figures.compute, county-wide", "figures_year", runs,
              lambda s: figs.compute(s, period)),
             ("figures.step_times (heatmap), county-wide", "figures_heatmap_year", runs,
              lambda s: figs.step_times(s, period, NOW)),
             ("figures.compute, one township's reader", "figures_year_township", runs,
              lambda s: figs.compute(s, period, None, township)),
             ("figures.step_times (heatmap), one township's reader", "figures_heatmap_year_township", runs,
              lambda s: figs.step_times(s, period, NOW, None, township)))
    for label, name, times, fn in calls:
        p50, p95 = quantiles(timed(services, times, fn))
        lines.append(f"  {label:58} {p50:8.2f} {p95:8.2f} {p95 / base[1]:9.2f}")
        out |= {f"{prefix}{name}_p50_ms": round(p50, 3), f"{prefix}{name}_p95_ms": round(p95, 3),
                f"{prefix}{name}_vs_baseline": round(p95 / base[1], 2)}
    return lines, out
