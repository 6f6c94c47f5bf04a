"""Inbox, task page and instance page: what each person sees and may do, and that nothing typed is lost."""

from __future__ import annotations

import copy
import re
from datetime import timedelta

import pytest

from tests.support.consultation import SCENARIOS
from tests.unit.webui.conftest import csrf_of


@pytest.fixture
def consultation(web_engine):
    """A township consultation waiting for triage."""
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = web_engine.start_instance("consultation", scenario.intake(), actor="m001")
    [task] = web_engine.list_tasks(instance_id=instance_id)
    return instance_id, task, scenario


def _advance_to(web_engine, instance_id, scenario, spec: str):
    """Complete tasks with the scenario's data until a `spec` task is ready; returns it."""
    for _ in range(30):
        tasks = web_engine.list_tasks(instance_id=instance_id)
        wanted = [t for t in tasks if t.task_spec == spec]
        if wanted:
            return wanted[0]
        task = tasks[0]
        data = scenario.answer(task.task_spec, web_engine.show_instance(instance_id).data)
        web_engine.complete_task(task.id, data, actor=task.candidates[0])
    raise AssertionError(spec)


def test_inbox_tabs_counts_and_claim(client, login, consultation):
    instance_id, task, _ = consultation
    login("office")
    page = client.get("/inbox?tab=claimable").get_data(as_text=True)
    assert "受理分流" in page and "可认领" in page and re.search(r"可认领 <span class=\"count\">1</span>", page)
    client.post(f"/tasks/{task.id}/claim", data={"csrf_token": csrf_of(page), "next": "/inbox?tab=assigned"})
    page = client.get("/inbox?tab=assigned").get_data(as_text=True)
    assert re.search(r"我的待办 <span class=\"count\">1</span>", page) and task.id in page
    assert "期限" in page


def test_inbox_search_and_filters(client, login, consultation):
    login("office")
    assert "受理分流" in client.get("/inbox?tab=claimable&q=老街").get_data(as_text=True)
    none = client.get("/inbox?tab=claimable&q=不存在的议题").get_data(as_text=True)
    assert "没有符合筛选条件的任务。" in none and '<a href="/inbox?tab=claimable">清除筛选</a>' in none
    assert "没有符合筛选条件的任务。" in client.get("/inbox?tab=claimable&step=3").get_data(as_text=True)
    assert "受理分流" in client.get("/inbox?tab=claimable&tier=township&step=0").get_data(as_text=True)


def test_task_page_shows_form_and_submit_moves_on(client, login, web_engine, consultation):
    instance_id, task, scenario = consultation
    login("office")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "受理" in page and 'name="decision"' in page and "提交" in page
    response = client.post(f"/tasks/{task.id}", data={
        "csrf_token": csrf_of(page), "revision": str(task.revision), "action": "submit",
        "decision": "accept", "tier": "township", "org_unit": "township_xunchang"})
    assert response.status_code == 302
    assert [t.task_spec for t in web_engine.list_tasks(instance_id=instance_id)] == ["define_topic"]


def test_invalid_submit_keeps_input_and_shows_field_errors(client, login, consultation):
    _, task, _ = consultation
    login("office")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    response = client.post(f"/tasks/{task.id}", data={
        "csrf_token": csrf_of(page), "revision": str(task.revision), "action": "submit",
        "decision": "decline", "tier": "township", "org_unit": "township_xunchang"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "请修改标出的内容" in body
    assert "decline_reason" in body and 'value="decline"' in body


def test_stale_submit_says_so_and_keeps_input(client, login, web_engine, consultation):
    _, task, _ = consultation
    login("office")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    web_engine.claim_task(task.id, "office")           # someone changed it after the form was opened
    response = client.post(f"/tasks/{task.id}", data={
        "csrf_token": csrf_of(page), "revision": str(task.revision), "action": "submit",
        "decision": "accept", "tier": "township", "org_unit": "township_xunchang"})
    body = response.get_data(as_text=True)
    assert response.status_code == 409 and "该事项刚被他人更新" in body and 'value="township_xunchang"' in body


def test_draft_is_kept(client, login, web_engine, consultation):
    _, task, _ = consultation
    login("office")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    client.post(f"/tasks/{task.id}", data={"csrf_token": csrf_of(page), "action": "draft", "decision": "decline",
                                           "decline_reason": "草稿理由", "tier": "township"})
    assert "草稿理由" in client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert web_engine.get_task(task.id).status == "ready"


def test_reassign_return_comment_and_read(client, login, web_engine, consultation):
    instance_id, task, _ = consultation
    login("office")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    token = csrf_of(page)
    client.post(f"/tasks/{task.id}/claim", data={"csrf_token": token})
    client.post(f"/tasks/{task.id}/reassign", data={"csrf_token": token, "to": "office2"})
    assert web_engine.get_task(task.id).assignee == "office2"
    client.post(f"/tasks/{task.id}/comment", data={"csrf_token": token, "body": "<b>请尽快</b>"})
    client.post(f"/tasks/{task.id}/read", data={"csrf_token": token})
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "&lt;b&gt;请尽快&lt;/b&gt;" in page
    login("office2")
    token = csrf_of(client.get(f"/tasks/{task.id}").get_data(as_text=True))
    client.post(f"/tasks/{task.id}/return", data={"csrf_token": token, "reason": "不属于本处"})
    assert web_engine.get_task(task.id).assignee is None
    assert "不属于本处" in client.get(f"/instances/{instance_id}").get_data(as_text=True)


def test_people_without_the_role_cannot_act(client, login, consultation):
    _, task, _ = consultation
    login("organizer_mutan")
    assert client.get(f"/tasks/{task.id}").status_code == 403
    login("m001")   # the proposer may follow it, but not triage it
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'name="decision"' not in page
    response = client.post(f"/tasks/{task.id}", data={"csrf_token": csrf_of(page), "action": "submit",
                                                      "decision": "accept"})
    assert response.status_code == 403


def test_instance_page_has_diagram_markers_and_records(client, login, web_engine, consultation):
    instance_id, _, scenario = consultation
    answer = _advance_to(web_engine, instance_id, scenario, "answer_suggestion")
    login("office")
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert 'id="diagram"' in page and re.search(r"bpmn/viewer\.[0-9a-f]{12}\.js", page)
    assert '"current": ["answer_suggestion"' in page.replace("\\u0022", '"') or "answer_suggestion" in page
    assert "增设老街路灯 20 盏" in page and "县住房和城乡建设局" in page and "待答复" in page
    assert "老街夜间照明与出行安全" in page and answer.id in page


def test_instance_list_shows_only_what_a_person_may_see(client, login, consultation):
    instance_id, _, _ = consultation
    login("organizer_mutan")
    assert f"#{instance_id}" not in client.get("/instances").get_data(as_text=True)
    assert client.get(f"/instances/{instance_id}").status_code == 403
    login("organizer_xunchang")
    assert f"#{instance_id}" in client.get("/instances").get_data(as_text=True)
    assert client.get("/instances/99999").status_code == 404


def test_answer_task_shows_the_suggestion_it_answers(client, login, web_engine, consultation):
    instance_id, _, scenario = consultation
    _advance_to(web_engine, instance_id, scenario, "answer_suggestion")
    [housing] = [t for t in web_engine.list_tasks(instance_id=instance_id) if t.org_unit == "dept_housing"]
    login("liaison_housing")
    page = client.get(f"/tasks/{housing.id}").get_data(as_text=True)
    assert "本条意见建议" in page and "增设老街路灯 20 盏" in page and "县住房和城乡建设局" in page
    card = page.split('class="card item"', 1)[1].split("</div>", 1)[0]     # the case file lists every suggestion
    assert "增设老街路灯 20 盏" in card and "优化夜间公交班次" not in card


def test_extension_request_and_approval_in_the_browser(client, login, web_engine, consultation):
    instance_id, task, _ = consultation
    login("office")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "申请延期" in page
    client.post(f"/tasks/{task.id}/extend", data={"csrf_token": csrf_of(page), "days": "4", "reason": "等待材料"})
    login("supervisor_county")
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert "等待材料" in page and "待审批" in page
    request_id = re.search(r"/extensions/(\d+)/decide", page).group(1)
    client.post(f"/extensions/{request_id}/decide", data={"csrf_token": csrf_of(page), "decision": "approve"})
    assert web_engine.get_task(task.id).due_at >= task.due_at + timedelta(days=4)     # triage counts working days
    login("m001")
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert "已批准" in page and "/decide" not in page


def test_a_deadline_in_a_year_without_a_holiday_schedule_says_so(client, login, web_engine):
    web_engine.clock.set(web_engine.clock.now().replace(year=2027, month=3))     # chinese-calendar stops at 2026
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = web_engine.start_instance("consultation", scenario.intake(), actor="m001")
    [triage] = web_engine.list_tasks(instance_id=instance_id)
    assert triage.due_basis == "working-weekends-only"
    login("office")
    page = client.get(f"/tasks/{triage.id}").get_data(as_text=True)
    assert "期限暂按周末推算" in page
