"""The plan's meeting date may not lie in the past: the organizer reads why, in their language, with what they
typed kept; today is accepted."""

from __future__ import annotations

import copy
from datetime import timedelta

import lxml.html

from engine.clock import LOCAL_TZ
from tests.support.consultation import SCENARIOS
from tests.unit.webui.conftest import csrf_of
from tests.unit.webui.test_casefile import advance_to, started

PLAN = {"plan_goal": "摸清照明缺口", "venue": "township_xunchang_hall", "researchers": "m001",
        "research_questions": "路灯损坏数量"}


def _submit(client, task, page: str, meeting_date: str):
    return client.post(f"/tasks/{task.id}", data={"csrf_token": csrf_of(page), "revision": str(task.revision),
                                                   "action": "submit", "meeting_date": meeting_date, **PLAN})


def test_a_meeting_date_in_the_past_is_refused_with_the_reason_and_kept(web_engine, login, client):
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = started(web_engine, scenario)
    draft = advance_to(web_engine, instance_id, scenario, "draft_plan")
    today = web_engine.clock.now().astimezone(LOCAL_TZ).date()
    yesterday = (today - timedelta(days=1)).isoformat()
    page = login("organizer_xunchang").get(f"/tasks/{draft.id}").get_data(as_text=True)
    response = _submit(client, draft, page, yesterday)
    body = lxml.html.fromstring(response.get_data(as_text=True))
    message = body.get_element_by_id("f-meeting_date-error").text_content()
    assert response.status_code == 422
    assert f"不能早于今天（{today.isoformat()}）" in message and "请填写今天或以后的日期" in message
    assert body.xpath(".//input[@name='meeting_date']")[0].get("value") == yesterday     # what was typed stays
    assert web_engine.list_tasks(instance_id=instance_id)[0].task_spec == "draft_plan"
    assert _submit(client, draft, page, today.isoformat()).status_code == 302           # today is fine
    assert web_engine.list_tasks(instance_id=instance_id)[0].task_spec == "review_plan"


def test_the_english_page_says_it_in_english(web_engine, login, client):
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = started(web_engine, scenario)
    draft = advance_to(web_engine, instance_id, scenario, "draft_plan")
    today = web_engine.clock.now().astimezone(LOCAL_TZ).date()
    login("organizer_xunchang")
    client.get("/lang/en")
    page = client.get(f"/tasks/{draft.id}").get_data(as_text=True)
    response = _submit(client, draft, page, (today - timedelta(days=30)).isoformat())
    message = lxml.html.fromstring(response.get_data(as_text=True)).get_element_by_id(
        "f-meeting_date-error").text_content()
    assert response.status_code == 422 and f"cannot be earlier than today, {today.isoformat()}" in message
