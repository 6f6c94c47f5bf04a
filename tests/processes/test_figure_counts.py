"""The figure counters kept at every save equal a rebuild from the records, after every scenario walked through the
engine (warm and cold restore; SQLite and PostgreSQL) — and the period figures read from them add up."""

from __future__ import annotations

import copy

import pytest
from click.testing import CliRunner

from domain.consultation import figure_counts
from domain.consultation import figures as figs
from engine.clock import LOCAL_TZ
from tests.support.consultation import SCENARIOS, advance, run_through_engine
from tests.support.open_counts import checked_after_every_command, kept_and_recounted


def _kept_and_rebuilt(engine):
    with engine.unit_of_work() as session:
        kept = figure_counts.all_counts(session)
        figure_counts.rebuild(session)
        rebuilt = figure_counts.all_counts(session)
    return kept, rebuilt


@pytest.mark.parametrize("cold", [False, True], ids=["warm", "cold"])
def test_every_scenario_keeps_the_counters_equal_to_a_rebuild(consultation, monkeypatch, cold):
    """… and the board's open-task counts equal a recount of the open rows after every command."""
    seen = checked_after_every_command(consultation, monkeypatch)
    ids = [run_through_engine(consultation, copy.deepcopy(scenario), cold=cold)[0] for scenario in SCENARIOS.values()]
    kept, rebuilt = _kept_and_rebuilt(consultation)
    assert kept == rebuilt
    assert max(seen) >= 2 and len(seen) > 20 and kept_and_recounted(consultation)[0] == {}   # all closed at the end
    metrics = {key[3] for key in kept}
    # every kind of counter was exercised by the walk (a scenario of each kind of answer and visit)
    assert {"held", "attendances", "suggestions", "answered", "adopted", "visited", "satisfied", "research",
            "completed", "on_time"} <= metrics
    first = min(key[0] for key in kept if key[3] == "held")[:4]       # the year of the first meeting
    today = consultation.clock.now().astimezone(LOCAL_TZ).date()
    with consultation.reading() as session:
        shared = {row[0] for row in session.execute(figure_counts.FigureShare.__table__.select())}
        year = figs.compute(session, figs.parse_period(first, today))
    assert shared <= set(ids) and len(shared) >= len(ids) - 1          # the declined topic counts nothing
    held = sum(value for key, value in kept.items() if key[3] == "held" and key[0].startswith(first))
    assert year.held == held > 0
    assert year.suggestions == sum(v for k, v in kept.items() if k[3] == "suggestions" and k[0].startswith(first))


def test_a_half_walked_case_counts_what_it_did_so_far(consultation):
    """Counted while the case runs, not when it ends: stop after the meeting, compare with a rebuild."""
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = consultation.start_instance("consultation", scenario.intake(), actor="m001")
    advance(consultation, instance_id, scenario, stop_before="draft_report")
    kept, rebuilt = _kept_and_rebuilt(consultation)
    assert kept == rebuilt
    assert {key[3] for key in kept} >= {"held", "suggestions", "attendances", "research"}
    assert not {"answered", "visited"} & {key[3] for key in kept}         # nothing answered or visited yet


def test_the_rebuild_command_reports_and_checks(consultation, tmp_path, monkeypatch):
    run_through_engine(consultation, copy.deepcopy(SCENARIOS["township"]))
    with consultation.unit_of_work() as session:
        session.execute(figure_counts.FigureCount.__table__.update().values(value=0))
    from cli.main import cli

    url = consultation.sessions.kw["bind"].url.render_as_string(hide_password=False)
    monkeypatch.setenv("XIESHANG_DATABASE_URL", url)
    monkeypatch.setenv("XIESHANG_INSTANCE_PATH", str(tmp_path))
    checked = CliRunner().invoke(cli, ["figures", "rebuild", "--check", "--json"])
    assert checked.exit_code == 1 and '"differed": ' in checked.output and '"differed": 0' not in checked.output
    done = CliRunner().invoke(cli, ["figures", "rebuild", "--json"])
    assert done.exit_code == 0, done.output
    again = CliRunner().invoke(cli, ["figures", "rebuild", "--check", "--json"])
    assert again.exit_code == 0 and '"differed": 0' in again.output
    with consultation.unit_of_work() as session:             # as the upgrade that added the counters left them
        kept = figure_counts.all_counts(session)
        session.execute(figure_counts.FigureShare.__table__.delete())
        session.execute(figure_counts.FigureCount.__table__.delete())
    init = CliRunner().invoke(cli, ["init"])
    assert init.exit_code == 0 and "figure counters rebuilt from 1 consultations" in init.output
    with consultation.reading() as session:
        assert figure_counts.all_counts(session) == kept and kept
