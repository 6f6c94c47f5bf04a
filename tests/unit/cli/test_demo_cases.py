"""`xieshang demo` runs the demo consultations through the engine, once: finished cases with answered, visited
suggestions in the ledger, cases in progress, overdue and escalated tasks (one urged) — what the supervisors' pages
show on a fresh `make run`; on SQLite and on the session's PostgreSQL."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from cli.main import cli
from domain.consultation import demo_cases
from domain.consultation.ledger import LedgerFilter, ledger
from domain.consultation.models import Consultation
from domain.meetings.models import Meeting, MeetingAttendance, MeetingInvitee
from domain.services import Services
from domain.work import board
from domain.work.models import TaskUrge
from engine.clock import FrozenClock
from engine.store.models import HumanTask, ProcessInstance

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
pytestmark = pytest.mark.slow       # one demo load: ~10 s alone on two cores, more when they are shared


LOAD_BOUND_S = 180          # `demo --once` on a shared two-core machine: ~10–25 s SQLite, ~20–60 s PostgreSQL


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def demo(request, tmp_path_factory):
    """A fresh database (SQLite, then the session's PostgreSQL) after `xieshang init` and `xieshang demo --once` at
    NOW; (run, services, what the demo said)."""
    folder = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{folder / 'demo.db'}" if request.param == "sqlite" else \
        request.getfixturevalue("postgres").create_database(f"demo_cases_{folder.name}".replace("-", "_"))
    env = {"XIESHANG_DATABASE_URL": url, "XIESHANG_INSTANCE_PATH": str(folder)}
    runner = CliRunner(env=env)

    def run(*args):
        result = runner.invoke(cli, ["--now", NOW.isoformat(), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
        return result.stderr

    run("init")
    started = time.monotonic()
    said = run("demo", "--once")
    assert time.monotonic() - started < LOAD_BOUND_S, "the demo load is bounded in time"
    services = Services.from_url(url, FrozenClock(NOW))
    yield run, services, said
    services.close()


def test_the_demo_runs_every_case_through_the_engine(demo):
    _, services, said = demo
    with services.engine.reading() as session:
        statuses = Counter(session.scalars(select(ProcessInstance.status)))
        tiers = Counter(session.scalars(select(Consultation.tier)))
        townships = set(session.scalars(select(Consultation.org_unit_code).where(Consultation.tier == "township")))
        tasks = session.scalar(select(func.count()).select_from(HumanTask))
    assert f"demo consultations: {len(demo_cases.cases())} started" in said
    assert sum(statuses.values()) == len(demo_cases.cases()) == 24
    assert statuses["completed"] == 13 and statuses["running"] + statuses["waiting"] == 11
    assert tiers["county"] >= 4 and tiers["committee"] >= 3 and tiers["township"] >= 10
    assert len(townships) == 13 and tasks > 200           # tasks created by the engine, not rows typed in


def test_finished_cases_have_answered_and_visited_ledger_rows(demo):
    _, services, _ = demo
    office = services.accounts.user("supervisor_county")
    with services.engine.reading() as session:
        finished = set(session.scalars(select(ProcessInstance.id).where(ProcessInstance.status == "completed")))
        declined = set(session.scalars(select(Consultation.instance_id).where(Consultation.status == "declined")))
        page = ledger(session, office, LedgerFilter(per_page=100), NOW)
    rows = [row for row in page.rows if row.instance_id in finished]
    assert {row.instance_id for row in rows} == finished - declined and len(declined) == 1
    assert all(row.adoption and row.satisfaction for row in rows)
    assert {row.adoption for row in page.rows} >= {"adopted", "partly", "not_adopted", "solved"}
    assert any(row.answer_round >= 2 for row in rows)                 # residents unhappy once, answered again
    assert any(row.adoption is None for row in page.rows)             # and suggestions still awaiting answers


def test_overdue_tasks_are_escalated_one_is_urged_and_one_is_at_risk(demo):
    _, services, _ = demo
    supervisor = services.accounts.user("supervisor_county")
    with services.engine.reading() as session:
        overdue = session.scalars(select(HumanTask).where(HumanTask.status == "ready", HumanTask.due_at < NOW)).all()
        urged = session.scalars(select(TaskUrge)).all()
        count = board.overdue_count(session, supervisor, NOW)
        matrix = board.matrix(session, supervisor, NOW)
    assert count == len(overdue) >= 5 and all(task.escalation_level >= 1 for task in overdue)
    assert matrix.total.open > matrix.total.overdue == count and matrix.total.at_risk >= 1     # 临期: due in two days
    [urge] = urged
    assert urge.urged_by == demo_cases.URGER and urge.task_id in {task.id for task in overdue}


def test_a_department_liaison_has_suggestions_to_answer(demo):
    _, services, _ = demo
    page = services.participation.inbox(services.accounts.user("liaison_water"), tab="claimable")
    assert len(page.items) >= 2 and {(item.step, item.org_unit) for item in page.items} == {(5, "dept_water")}


def test_the_demo_loads_its_cases_once(demo):
    run, services, _ = demo
    assert "demo consultations" not in run("demo", "--once")     # --once: nothing at all the second time
    assert "demo consultations" not in run("demo")               # a database with consultations gets no more
    with services.engine.reading() as session:
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == len(demo_cases.cases())


def test_the_demo_registry_has_halls_meeting_all_seven_and_others_missing_different_items(demo):
    from domain.halls import registry, standard

    _run, services, said = demo
    assert "demo halls: 190 profiles" in said
    with services.engine.reading() as session:
        rows = standard.statuses(session, registry.halls(session), NOW.year)
    assert len(rows) == 190 and sum(r.meets_all for r in rows) >= 5
    missed = {item for r in rows for item in r.missing}
    assert missed == set(standard.ITEMS)              # every item is missing somewhere
    assert {state for r in rows for state in r.entered.values()} == set(standard.STATES)


def test_the_demo_has_a_held_meeting_and_upcoming_ones_with_answers(demo):
    _, services, said = demo
    assert "demo meetings: 3 recorded" in said
    with services.engine.reading() as session:
        [held] = session.scalars(select(Meeting).where(Meeting.kind == "consultation", Meeting.status == "held"))
        assert held.consultation_id and "协商" in held.minutes
        signed = session.scalar(select(func.count()).select_from(MeetingAttendance)
                                .where(MeetingAttendance.meeting_id == held.id))
        assert signed >= 3
        answers = Counter(session.scalars(select(MeetingInvitee.rsvp).join(Meeting).where(Meeting.status == "planned")))
        assert answers["attending"] == 6 and answers["declined"] == 2


def test_the_demo_has_the_years_plans_with_items_linked_to_its_consultations(demo):
    from domain.plans import completion
    from domain.plans.models import ConsultationPlan

    _run, services, said = demo
    assert "demo plans: 4 written" in said
    with services.engine.reading() as session:
        statuses = dict(session.execute(select(ConsultationPlan.org_unit_code, ConsultationPlan.status)
                                        .where(ConsultationPlan.year == 2026)).all())
        year = completion.compute(session, 2026)
    assert {unit: statuses[unit] for unit in ("county", "township_xunchang", "township_gongquan",
                                              "township_xiaoer")} == {
        "county": "approved", "township_xunchang": "approved", "township_gongquan": "returned",
        "township_xiaoer": "draft"}                                   # the halls' demo planned the other townships
    assert year.by_tier["county"].planned == 4 and year.by_tier["county"].started == 3
    xunchang = year.by_unit[("township", "township_xunchang")]
    assert (xunchang.planned, xunchang.started) == (3, 2)
    assert year.total.held >= 2 and year.total.completed >= 1           # the finished 老街 case among them


def test_each_demo_case_is_written_in_its_own_topics_words(demo):
    """A demo case's plan and report speak of its own topic (the notices citizens get name the report), not every
    case of the old street's lights."""
    _, services, _ = demo
    with services.engine.reading() as session:
        cases = session.execute(select(Consultation.topic, Consultation.plan, Consultation.report_title)
                                .where(Consultation.topic.isnot(None))).all()
    reported = [(topic, title) for topic, _, title in cases if title]
    assert len(reported) >= 5 and all(title == f"关于{topic}的协商报告" for topic, title in reported), reported
    goals = [plan["plan_goal"] for topic, plan, _ in cases if plan and plan.get("plan_goal")]
    assert len(goals) >= 5 and len(set(goals)) == len(set(topic for topic, plan, _ in cases if plan)), goals
