"""The case file through the engine: every submission recorded in order with its actor, each loop round kept, the
same after a cold restore before every step, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import delete

from engine.store import submissions
from engine.store.models import ProcessInstance
from engine.store.submissions import TaskSubmission
from tests.support.consultation import SCENARIOS, run_through_engine


@pytest.mark.parametrize("cold", [False, True], ids=["warm", "cold"])
def test_every_submission_of_a_county_consultation_is_in_its_case_file(consultation, consultation_services, cold):
    scenario = copy.deepcopy(SCENARIOS["county"])      # a topic rejected, a plan and a report revised, a revisit
    instance_id, done = run_through_engine(consultation, scenario, cold=cold)
    office = consultation_services.accounts.user("office")
    case = consultation_services.participation.instance_detail(instance_id, office).casefile
    assert [(e.task_spec, e.actor) for e in case.entries] == [("intake", "m001"), *done]
    assert [e.number for e in case.entries] == list(range(1, len(done) + 2))
    plans = [e for e in case.entries if e.task_spec == "draft_plan"]
    assert [e.round for e in plans] == [1, 2]
    assert all(e.data["plan_goal"] == "摸清照明缺口，提出改造方案" for e in plans)
    reviews = [e.data for e in case.entries if e.task_spec == "review_plan"]
    assert reviews == [{"plan_decision": "revise", "plan_comment": "请补充群众代表名单。"},
                       {"plan_decision": "approve"}]
    intake = case.entries[0]
    assert intake.data["contact_phone"] == "13800001234" and intake.hidden == () and intake.step == 0
    assert [g.step for g in case.groups] == sorted({e.step for e in case.entries})   # the steps ran in order
    assert case.people["m003"] and case.people["m001"]


@pytest.mark.parametrize("cold", [False, True], ids=["warm", "cold"])
def test_a_member_sees_the_case_without_the_proposers_contact(consultation, consultation_services, cold):
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id, done = run_through_engine(consultation, scenario, cold=cold)
    member = consultation_services.accounts.user("m014")          # a researcher of this consultation
    detail = consultation_services.participation.instance_detail(instance_id, member)
    intake = detail.casefile.entries[0]
    assert intake.hidden == ("contact_name", "contact_phone")
    assert "contact_phone" not in intake.data and intake.data["description"] == "老街路灯长期损坏，夜间出行不便。"
    assert "contact_phone" not in detail.instance.data and "contact_name" not in detail.instance.data
    research = [e for e in detail.casefile.entries if e.task_spec == "research"]
    assert sorted(e.actor for e in research) == ["m001", "m014"] and all(e.item_label for e in research)


@pytest.mark.parametrize("name", ["township", "county"])
def test_an_older_instance_is_backfilled_from_its_state_as_it_was_recorded(consultation, name):
    instance_id, _ = run_through_engine(consultation, copy.deepcopy(SCENARIOS[name]))
    with consultation.unit_of_work() as session:
        recorded = submissions.of_instance(session, instance_id)
        session.execute(delete(TaskSubmission).where(TaskSubmission.instance_id == instance_id))
    with consultation.unit_of_work() as session:     # as an instance started before migration 0007
        row = session.get(ProcessInstance, instance_id)
        parsed, workflow = consultation.load(row)
        assert submissions.backfill(session, row, parsed, workflow) == len(recorded)
        assert submissions.backfill(session, row, parsed, workflow) == 0      # once only
    with consultation.reading() as session:
        backfilled = submissions.of_instance(session, instance_id)

    def who(views):
        return sorted((s.task_id or "", s.task_spec, s.actor, s.item_label, s.step) for s in views)

    assert who(backfilled) == who(recorded)
    by_task = {s.task_id: s.data for s in backfilled}
    for sub in recorded:    # (b) is approximate: the state keeps an earlier round's field a later one left out, and
        assert set(sub.data) <= set(by_task[sub.task_id]), sub.task_spec     # values as post-scripts changed them
        assert sub.task_spec == "hold_meeting" or {k: v for k, v in by_task[sub.task_id].items()
                                                   if k in sub.data} == sub.data
