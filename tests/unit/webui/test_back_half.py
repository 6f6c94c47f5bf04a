"""The consultation's back half on its pages and the API: the follow-up visit lists each suggestion read-only, the
批示 date is refused beside its field when it lies in the future (input kept), a re-routed suggestion's task says
who sent it back and why, and the department pickers offer departments only."""

from __future__ import annotations

import copy

from domain.consultation.demo_data import department_codes
from tests.support.consultation import SCENARIOS, advance
from tests.unit.webui.conftest import csrf_of
from tests.unit.webui.test_casefile import case_of, started


def _task(engine, instance_id: int, spec: str):
    return next(t for t in engine.list_tasks(instance_id=instance_id) if t.task_spec == spec)


def test_the_follow_up_visit_lists_each_suggestion_read_only(web_engine, login):
    scenario = copy.deepcopy(SCENARIOS["mixed_follow_up"])
    instance_id = started(web_engine, scenario)
    advance(web_engine, instance_id, scenario, "follow_up_visit")
    visit = _task(web_engine, instance_id, "follow_up_visit")
    client = login(visit.candidates[0])
    page = client.get(f"/tasks/{visit.id}").get_data(as_text=True)
    form = page.split('class="xs-form"', 1)[1]
    assert '<p id="f-visits--0--text" class="read-only">增设老街路灯 20 盏</p>' in form
    assert '<p id="f-visits--1--department" class="read-only">县交通运输局</p>' in form
    assert 'name="_add"' not in form and 'name="_remove"' not in form
    posted = {"csrf_token": csrf_of(page), "revision": str(visit.revision), "action": "submit", "visits": ["0", "1"],
              "visits/0/text": "被改写的建议", "visits/0/department": "dept_drc",
              "visits/0/implementation_status": "全部完成", "visits/0/residents_satisfaction": "satisfied",
              "visits/1/implementation_status": "仍很暗", "visits/1/residents_satisfaction": "unsatisfied"}
    refused = client.post(f"/tasks/{visit.id}", data=posted)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'id="f-visits--1--residents_feedback-error"' in html and "仍很暗" in html     # kept, message beside it
    assert "被改写的建议" not in html and ">增设老街路灯 20 盏</p>" in html              # the held text, not the post's
    response = client.post(f"/tasks/{visit.id}", data=posted | {"visits/1/residents_feedback": "新街口仍然很暗"})
    assert response.status_code == 302, response.get_data(as_text=True)
    data = web_engine.show_instance(instance_id).data
    assert [(v["text"], v["department"], v["residents_satisfaction"]) for v in data["visit_log"]] == [
        ("增设老街路灯 20 盏", "dept_housing", "satisfied"), ("优化夜间公交班次", "dept_transport", "unsatisfied")]
    assert [s["id"] for s in data["unsatisfied"]] == [2]


def test_a_future_instruction_date_is_refused_beside_its_field_and_the_input_kept(web_engine, web_services, login,
                                                                                 client):
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = started(web_engine, scenario)
    advance(web_engine, instance_id, scenario, "record_instruction")
    task = _task(web_engine, instance_id, "record_instruction")
    client = login("office")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'name="instruction_scan"' in page and 'type="file"' in page      # a signed scan can be attached
    typed = {"instruction_status": "received", "instruction_by": "县委副书记", "instruction_text": "请住建局抓紧落实。",
             "instructed_on": "2026-03-09"}
    response = client.post(f"/tasks/{task.id}", data={"csrf_token": csrf_of(page), "revision": str(task.revision),
                                                      "action": "submit", **typed})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = html.split('id="f-instructed_on-error"', 1)[1].split("</div>", 1)[0]
    assert "不能晚于今天（2026-03-02）" in error and "cannot be later than today" in error
    assert 'value="2026-03-09"' in html and "请住建局抓紧落实。" in html
    token = web_services.accounts.issue_token("office")
    api = client.post(f"/api/v1/tasks/{task.id}/complete", json={"data": typed},
                      headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 422
    assert "不能晚于今天" in api.get_json()["field_errors"]["instructed_on"][0]
    assert _task(web_engine, instance_id, "record_instruction").id == task.id       # nothing moved on


def test_the_reassign_task_says_who_sent_it_back_and_offers_departments_only(web_engine, login):
    scenario = copy.deepcopy(SCENARIOS["rerouted"])
    instance_id = started(web_engine, scenario)
    advance(web_engine, instance_id, scenario, "reassign_department")
    task = _task(web_engine, instance_id, "reassign_department")
    page = login("office").get(f"/tasks/{task.id}").get_data(as_text=True)
    card = page.split('class="card item"', 1)[1].split("</div>", 1)[0]
    assert "老街电网改造，解决电压不稳" in card
    assert "县住房和城乡建设局 答复不属于本单位职责，理由：该事项属于供电企业职责，不属于本单位职责。" in card
    picker = page.split('name="new_department"', 1)[1].split("</select>", 1)[0]
    offered = picker.count("<option") - 1
    assert offered == len(department_codes()) and 'value="svc_power_xunchang"' in picker
    assert 'value="gov_xunchang"' in picker and 'value="township_xunchang"' not in picker
    assert "国网珙县供电公司巡场供电所" in picker


def test_the_case_file_shows_every_round_of_a_re_routed_suggestion(web_engine, login):
    scenario = copy.deepcopy(SCENARIOS["rerouted"])
    instance_id = started(web_engine, scenario)
    advance(web_engine, instance_id, scenario, "follow_up_visit")
    page = login("office").get(f"/instances/{instance_id}").get_data(as_text=True)
    case = case_of(page)
    assert case.count("办理答复") >= 3 and "重新指定承办单位" in case      # two first answers, the new department's
    assert "不属于本单位职责" in case and "该事项属于供电企业职责" in case
    assert "国网珙县供电公司巡场供电所" in case and "按职责改派" in case
