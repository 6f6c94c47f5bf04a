"""The benchmark's code runs end to end at tiny sizes and reports every figure (no timing is asserted)."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from sqlalchemy import func, select

from domain.consultation import demo_data
from engine.store import queries
from engine.store.models import HumanTask
from tests.perf import bench, inbox_bench
from tests.perf.bench_data import READY_SHARE, build_scale, capture_plans, fresh, parse_plain, run_baseline, union_inbox

BOARD = ("board_baseline_overdue_p50_ms", "board_baseline_overdue_p95_ms", "board_matrix_counted_p50_ms",
         "board_matrix_counted_p95_ms", "board_matrix_counted_vs_baseline") + tuple(
    f"board_{name}_{who}_{figure}" for who in ("office", "supervisor") for name in ("matrix", "list", "list_sorted")
    for figure in ("p50_ms", "p95_ms", "vs_baseline")) + tuple(
    f"{page}_{q}_ms" for page in ("board_page", "board_list_page") for q in ("p50", "p95")) + tuple(
    f"{name}_{figure}" for name in ("figures_year", "figures_heatmap_year", "figures_year_township",
                                    "figures_heatmap_year_township")
    for figure in ("p50_ms", "p95_ms", "vs_baseline"))
SUBMIT = ("sql_start", "sql_task_get", "sql_complete", "sql_instance_get", "sql_inbox_get", "sql_writes_task_get",
          "sql_writes_instance_get", "sql_writes_inbox_get", "http_six_step_inst_per_s", "engine_six_step_inst_per_s",
          "plain_six_step_inst_per_s", "http_vs_engine_ratio", "six_step_engine_vs_plain_ratio",
          "consultation_state_kb", "consultation_state_stored_kb")
HTTP = tuple(f"http_gunicorn_{name}" for name in (
    "inst_per_s", "follow_inst_per_s", "starts_per_s", "engine_inst_per_s", "engine_lookup_inst_per_s",
    "time_vs_engine_ratio", "follow_time_vs_engine_ratio", "cpu_vs_engine_ratio", "server_cpu_ms_per_inst",
    "vs_peer_recorded"))
FIGURES = (
    "engine_inst_per_s", "baseline_inst_per_s", "engine_vs_baseline_ratio", "engine_vs_baseline_cpu_ratio",
    "engine_ms_per_task", "baseline_ms_per_task", "engine_complete_task_ms", "engine_commands_vs_baseline_ratio",
    "tasks_per_instance", "county_engine_inst_per_s", "county_baseline_inst_per_s", "county_engine_vs_baseline_ratio",
    "county_engine_vs_baseline_cpu_ratio", "county_engine_ms_per_task", "county_baseline_ms_per_task",
    "county_engine_complete_task_ms", "county_engine_commands_vs_baseline_ratio", "county_tasks_per_instance",
    "sandbox_overhead", "figure_shares_overhead", "figure_shares_ms_per_save",
    "state_bytes", "full_json_bytes", "state_save_load_ms", "full_save_load_ms", "version_lookup_ms",
    "views_instance_rows_ms", "views_instance_columns_ms", *SUBMIT, *HTTP, "rows_instances", "rows_human_tasks",
    "rows_ready",
    "build_s", "inbox_p50_ms", "inbox_p95_ms", "inbox_memberships_ms", "inbox_select_ms", "inbox_count_ms",
    "inbox_views_ms", "inbox_union_p50_ms", "inbox_union_p95_ms", "web_inbox_p50_ms", "web_inbox_p95_ms",
    "overdue_p50_ms", "overdue_p95_ms", *BOARD, *inbox_bench.figure_names(),
    "target_ratio_met", "target_inbox_met", "target_overdue_met", "bench_s",
)


def test_main_prints_a_report_and_ends_with_every_figure(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("XIESHANG_BENCH_CACHE", str(tmp_path / "cache"))     # built here, not in the user's cache
    bench.main(["--rows", "2000", "--runs", "8", "--repeats", "1", "--per-repeat", "1", "--http-instances", "1"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert "== End to end, scenario 'township': 14 user tasks per instance, 1 repeats x 1 instances per side " \
           "(alternating), medians" in lines
    tail = lines[-len(FIGURES):]
    assert all(re.fullmatch(r"[a-z0-9_]+=-?[0-9.]+", line) for line in tail), tail
    figures = dict(line.split("=") for line in tail)
    assert tuple(figures) == FIGURES
    assert (figures["rows_instances"], figures["rows_human_tasks"], figures["rows_ready"]) == ("200", "2000", "200")
    assert (figures["tasks_per_instance"], figures["county_tasks_per_instance"]) == ("14", "24")
    assert int(figures["state_bytes"]) < int(figures["full_json_bytes"])
    assert float(figures["consultation_state_stored_kb"]) < float(figures["consultation_state_kb"]) / 3
    assert {figures[f"sql_writes_{kind}_get"] for kind in ("task", "instance", "inbox")} == {"0"}
    assert float(figures["http_gunicorn_inst_per_s"]) > 0 and float(figures["http_gunicorn_follow_inst_per_s"]) > 0
    assert "  query plans (EXPLAIN once; the human_task statements each call issues):" in lines
    assert not re.fullmatch(r"[a-z0-9_]+=.*", lines[-len(FIGURES) - 2])


@pytest.mark.parametrize("scenario", ["township", "county", "declined"])
def test_baseline_takes_the_same_path_as_the_engine(sqlite_url, scenario):
    engine, _ = bench.open_engine(sqlite_url)
    try:
        from tests.support.consultation import run_through_engine

        _, done = run_through_engine(engine, fresh(scenario))
    finally:
        engine.sessions.kw["bind"].dispose()
    spec, subprocess_specs = parse_plain()
    assert run_baseline(spec, subprocess_specs, fresh(scenario)) == len(done)


def test_scale_data_is_spread_like_the_brief_and_the_union_diagnostic_matches_the_engine(sqlite_url):
    engine, version_id = bench.open_engine(sqlite_url)
    bind = engine.sessions.kw["bind"]
    try:
        info = build_scale(bind, bench.parsed_version(engine, version_id), version_id, 300, 3000)
        assert (info.instances, info.tasks, info.ready) == (300, 3000, round(3000 * READY_SHARE))
        assert 0 < info.overdue < info.ready
        with engine.unit_of_work() as session:
            ready = list(session.scalars(select(HumanTask).where(HumanTask.status == "ready")))
            statuses = dict(session.execute(select(HumanTask.status, func.count()).group_by(HumanTask.status)).all())
            assert set(statuses) == {"ready", "completed", "cancelled"}
            assert set(Counter(t.role for t in ready)) == set(demo_data.ROLES)
            assert {t.org_unit_code for t in ready} <= {u.code for u in demo_data.org_units()}
            assert 0 < sum(t.assignee is not None for t in ready) < len(ready)
            for user in ("office", "m001", "organizer_xunchang", "liaison_housing"):
                ids, total = union_inbox(session, user)
                expected = [v.id for v in queries.list_tasks(session, engine.cache, user, None,
                                                             engine.directory_rules.roles, limit=50)]
                count = session.scalar(select(func.count()).select_from(HumanTask)
                                       .where(queries.inbox_filter(session, user)))
                assert (ids, total) == (expected, count)
        with engine.unit_of_work() as session, capture_plans(bind) as plans:
            queries.overdue(session, bench.NOW, org_units=None, limit=100)
        assert len(plans) == 1 and "ix_human_task_open_due" in " ".join(plans[0][1])
    finally:
        bind.dispose()


def test_the_inbox_bench_builds_the_same_offices_on_postgresql_and_times_every_tab_there(postgres, tmp_path,
                                                                                       monkeypatch, postgres_template):
    monkeypatch.setenv("XIESHANG_BENCH_CACHE", str(tmp_path / "cache"))     # built here, not in the user's cache
    from tests.perf.inbox_data import OFFICES, prepared, prepared_postgres

    sqlite_services, _, _ = prepared(2000, tmp_path)
    pg_services, url = prepared_postgres(2000, postgres, "inbox_smoke", postgres_template)
    try:
        seen = [{username: (page.counts["claimable"],
                            [(item.task_id, item.due_at, item.org_unit) for item in page.items])
                 for username, *_ in OFFICES
                 for page in [services.participation.inbox(services.accounts.user(username), tab="claimable")]}
                for services in (sqlite_services, pg_services)]
        assert seen[0] == seen[1]                 # the same rows on both databases, the same first page
        assert seen[1]["office"][0] >= 200 and {unit for *_, unit in seen[1]["office"][1]} == {"county"}
        title, lines, figures = inbox_bench.inbox_section(pg_services, url, 1, "PostgreSQL", "pg_", deep_pages=2)
    finally:
        sqlite_services.close()
        pg_services.close()
    assert title.startswith("Inbox at 10k and 100k claimable tasks (PostgreSQL, 1 runs per request")
    assert list(figures) == ["pg_" + name for name in inbox_bench.figure_names()]
    assert figures["pg_inbox_office_claimable_tasks"] >= 200 and figures["pg_inbox_township_claimable_tasks"] >= 20
    assert all(value > 0 for name, value in figures.items() if name.endswith("_p95_ms"))


@pytest.mark.slow
def test_the_report_bench_runs_at_a_tiny_size(capsys):
    from tests.perf import report_bench

    report_bench.main(["--consultations", "24", "--runs", "1"])
    figures = dict(line.split("=", 1) for line in capsys.readouterr().out.strip().splitlines())
    assert {"report_consultations", "report_suggestions", "report_build_p50_ms", "report_build_cpu_p50_ms",
            "report_render_p50_ms", "report_render_cpu_p50_ms", "report_pdf_pages", "report_twelve_months_s"} \
        <= set(figures)
    assert figures["report_consultations"] == "24" and figures["report_suggestions"] == "96"
    assert int(figures["report_pdf_pages"]) >= 1
