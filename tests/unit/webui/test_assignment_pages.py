"""People and org units on the task page and the API: pickers on every tier, the engine's refusal shown beside
the field with everything else kept, and tasks outside any lane shown without "None"."""

from __future__ import annotations

import copy
import re

import pytest

from tests.conftest import DATA
from tests.support.consultation import SCENARIOS
from tests.unit.webui.conftest import csrf_of


def _at(engine, name: str, spec: str):
    """A consultation of scenario `name`, driven until its `spec` task is ready."""
    scenario = copy.deepcopy(SCENARIOS[name])
    instance_id = engine.start_instance("consultation", scenario.intake(), actor="m001")
    for _ in range(30):
        tasks = engine.list_tasks(instance_id=instance_id)
        wanted = [t for t in tasks if t.task_spec == spec]
        if wanted:
            return instance_id, wanted[0], scenario
        task = tasks[0]
        engine.complete_task(task.id, scenario.answer(task.task_spec, engine.show_instance(instance_id).data),
                             actor=task.candidates[0])
    raise AssertionError(spec)


def _post(client, task, fields: dict):
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    return client.post(f"/tasks/{task.id}", data={"csrf_token": csrf_of(page), "revision": str(task.revision),
                                                  "action": "submit", **fields})


def _field_error(body: str, field: str) -> str:
    match = re.search(rf'<div class="field-error" id="f-{field}-error">(.*?)</div>', body, re.S)
    assert match, f"no message beside {field}"
    return re.sub(r"<[^>]+>", " ", match.group(1)).strip()


@pytest.mark.parametrize("name, member, outsider", [("county", "m100", None), ("committee", "m003", "m001")])
def test_the_researchers_field_is_a_people_picker_on_county_and_committee_tiers(client, login, web_engine, name,
                                                                                member, outsider):
    _, task, _ = _at(web_engine, name, "draft_plan")
    login(task.candidates[0])
    body = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'type="checkbox" name="researchers"' in body and '<textarea name="researchers"' not in body
    assert f'value="{member}"' in body and 'value="admin"' not in body
    if outsider:
        assert f'name="researchers" value="{outsider}"' not in body


def test_a_bad_researcher_is_named_beside_the_field_and_the_rest_is_kept(client, login, web_engine, web_services):
    instance_id, task, scenario = _at(web_engine, "township", "draft_plan")
    login(task.candidates[0])
    plan = scenario.answer("draft_plan", {"org_unit": "township_xunchang"})
    fields = {k: v for k, v in plan.items() if k != "researchers"}
    response = _post(client, task, {**fields, "researchers": ["m001", "ghost_user_zz", "m002"]})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "请修改标出的内容后重新提交" in body
    message = _field_error(body, "researchers")
    assert "“ghost_user_zz”不是系统中的有效用户，请从名单中选择" in message
    m002 = web_services.accounts.user("m002").display_name
    assert f"{m002} 不是巡场镇的政协委员，不能被安排此项工作" in message and "None" not in body
    assert re.search(r'value="township_xunchang_hall" selected', body)
    assert "路灯损坏数量、维护责任、资金来源" in body and 'value="2026-04-15"' in body
    assert re.search(r'name="researchers" value="m001"[^>]*checked', body)          # the good choice is kept
    assert re.search(r'name="researchers" value="ghost_user_zz"[^>]*checked', body)  # and so is the bad one
    assert [t.task_spec for t in web_engine.list_tasks(instance_id=instance_id)] == ["draft_plan"]


def test_triage_to_a_unit_that_does_not_exist_is_refused_beside_the_field(client, login, web_engine):
    instance_id, task, _ = _at(web_engine, "township", "triage")
    login("office")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert '<select name="org_unit"' in page and 'value="township_xunchang" selected' in page
    assert '<option value="sector_economy" data-tier="committee">经济界别小组</option>' in page   # a name, no code
    response = _post(client, task, {"decision": "accept", "tier": "county", "org_unit": "township_nowhere"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert _field_error(body, "org_unit").startswith("没有组织单位“township_nowhere”，请从名单中选择")
    assert re.search(r'value="accept"[^>]*checked', body) and re.search(r'value="county"[^>]*checked', body)
    assert 'value="township_nowhere" selected' in body and "None" not in body
    assert [t.task_spec for t in web_engine.list_tasks(instance_id=instance_id)] == ["triage"]


def test_the_api_refuses_the_same_names_with_field_errors(web_services, client, web_engine):
    _, task, scenario = _at(web_engine, "township", "draft_plan")
    token = web_services.accounts.issue_token(task.candidates[0])
    data = scenario.answer("draft_plan", {}) | {"researchers": ["m002", "ghost_user_zz", "admin"]}
    response = client.post(f"/api/v1/tasks/{task.id}/complete", json={"data": data},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422
    errors = response.get_json()["field_errors"]["researchers"]
    names = [web_services.accounts.user(u).display_name for u in ("m002", "admin")]
    ghost = "“ghost_user_zz”不是系统中的有效用户，请从名单中选择"
    assert [e.split(" ")[0] for e in errors] == [names[0], ghost, names[1]]


def test_a_task_outside_any_lane_shows_the_starter_and_no_none(client, login, web_engine):
    web_engine.deploy([DATA / "laneless"], actor="owner")
    instance_id = web_engine.start_instance("laneless", {}, actor="m001")
    [task] = web_engine.list_tasks(instance_id=instance_id)
    login("m001")
    body = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "None" not in body and "发起人" in body and 'name="opinion"' in body
    assert "填写意见" in client.get("/inbox").get_data(as_text=True)
    response = _post(client, task, {"opinion": "同意"})
    assert response.status_code == 302 and web_engine.show_instance(instance_id).status == "completed"


def test_an_admin_reassigns_a_task_outside_any_lane_from_its_page(client, login, web_engine):
    web_engine.deploy([DATA / "laneless"], actor="owner")
    instance_id = web_engine.start_instance("laneless", {})
    [task] = web_engine.list_tasks(instance_id=instance_id)
    login("admin")
    body = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "暂无办理人，待管理员转办" in body and '<option value="m002">' in body and "None" not in body
    client.post(f"/tasks/{task.id}/reassign", data={"csrf_token": csrf_of(body), "to": "m002"})
    assert web_engine.get_task(task.id).assignee == "m002"
