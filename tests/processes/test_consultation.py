"""The consultation diagram: every gateway branch and every tier, run plainly, with a save/restore round trip after
every step (warm: the same parsed spec; cold: a fresh parse each time, as a new process), then through the engine
with its domain records on SQLite and PostgreSQL, warm and with an empty version cache before every command."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from sqlalchemy import select

from domain.consultation.models import Consultation, IntakeItem, Suggestion
from engine import deadlines
from engine.bpmn import runtime
from engine.bpmn.specs import load_bundle
from engine.store.models import HumanTask, OutboxMessage
from engine.store.versions import VersionCache
from tests.conftest import CONSULTATION
from tests.support.consultation import SCENARIOS, run_in_memory, run_through_engine

MAIN = ["triage", "define_topic", "draft_plan", "review_plan", "research", "research", "summarize_research",
        "hold_meeting", "draft_report", "approve_report", "record_instruction", "answer_suggestion",
        "answer_suggestion", "follow_up_visit"]

EXPECTED_PATHS = {
    "declined": ["triage"],
    "township": MAIN,
    "village_not_adopted": MAIN[:12] + ["follow_up_visit"],
    "committee": MAIN,
    "county": ["triage", "define_topic", "approve_topic", "define_topic", "approve_topic", "draft_plan",
               "review_plan", "draft_plan", "review_plan", "research", "summarize_research", "hold_meeting",
               "draft_report", "approve_report", "draft_report", "approve_report", "record_instruction",
               "answer_suggestion", "answer_suggestion", "follow_up_visit", "supervise", "reanswer_suggestion",
               "reanswer_suggestion", "follow_up_visit"],
    "township_solved_twice_unsatisfied": MAIN + ["supervise", "reanswer_suggestion", "reanswer_suggestion",
                                                 "follow_up_visit"] * 2,
    # only the unsatisfied suggestion goes back to its department
    "mixed_follow_up": MAIN + ["supervise", "reanswer_suggestion", "follow_up_visit"],
    "no_instruction": MAIN,
    # the housing bureau sends its suggestion back; the office picks the power supply station, which answers
    "rerouted": MAIN[:13] + ["reassign_department", "answer_suggestion", "follow_up_visit"],
    # three re-routings, then the office settles the department and answers
    "rerouted_to_the_limit": MAIN[:12] + ["reassign_department", "answer_suggestion"] * 3 +
    ["settle_suggestion", "follow_up_visit"],
}
TIERS = {"declined": ("township", "township_xunchang"), "township": ("township", "township_xunchang"),
         "village_not_adopted": ("township", "township_luodu"), "committee": ("committee", "committee_agriculture"),
         "county": ("county", "county"), "township_solved_twice_unsatisfied": ("township", "township_xunchang"),
         "mixed_follow_up": ("township", "township_xunchang"), "no_instruction": ("township", "township_xunchang"),
         "rerouted": ("township", "township_xunchang"), "rerouted_to_the_limit": ("township", "township_xunchang")}
FOLLOW_UP_DAYS = {"county": 90, "committee": 60, "township": 30}


@pytest.fixture(scope="module")
def parsed():
    return VersionCache().parse(load_bundle([CONSULTATION]))


def test_the_bundle_validates_and_every_user_task_has_a_form_lane_and_step(parsed):
    user_tasks = {i.id: i for i in parsed.elements.values() if i.tag == "userTask"}
    assert len(user_tasks) == 17
    for info in user_tasks.values():
        assert parsed.form(info.id)[0] is not None, info.id
        assert parsed.form(info.id)[1] is not None, info.id
        assert info.role in {"office", "platform_lead", "organizer", "member", "department", "supervisor"}
        assert info.step in range(7) and info.instructions
    assert parsed.form("intake")[0]["required"][:2] == ["title", "description"]


def fresh_parse():
    """The consultation bundle parsed anew, as a process that just started would have it."""
    return VersionCache().parse(load_bundle([CONSULTATION]))


@pytest.mark.parametrize("restore", ["none", "warm", "cold"], ids=["plain", "save-restore", "cold-restore"])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_branch_and_tier(parsed, clock, name, restore):
    scenario = copy.deepcopy(SCENARIOS[name])
    start = clock.now()
    workflow, path = run_in_memory(parsed, scenario, clock, restore, reparse=fresh_parse)
    data = workflow.data
    assert workflow.completed and path == EXPECTED_PATHS[name]
    assert (data["tier"], data["org_unit"]) == TIERS[name]
    if scenario.decline:
        assert data["notify_declined_result"] == {"queued": True, "operator": "notify"}
        assert "answers" not in data
        return
    assert [r["researcher"] for r in data["research_reports"]] == list(scenario.researchers)
    assert [s["id"] for s in data["suggestions"]] == list(range(1, len(scenario.suggestions) + 1))
    assert [a["suggestion_id"] for a in data["answers"]] == [s["id"] for s in data["suggestions"]]
    assert {a["adoption"] for a in data["answers"]} == {scenario.adoption}
    assert data["residents_satisfaction"] == "satisfied"
    assert data["publish_result"] == {"queued": True, "operator": "publish"}
    if scenario.unsatisfied_rounds:
        unhappy = scenario.unsatisfied_ids or [s["id"] for s in data["suggestions"]]
        assert [r["suggestion_id"] for r in data["reanswers"]] == list(unhappy)
    # every visit recorded each open suggestion's satisfaction; the last word on each is "satisfied"
    latest = {v["suggestion_id"]: v["residents_satisfaction"] for v in data["visit_log"]}
    assert latest == {s["id"]: "satisfied" for s in data["suggestions"]}
    # The follow-up visit waited the tier's period (the clock only moves for timers here).
    waited = clock.now() - start
    assert timedelta(days=FOLLOW_UP_DAYS[data["tier"]]) <= waited <= \
        timedelta(days=FOLLOW_UP_DAYS[data["tier"]] * (1 + scenario.unsatisfied_rounds), seconds=10)


@pytest.mark.parametrize("tier", ["county", "committee", "township"])
def test_every_step_has_a_deadline_per_tier(parsed, tier):
    for step in range(7):
        row = deadlines.lookup(parsed, tier, step)
        assert row and row["duration"].startswith("P") and row["reminder_lead"] and row["escalation_grace"]
    assert deadlines.lookup(parsed, "county", 3)["duration"] != deadlines.lookup(parsed, "township", 3)["duration"]


def test_lanes_resolve_to_roles_in_the_right_org_units(parsed, clock):
    scenario = copy.deepcopy(SCENARIOS["committee"])
    workflow = runtime.new_workflow(parsed, scenario.intake())
    runtime.run(workflow, clock)
    [triage] = runtime.ready_user_tasks(workflow)
    assert triage.task_spec.lane == "政协办公室"
    assert runtime.evaluate(triage, parsed.elements["triage"].properties["orgUnit"]) == "county"


@pytest.mark.parametrize("cold", [False, True], ids=["warm", "cold"])
def test_county_consultation_through_the_engine_writes_its_records(consultation, cold):
    scenario = copy.deepcopy(SCENARIOS["county"])
    instance_id, done = run_through_engine(consultation, scenario, cold=cold)
    actors = dict(done)
    assert actors["triage"] in {"office", "office2"}
    assert actors["approve_topic"] == "lead_county" and actors["research"] == "m003"
    assert actors["answer_suggestion"].startswith("liaison_") and actors["supervise"] == "supervisor_county"
    view = consultation.show_instance(instance_id)
    assert (view.status, view.step, view.tier, view.org_unit) == ("completed", 6, "county", "county")
    kinds = [e.kind for e in view.events]
    assert kinds[0] == "instance_started" and kinds[-1] == "instance_completed"
    assert kinds.count("task_completed") == len(EXPECTED_PATHS["county"]) and kinds.count("timer_fired") == 1
    with consultation.unit_of_work() as session:
        record = session.scalar(select(Consultation).where(Consultation.instance_id == instance_id))
        assert (record.status, record.tier, record.topic) == ("completed", "county", "老街夜间照明与出行安全")
        assert record.published_at is not None and record.satisfaction == "satisfied"
        assert record.plan["researchers"] == ["m003"] and record.instruction == "请住建局牵头落实。"
        intake = session.get(IntakeItem, record.intake_id)
        assert intake.tracking_code.startswith("XS-") and intake.scope == "county"
        rows = session.scalars(select(Suggestion).where(Suggestion.consultation_id == record.id)
                               .order_by(Suggestion.number)).all()
        assert [(s.number, s.department_code, s.adoption, s.answer_round) for s in rows] == [
            (1, "dept_housing", "adopted", 2), (2, "dept_transport", "adopted", 2)]
        assert str(rows[0].promised_date) == "2026-09-30"
        messages = session.scalars(select(OutboxMessage).where(OutboxMessage.instance_id == instance_id)).all()
        asks = {m.idempotency_key: m.params["channels"] for m in messages if ":moment:" in m.idempotency_key}
        assert asks == {f"{instance_id}:moment:{moment}": ["sms"]            # the proposer's phone hears these
                        for moment in ("accepted", "meeting_held", "published")}
        messages = [m for m in messages if m.idempotency_key not in asks]
        tasks = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)).all()
        service_calls = [m for m in messages if m.params.get("kind") != "assignment"]
        assert sorted(m.operator for m in service_calls) == ["notify", "publish"]
        assert len(messages) == len(service_calls) + len(tasks) and len(tasks) == len(EXPECTED_PATHS["county"])
        assert {m.idempotency_key: (m.operator, m.channel, m.status, m.recipient, m.task_id, m.params)
                for m in messages if m not in service_calls} == {     # one assignment notice per new human task
            f"{instance_id}:{t.id}:assignment": ("notify", "dispatch", "pending", None, t.id,
                                                 {"kind": "assignment", "to": "assignee", "task_id": t.id})
            for t in tasks}
        assert {t.status for t in tasks} == {"completed"} and all(t.due_at for t in tasks)
        answers = [t for t in tasks if t.task_spec == "answer_suggestion"]
        assert sorted(t.org_unit_code for t in answers) == ["dept_housing", "dept_transport"]


@pytest.mark.parametrize("cold", [False, True], ids=["warm", "cold"])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_through_the_engine(consultation, name, cold):
    scenario = copy.deepcopy(SCENARIOS[name])
    instance_id, done = run_through_engine(consultation, scenario, cold=cold)
    assert [task for task, _ in done] == EXPECTED_PATHS[name]
    with consultation.unit_of_work() as session:
        record = session.scalar(select(Consultation).where(Consultation.instance_id == instance_id))
        assert record.status == ("declined" if scenario.decline else "completed")
        assert (record.tier, consultation.show_instance(instance_id).org_unit) == TIERS[name]
        if scenario.scope == "township" and not scenario.decline:
            actors = dict(done)
            assert actors["define_topic"] == "organizer_xunchang" and actors["review_plan"] == "lead_xunchang"
        if not scenario.decline:      # a township's plan meets at its hall; a county or committee's elsewhere
            unit = consultation.show_instance(instance_id).org_unit
            hall = f"{unit}_hall" if unit.startswith("township_") else None
            assert record.hall_code == hall and record.plan["venue"] == (hall or "other")


def test_human_tasks_carry_due_dates_from_the_deadline_table(consultation):
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = consultation.start_instance("consultation", scenario.intake(), actor="m001")
    [triage] = consultation.list_tasks(instance_id=instance_id)
    now = consultation.clock.now()
    row = deadlines.lookup(consultation.cache.parse(load_bundle([CONSULTATION])), "township", 0)
    assert triage.due_at == deadlines.add_duration(now, row["duration"])
    assert triage.step == 0 and triage.candidates == ("office", "office2")
    consultation.complete_task(triage.id, scenario.answer("triage", consultation.show_instance(instance_id).data),
                               actor="office")
    [topic] = consultation.list_tasks(instance_id=instance_id)
    assert (topic.name, topic.step, topic.org_unit, topic.candidates) == \
        ("确定协商主题", 1, "township_xunchang", ("organizer_xunchang",))
