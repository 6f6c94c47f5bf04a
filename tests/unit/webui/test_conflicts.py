"""Someone else finished the task first: the loser's page says who and when, all in the reader's language, links to
the case and keeps what they typed; the API answers 409 with an error code and the same message."""

from __future__ import annotations

import copy
import re

import pytest

from engine.clock import LOCAL_TZ
from tests.support.consultation import SCENARIOS
from tests.unit.webui.conftest import csrf_of
from tests.unit.webui.test_casefile import advance_to, started
from tests.unit.webui.test_uploads import answer, rows, stored_files, upload

PASSWORD = "xieshang-demo"
TYPED = "该事项属于乡镇职责范围，转巡场镇众事众商平台办理（第二位工作人员的说明）"
_CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def triage(web_engine):
    """A fresh township intake: (instance id, its triage task, which office and office2 may both do)."""
    instance_id = web_engine.start_instance("consultation", SCENARIOS["township"].intake(), actor="m001")
    (task,) = web_engine.list_tasks(instance_id=instance_id)
    return instance_id, task


def session_of(app, username: str):
    """A separate browser signed in as `username`."""
    client = app.test_client()
    token = csrf_of(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"username": username, "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302
    return client


def triage_form(page: str, task, reason: str) -> dict:
    return {"csrf_token": csrf_of(page), "revision": str(task.revision), "action": "submit", "decision": "accept",
            "tier": "township", "org_unit": "township_xunchang", "decline_reason": reason}


def alert_of(html: str) -> str:
    """The text of the conflict message box."""
    box = html.split('class="flash error conflict"', 1)[1].split("</div>", 1)[0]
    return re.sub(r"<[^>]+>", " ", box)


def test_the_later_submit_is_told_who_finished_it_and_when_and_keeps_the_input(app, web_engine, web_services,
                                                                               triage):
    instance_id, task = triage
    first, second = session_of(app, "office"), session_of(app, "office2")
    read_early = second.get(f"/tasks/{task.id}").get_data(as_text=True)     # both open the task
    won = first.post(f"/tasks/{task.id}", data=triage_form(first.get(f"/tasks/{task.id}").get_data(as_text=True),
                                                            task, "第一位工作人员的说明"))
    assert won.status_code == 302
    lost = second.post(f"/tasks/{task.id}", data=triage_form(read_early, task, TYPED))
    html = lost.get_data(as_text=True)
    assert lost.status_code == 409
    done = web_engine.get_task(task.id)
    office = web_services.accounts.user("office").display_name
    when = next(t for t in web_services.participation.instance_detail(
        instance_id, web_services.accounts.user("office")).tasks if t.id == task.id).completed_at
    alert = alert_of(html)
    assert office in alert and when.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") in alert
    assert "您这次的提交没有保存" in alert and "task is not" not in html and "(" not in alert
    assert f'href="/instances/{instance_id}"' in html.split('class="flash error conflict"', 1)[1].split("</div>")[0]
    kept = html.split('id="kept-input"', 1)[1].split("</div>\n    </div>", 1)[0]
    assert TYPED in kept and "乡镇·众事众商" in kept and "<textarea" not in kept      # read-only text, copyable
    assert done.status == "completed" and TYPED not in str(web_engine.show_instance(instance_id).data)


def test_the_conflict_reads_wholly_in_english_when_english_is_chosen(app, web_engine, web_services, triage):
    _, task = triage
    first, second = session_of(app, "office"), session_of(app, "office2")
    second.get("/lang/en")
    read_early = second.get(f"/tasks/{task.id}").get_data(as_text=True)
    first.post(f"/tasks/{task.id}", data=triage_form(first.get(f"/tasks/{task.id}").get_data(as_text=True), task,
                                                      "第一位工作人员的说明"))
    lost = second.post(f"/tasks/{task.id}", data=triage_form(read_early, task, TYPED))
    alert = alert_of(lost.get_data(as_text=True))
    office = web_services.accounts.user("office").display_name
    assert lost.status_code == 409 and "completed this task" in alert and "was not saved" in alert
    assert _CJK.sub("", alert.replace(office, "")) == alert.replace(office, ""), alert    # no Chinese but the name
    assert TYPED in lost.get_data(as_text=True)


@pytest.fixture
def researching(web_engine):
    """A township consultation at the research step: each researcher's task."""
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = started(web_engine, scenario)
    advance_to(web_engine, instance_id, scenario, "research")
    return {t.candidates[0]: t for t in web_engine.list_tasks(instance_id=instance_id) if t.task_spec == "research"}


def test_a_second_tab_submitting_a_file_after_the_first_finished_stores_nothing(app, web_engine, web_services, login,
                                                                                 researching):
    tasks = researching
    task = tasks["m001"]
    client = login("m001")
    stale = answer(client, task, {"findings": "第二个标签页里写的调研结论：路灯损坏十二盏。", "evidence": upload()})
    assert client.post(f"/tasks/{task.id}", data=answer(client, task)).status_code == 302
    lost = client.post(f"/tasks/{task.id}", data=stale, content_type="multipart/form-data")
    html = lost.get_data(as_text=True)
    assert lost.status_code == 409 and "您已于" in alert_of(html) and "第二个标签页里写的调研结论" in html
    assert rows(web_services) == [] and stored_files(web_services) == []


def test_the_api_answers_409_with_a_code_and_the_message_in_the_asked_language(app, client, web_engine,
                                                                              web_services, triage):
    instance_id, task = triage
    data = {"decision": "accept", "tier": "township", "org_unit": "township_xunchang"}
    web_engine.complete_task(task.id, data, "office2", task.revision)
    token = web_services.accounts.issue_token("office")
    headers = {"Authorization": f"Bearer {token}"}
    zh = client.post(f"/api/v1/tasks/{task.id}/complete", json={"data": data}, headers=headers)
    body = zh.get_json()
    name = web_services.accounts.user("office2").display_name
    assert zh.status_code == 409 and body["code"] == "task_completed" and body["completed_by"] == "office2"
    assert body["message"].startswith(f"{name} 已于 ") and "(" not in body["message"]
    assert body["instance_id"] == instance_id and body["instance_url"] == f"/instances/{instance_id}"
    en = client.post(f"/api/v1/tasks/{task.id}/complete", json={"data": data},
                     headers={**headers, "Accept-Language": "en-US,en;q=0.9"})
    assert en.status_code == 409 and en.get_json()["code"] == "task_completed"
    assert en.get_json()["message"].startswith(f"{name} completed this task at ")
    assert not _CJK.search(en.get_json()["message"].replace(name, ""))
    query = client.post(f"/api/v1/tasks/{task.id}/complete?lang=en", json={"data": data}, headers=headers)
    assert query.get_json()["message"] == en.get_json()["message"]


def test_a_task_claimed_by_a_colleague_meanwhile_is_a_conflict_with_the_input_kept(app, web_engine, web_services,
                                                                                   triage):
    _, task = triage
    second = session_of(app, "office2")
    read_early = second.get(f"/tasks/{task.id}").get_data(as_text=True)
    web_engine.claim_task(task.id, "office")
    lost = second.post(f"/tasks/{task.id}", data=triage_form(read_early, task, TYPED))
    html = lost.get_data(as_text=True)
    office = web_services.accounts.user("office").display_name
    assert lost.status_code == 409 and f"此任务已由 {office} 认领" in alert_of(html) and TYPED in html
    assert web_engine.get_task(task.id).status == "ready"


def test_claiming_a_task_a_colleague_just_claimed_says_so_in_one_language(app, web_engine, web_services, triage):
    _, task = triage
    second = session_of(app, "office2")
    page = second.get(f"/tasks/{task.id}").get_data(as_text=True)
    web_engine.claim_task(task.id, "office")
    zh = second.post(f"/tasks/{task.id}/claim", data={"csrf_token": csrf_of(page)}).get_data(as_text=True)
    alert = zh.split('role="alert">', 1)[1].split("</div>", 1)[0]
    assert "任务已由 office 认领" in alert and "already" not in alert
    second.get("/lang/en")
    en = second.post(f"/tasks/{task.id}/claim", data={"csrf_token": csrf_of(page)}).get_data(as_text=True)
    alert = en.split('role="alert">', 1)[1].split("</div>", 1)[0]
    assert "Already claimed by office" in alert and not _CJK.search(alert)
