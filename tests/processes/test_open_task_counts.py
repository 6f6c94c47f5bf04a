"""The open-task counts the board's matrix reads (engine.store.open_counts) equal a recount of the open rows after a
cancel and after the rebuild command (after every command of every scenario: tests/processes/test_figure_counts.py,
which walks them once for both kinds of counter)."""

from __future__ import annotations

import copy

from click.testing import CliRunner

from engine.store import open_counts, task_counts
from tests.support.consultation import SCENARIOS, advance
from tests.support.open_counts import kept_and_recounted


def test_a_cancelled_case_takes_its_open_tasks_out_of_the_counts(consultation):
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = consultation.start_instance("consultation", scenario.intake(), actor="m001")
    advance(consultation, instance_id, scenario, stop_before="draft_report")
    kept, recounted = kept_and_recounted(consultation)
    assert kept == recounted and sum(kept.values()) >= 1
    assert all(due for (*_key, due) in kept)          # every open step has a due day (and month)
    consultation.cancel_instance(instance_id, actor="admin", reason="test")
    assert kept_and_recounted(consultation) == ({}, {})


def test_the_rebuild_command_checks_and_repairs_the_counts(consultation, tmp_path, monkeypatch):
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = consultation.start_instance("consultation", scenario.intake(), actor="m001")
    advance(consultation, instance_id, scenario, stop_before="draft_report")
    kept, _ = kept_and_recounted(consultation)
    with consultation.unit_of_work() as session:
        session.execute(open_counts.OpenTaskCount.__table__.update().values(tasks=7))
        session.execute(task_counts.InboxCount.__table__.update().values(tasks=9))      # the inboxes' counts too
    from cli.main import cli

    url = consultation.sessions.kw["bind"].url.render_as_string(hide_password=False)
    monkeypatch.setenv("XIESHANG_DATABASE_URL", url)
    monkeypatch.setenv("XIESHANG_INSTANCE_PATH", str(tmp_path))
    checked = CliRunner().invoke(cli, ["figures", "rebuild", "--check", "--json"])
    assert checked.exit_code == 1 and '"open_counts_differed": 0' not in checked.output, checked.output
    assert '"inbox_counts_differed": 0' not in checked.output
    done = CliRunner().invoke(cli, ["figures", "rebuild", "--json"])
    assert done.exit_code == 0, done.output
    again = CliRunner().invoke(cli, ["figures", "rebuild", "--check", "--json"])
    assert again.exit_code == 0 and '"open_counts_differed": 0' in again.output, again.output
    assert '"inbox_counts_differed": 0' in again.output
    with consultation.reading() as session:
        assert task_counts.all_counts(session) == task_counts.expected(session)
    assert kept_and_recounted(consultation)[0] == kept
