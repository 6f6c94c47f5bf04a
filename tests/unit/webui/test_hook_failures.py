"""In the browser: a process without hooks has a working instance page without consultation records, and a bug in a
process hook shows a plain "internal error, the administrators were told" message, keeps the input, saves nothing."""

from __future__ import annotations

import copy
import logging

from domain.consultation import records
from tests.conftest import DATA
from tests.support.consultation import SCENARIOS
from tests.unit.webui.conftest import csrf_of

LETTER = {"title": "食堂排队太长", "description": "中午排队要二十分钟，希望多开一个窗口。"}


def test_a_plain_process_has_an_instance_page_without_consultation_records(client, login, web_engine):
    web_engine.deploy([DATA / "suggestion_box"], actor="owner")
    instance_id = web_engine.start_instance("suggestion_box", LETTER, actor="office")
    [task] = web_engine.list_tasks(instance_id=instance_id)
    login("office")
    page = client.get(f"/instances/{instance_id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "suggestion_box" in body and "阅处" in body
    assert "查询编号" not in body and "XS-" not in body
    assert f"意见箱 #{instance_id}" in body and "意见建议与办理答复" not in body   # no consultation section
    assert LETTER["title"] not in client.get("/instances").get_data(as_text=True)       # its data is no title
    assert f"意见箱 #{instance_id}" in client.get("/instances").get_data(as_text=True)
    assert client.get(f"/tasks/{task.id}").status_code == 200


def _broken(*args, **kwargs):
    raise AttributeError("'NoneType' object has no attribute 'number'")


def test_a_hook_bug_on_submit_is_a_plain_internal_error_and_nothing_is_saved(client, login, web_engine,
                                                                             monkeypatch, caplog):
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = web_engine.start_instance("consultation", scenario.intake(), actor="m001")
    [task] = web_engine.list_tasks(instance_id=instance_id)
    before = web_engine.show_instance(instance_id)
    monkeypatch.setattr(records, "sync_consultation", _broken)     # the consultation's record keeping has a bug
    login("office")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    with caplog.at_level(logging.ERROR, logger="engine.hooks"):
        response = client.post(f"/tasks/{task.id}", data={
            "csrf_token": csrf_of(page), "revision": str(task.revision), "action": "submit",
            "decision": "accept", "tier": "township", "org_unit": "township_xunchang"})
    body = response.get_data(as_text=True)
    assert response.status_code == 500 and "系统内部出错，已通知管理员" in body
    assert "NoneType" not in body and "脚本" not in body and "triage:" not in body
    assert 'value="township_xunchang"' in body                       # what the person typed is still there
    after = web_engine.show_instance(instance_id)
    assert (after.revision, after.status, after.events) == (before.revision, before.status, before.events)
    assert [t.id for t in web_engine.list_tasks(instance_id=instance_id)] == [task.id]
    assert "Traceback" in caplog.text and "'NoneType' object has no attribute 'number'" in caplog.text


def test_a_hook_bug_through_the_api_is_a_500_with_the_plain_message(client, web_engine, monkeypatch):
    monkeypatch.setattr(records, "record_intake", _broken)
    response = client.post("/api/v1/intake", json={"data": copy.deepcopy(SCENARIOS["township"]).intake()})
    body = response.get_json()
    assert response.status_code == 500 and "administrators were told" in body["message"]
    assert "NoneType" not in response.get_data(as_text=True)
