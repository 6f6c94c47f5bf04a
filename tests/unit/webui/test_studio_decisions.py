"""The studio's decision tables: the draft's DMN files listed with their decisions and callers, the editor page
carrying the file for dmn-js, saves against the draft's revision with the engine's review, and only process owners
and admins in."""

from __future__ import annotations

import json

from tests.conftest import CONSULTATION
from tests.unit.webui.conftest import csrf_of

DEADLINES = (CONSULTATION / "deadlines.dmn").read_text(encoding="utf-8")


def test_the_list_names_each_decision_its_table_and_the_task_calling_it(client, login):
    login("owner")
    page = client.get("/studio/processes/consultation/decisions").get_data(as_text=True)
    assert "deadlines.dmn" in page and "routing.dmn" in page and "follow_up.dmn" in page
    assert "/studio/processes/consultation/decisions/routing.dmn?decision=routing" in page
    routing = page[page.index("<code>routing</code>"):]
    assert "7 条规则，2 个条件列，2 个结果列，命中策略 FIRST" in routing[:400]
    assert "分层分流 <code>route</code>" in routing[:900]          # the business-rule task that calls it


def test_the_editor_page_carries_the_file_and_the_decision(client, login):
    login("owner")
    page = client.get("/studio/processes/consultation/decisions/deadlines.dmn").get_data(as_text=True)
    data = json.loads(page.split('id="decision-editor-data">', 1)[1].split("</script>", 1)[0])
    assert data["xml"] == DEADLINES and data["decision"] == "deadlines" and data["lang"] == "zh"
    assert "dmn/dmn." in page and "js/decision-editor" in page
    assert client.get("/studio/processes/consultation/decisions/nothing.dmn").status_code == 404
    assert client.get("/studio/processes/consultation/decisions/forms/triage.schema.json").status_code == 404


def _save(client, page, text, revision):
    return client.post("/studio/processes/consultation/decisions/deadlines.dmn", json={"text": text,
                       "revision": revision}, headers={"X-CSRF-Token": csrf_of(page)})


def test_save_checks_the_revision_and_reports_what_the_engine_refuses(client, login, web_engine):
    login("owner")
    page = client.get("/studio/processes/consultation/decisions/deadlines.dmn").get_data(as_text=True)
    revision = web_engine.existing_draft("consultation").revision
    changed = DEADLINES.replace('<text>"P10D"</text>', '<text>"P12D"</text>', 1)
    answer = _save(client, page, changed, revision)
    assert answer.status_code == 200 and answer.get_json()["problems"] == []
    assert "引擎检查通过" in answer.get_json()["message"]
    assert web_engine.existing_draft("consultation").files["deadlines.dmn"] == changed
    stale = _save(client, page, DEADLINES, revision)
    assert stale.status_code == 409 and "已被他人修改" in stale.get_json()["message"]
    broken = _save(client, page, changed.replace('<text>"P12D"</text>', '<text>"P12D" +</text>'), revision + 1)
    body = broken.get_json()
    assert broken.status_code == 200 and "引擎无法使用此决策表" in body["message"]
    assert body["problems"] and body["problems"][0]["where"].startswith("deadlines.dmn line ")
    unsafe = _save(client, page, '<!DOCTYPE x [<!ENTITY a "b">]><definitions/>', revision + 2)
    assert unsafe.status_code == 422 and unsafe.get_json()["problems"]


def test_only_process_owners_and_admins_reach_the_tables(client, login):
    for who in ("m001", "office", "supervisor_county"):
        login(who)
        assert client.get("/studio/processes/consultation/decisions").status_code == 403, who
        assert client.get("/studio/processes/consultation/decisions/deadlines.dmn").status_code == 403, who
        page = client.get("/inbox").get_data(as_text=True)
        assert _save(client, page, DEADLINES, None).status_code == 403, who
