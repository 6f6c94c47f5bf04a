"""What the suggestion ledger reads, written by the consultation as it runs (warm and cold, SQLite and PostgreSQL):
the meeting's date, a re-routed suggestion's earlier departments, the latest visit's finding, and the ledger's
rows and open tasks for a department and the office while a suggestion is being answered again."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import pytest
from sqlalchemy import select, update

from domain.consultation import ledger
from domain.consultation.models import Consultation, Suggestion
from tests.support.consultation import SCENARIOS, advance, run_through_engine


def _records(engine, instance_id: int):
    with engine.unit_of_work() as session:
        record = session.scalar(select(Consultation).where(Consultation.instance_id == instance_id))
        rows = [(s.number, s.department_code, s.departments_before, s.adoption, s.satisfaction, s.follow_up)
                for s in session.scalars(select(Suggestion).where(Suggestion.consultation_id == record.id)
                                         .order_by(Suggestion.number))]
        return record.meeting_date.isoformat(), rows


@pytest.mark.parametrize("cold", [False, True])
def test_a_rerouted_suggestion_keeps_the_departments_it_passed_through(consultation, cold):
    instance_id, _done = run_through_engine(consultation, copy.deepcopy(SCENARIOS["rerouted"]), cold=cold)
    meeting, rows = _records(consultation, instance_id)
    assert meeting == "2026-04-15"
    assert rows == [(1, "svc_power_xunchang", ["dept_housing"], "adopted", "satisfied", "全部完成"),
                    (2, "dept_transport", [], "adopted", "satisfied", "全部完成")]


def test_the_ledger_follows_an_unsatisfied_suggestion_through_its_second_answer(consultation, consultation_services):
    scenario = copy.deepcopy(SCENARIOS["mixed_follow_up"])
    instance_id = consultation.start_instance("consultation", scenario.intake(), actor="m001")
    advance(consultation, instance_id, scenario, "reanswer_suggestion")
    _meeting, rows = _records(consultation, instance_id)
    assert [row[4:] for row in rows] == [("satisfied", "全部完成"), ("unsatisfied", "仅部分路段完成")]
    [task] = consultation.list_tasks(instance_id=instance_id)
    accounts = consultation_services.accounts
    now = consultation.clock.now()
    with consultation.reading() as session:
        mine = ledger.ledger(session, accounts.user("liaison_transport"), ledger.LedgerFilter(), now)
        office = ledger.ledger(session, accounts.user("office"), ledger.LedgerFilter(satisfaction=("unsatisfied",)),
                               now)
    [row] = mine.rows
    assert (row.text, row.status, row.open_task.id) == ("优化夜间公交班次", "supervised", task.id)
    assert [(r.number, r.status) for r in office.rows] == [(2, "supervised")]
    advance(consultation, instance_id, scenario, "follow_up_visit")
    with consultation.reading() as session:
        [row] = ledger.ledger(session, accounts.user("liaison_transport"), ledger.LedgerFilter(), now).rows
    assert (row.answer_round, row.status, row.open_task) == (2, "reanswered", None)


def test_the_migration_fills_in_the_records_of_earlier_instances_from_their_forms(consultation):
    migration = _migration("0011b_suggestion_ledger.py")
    instance_id, _done = run_through_engine(consultation, copy.deepcopy(SCENARIOS["rerouted"]))
    expected = _records(consultation, instance_id)
    with consultation.unit_of_work() as session:      # as an instance recorded before the ledger's columns
        session.execute(update(Consultation).values(meeting_date=None))
        session.execute(update(Suggestion).values(departments_before=None, follow_up=None))
    with consultation.unit_of_work() as session:
        migration._backfill(session.connection())
    assert _records(consultation, instance_id) == expected
    assert expected[1][0][2] == ["dept_housing"] and expected[1][0][5] == "全部完成"


def _migration(name: str):
    path = Path(__file__).resolve().parents[2] / "engine" / "store" / "migrations" / "versions" / name
    spec = importlib.util.spec_from_file_location("ledger_migration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
