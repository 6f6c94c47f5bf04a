"""The consultation's back half through the engine: satisfaction per suggestion (only the unsatisfied go back, due
when the supervisor said), the leadership's instruction (none is a path; never dated in the future) and a department
that sends a suggestion back to the office to be re-routed, bounded, with each round in the case file."""

from __future__ import annotations

import copy
from datetime import datetime

import pytest
from sqlalchemy import select

from domain.consultation.models import Consultation, Suggestion
from engine.clock import LOCAL_TZ
from engine.errors import ValidationFailed
from engine.store import submissions
from tests.support.consultation import SCENARIOS, advance, run_through_engine


def _suggestions(engine, instance_id: int) -> list[tuple]:
    with engine.unit_of_work() as session:
        record = session.scalar(select(Consultation).where(Consultation.instance_id == instance_id))
        return [(s.number, s.department_code, s.adoption, s.satisfaction) for s in session.scalars(
            select(Suggestion).where(Suggestion.consultation_id == record.id).order_by(Suggestion.number))]


def test_only_the_unsatisfied_suggestion_goes_back_due_on_the_supervisors_deadline(consultation):
    scenario = copy.deepcopy(SCENARIOS["mixed_follow_up"])
    instance_id = consultation.start_instance("consultation", scenario.intake(), actor="m001")
    advance(consultation, instance_id, scenario, "follow_up_visit")
    [visit] = consultation.list_tasks(instance_id=instance_id)
    shown = consultation.show_instance(instance_id).data["visits"]
    assert [(v["suggestion_id"], v["text"], v["department"]) for v in shown] == [
        (1, "增设老街路灯 20 盏", "dept_housing"), (2, "优化夜间公交班次", "dept_transport")]
    # a visitor cannot rewrite a suggestion or drop one: the task's own rows stand
    forged = [{**shown[0], "text": "改写的建议", "department": "dept_drc", "implementation_status": "全部完成",
               "residents_satisfaction": "satisfied"}]
    with pytest.raises(ValidationFailed) as refused:
        consultation.complete_task(visit.id, {"visits": forged}, actor=visit.candidates[0])
    assert set(refused.value.field_errors) == {"visits/1/implementation_status", "visits/1/residents_satisfaction"}
    unhappy = {"implementation_status": "仍有路段很暗", "residents_satisfaction": "unsatisfied"}
    with pytest.raises(ValidationFailed) as refused:      # unsatisfied needs the residents' own words
        consultation.complete_task(visit.id, {"visits": [forged[0], {**shown[1], **unhappy}]},
                                   actor=visit.candidates[0])
    assert list(refused.value.field_errors) == ["visits/1/residents_feedback"]
    advance(consultation, instance_id, scenario, "supervise")
    assert _suggestions(consultation, instance_id) == [(1, "dept_housing", "adopted", "satisfied"),
                                                       (2, "dept_transport", "adopted", "unsatisfied")]
    advance(consultation, instance_id, scenario, "reanswer_suggestion")
    [reanswer] = consultation.list_tasks(instance_id=instance_id)      # one: the satisfied suggestion closed
    assert reanswer.org_unit == "dept_transport" and reanswer.item_label == "优化夜间公交班次"
    assert reanswer.due_at == datetime(2026, 12, 31, 23, 59, 59, tzinfo=LOCAL_TZ)     # 督办时限, end of that day
    with consultation.unit_of_work() as session:
        visits = [s for s in submissions.of_instance(session, instance_id) if s.task_spec == "follow_up_visit"]
    assert [v["text"] for v in visits[0].data["visits"]] == ["增设老街路灯 20 盏", "优化夜间公交班次"]
    advance(consultation, instance_id, scenario)
    assert consultation.show_instance(instance_id).status == "completed"
    assert [row[3] for row in _suggestions(consultation, instance_id)] == ["satisfied", "satisfied"]


def test_an_instruction_dated_in_the_future_is_refused_with_its_reason(consultation):
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = consultation.start_instance("consultation", scenario.intake(), actor="m001")
    advance(consultation, instance_id, scenario, "record_instruction")
    [task] = consultation.list_tasks(instance_id=instance_id)
    tomorrow = {"instruction_status": "received", "instruction_by": "县委副书记", "instruction_text": "请抓紧落实。",
                "instructed_on": "2026-03-03"}      # the clock stands at 2026-03-02 09:00 Beijing time
    with pytest.raises(ValidationFailed) as refused:
        consultation.complete_task(task.id, tomorrow, actor="office")
    [message] = refused.value.field_errors["instructed_on"]
    assert message.startswith("不能晚于今天（2026-03-02）") and "cannot be later than today" in message
    consultation.complete_task(task.id, tomorrow | {"instructed_on": "2026-03-02"}, actor="office")
    assert consultation.list_tasks(instance_id=instance_id)[0].task_spec == "answer_suggestion"


def test_no_instruction_is_a_path_with_a_note(consultation):
    scenario = copy.deepcopy(SCENARIOS["no_instruction"])
    instance_id = consultation.start_instance("consultation", scenario.intake(), actor="m001")
    advance(consultation, instance_id, scenario, "record_instruction")
    [task] = consultation.list_tasks(instance_id=instance_id)
    with pytest.raises(ValidationFailed) as refused:
        consultation.complete_task(task.id, {"instruction_status": "none"}, actor="office")
    assert list(refused.value.field_errors) == ["no_instruction_note"]
    advance(consultation, instance_id, scenario, "answer_suggestion")
    with consultation.unit_of_work() as session:
        record = session.scalar(select(Consultation).where(Consultation.instance_id == instance_id))
        assert record.instruction == "暂无批示：报告已报送，领导未作批示，按报告意见办理。"


def test_a_suggestion_sent_back_goes_to_the_office_and_then_to_another_department(consultation):
    scenario = copy.deepcopy(SCENARIOS["rerouted"])
    instance_id, done = run_through_engine(consultation, scenario)
    actors = [actor for task, actor in done if task in {"answer_suggestion", "reassign_department"}]
    assert [task for task, _ in done][-4:] == ["answer_suggestion", "reassign_department", "answer_suggestion",
                                               "follow_up_visit"]
    assert actors[-2] in {"office", "office2"} and actors[-1].startswith("liaison_svc_power_xunchang")
    assert _suggestions(consultation, instance_id)[0][:3] == (1, "svc_power_xunchang", "adopted")
    with consultation.unit_of_work() as session:
        rounds = [(s.task_spec, s.data.get("adoption") or s.data.get("new_department"))
                  for s in submissions.of_instance(session, instance_id)
                  if s.task_spec in {"answer_suggestion", "reassign_department"}]
    assert ("answer_suggestion", "not_ours") in rounds and ("reassign_department", "svc_power_xunchang") in rounds


def test_the_office_cannot_send_a_suggestion_back_to_a_department_that_had_it_nor_to_a_platform(consultation):
    scenario = copy.deepcopy(SCENARIOS["rerouted"])
    instance_id = consultation.start_instance("consultation", scenario.intake(), actor="m001")
    advance(consultation, instance_id, scenario, "reassign_department")
    [task] = [t for t in consultation.list_tasks(instance_id=instance_id) if t.task_spec == "reassign_department"]
    assert task.org_unit == "county" and task.item_label == "老街电网改造，解决电压不稳"
    for department, field_error in (("dept_housing", "此前已经选过这一项"), ("township_xunchang", "不是"),
                                     ("dept_nowhere", "没有组织单位")):
        with pytest.raises(ValidationFailed) as refused:
            consultation.complete_task(task.id, {"new_department": department}, actor="office")
        assert field_error in refused.value.field_errors["new_department"][0]


def test_rerouting_is_bounded_then_the_office_settles_it(consultation):
    scenario = copy.deepcopy(SCENARIOS["rerouted_to_the_limit"])
    instance_id, done = run_through_engine(consultation, scenario)
    assert [task for task, _ in done].count("reassign_department") == 3
    assert _suggestions(consultation, instance_id)[0][:3] == (1, "svc_power", "adopted")
