"""The studio's modeler pages and endpoints (webui/studio.py): who reaches them, saving against a revision, the
engine's hardened loader on saves and uploads, review problems by element, deploying, discarding, new processes."""

from __future__ import annotations

import io
import json
import re

import pytest

from tests.conftest import CONSULTATION
from tests.unit.webui.conftest import csrf_of

JSON = {"Accept": "application/json"}
BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<definitions>&lol2;</definitions>"""


def config_of(page: str) -> dict:
    """The modeler's configuration block on the edit page."""
    block = re.search(r'<script type="application/json" id="studio-config">(.*?)</script>', page, re.S).group(1)
    return json.loads(block)


@pytest.fixture
def owner(login):
    return login("owner")


def put(client, token, process_id, path, text, revision):
    return client.put(f"/studio/api/processes/{process_id}/files/{path}", json={"text": text, "revision": revision},
                      headers={**JSON, "X-CSRF-Token": token})


def open_edit(client, process_id="consultation"):
    page = client.get(f"/studio/processes/{process_id}/edit")
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    return config_of(page.get_data(as_text=True))


@pytest.mark.parametrize("username", ["office", "m001", "supervisor_county"])
def test_only_process_owners_and_admins_reach_the_studio(login, username):
    client = login(username)
    page = client.get("/studio/processes/consultation/edit")
    assert page.status_code == 403
    assert "没有权限" in page.get_data(as_text=True)
    answer = client.get("/studio/api/operators", headers=JSON)
    assert answer.status_code == 403 and answer.get_json()["status"] == 403
    assert client.get("/studio/new").status_code == 403


def test_signed_out_people_are_sent_to_sign_in_and_the_api_says_401(client):
    assert client.get("/studio/new").status_code == 302
    assert client.get("/studio/api/operators", headers=JSON).status_code == 401


def test_admin_reaches_the_modeler(login):
    client = login("admin")
    assert client.get("/studio/new").status_code == 200


def test_edit_page_configures_the_modeler_with_the_drafts_files_roles_and_decisions(owner):
    page = owner.get("/studio/processes/consultation/edit").get_data(as_text=True)
    config = config_of(page)
    assert config["bpmn_path"] == "consultation.bpmn"
    assert "forms/intake.schema.json" in config["files"]
    assert {"routing", "follow_up"} <= set(config["decisions"])
    assert {"name": "office", "label": "政协办公室"} in config["roles"]
    assert config["texts"]["group"] == "协商引擎" and config["lang"].startswith("zh")
    assert config["urls"]["review"] == "/studio/api/processes/consultation/review"
    assert re.search(r"studio/studio(\.[0-9a-f]+)?\.js", page)
    assert "<script>" not in page                   # no inline code under the CSP
    draft = owner.get(config["urls"]["draft"], headers=JSON).get_json()
    assert draft["revision"] == config["revision"]
    assert draft["text"] == CONSULTATION.joinpath("consultation.bpmn").read_text(encoding="utf-8")


def test_operators_endpoint_lists_what_the_engine_registers_with_parameters(owner):
    answer = owner.get("/studio/api/operators", headers=JSON).get_json()
    by_name = {op["name"]: op for op in answer["operators"]}
    assert set(by_name) == {"notify", "publish"}
    notify = {p["name"]: p for p in by_name["notify"]["parameters"]}
    assert {"kind", "to", "level", "step", "message", "task_id", "channels"} == set(notify)
    assert notify["kind"]["required"] is True and "proposer" in notify["to"]["description"]
    assert by_name["publish"]["parameters"][0]["name"] == "summary"


def test_the_modeler_in_english(owner):
    owner.get("/lang/en")
    config = open_edit(owner)
    assert config["lang"] == "en" and config["texts"]["group"] == "Consultation engine"


def test_operators_in_english(owner):
    answer = owner.get("/studio/api/operators?lang=en", headers=JSON).get_json()
    notify = next(op for op in answer["operators"] if op["name"] == "notify")
    assert notify["label"] == "Send a notification"


def test_a_stale_revision_is_refused_and_nothing_is_overwritten(owner):
    config = open_edit(owner)
    token, revision = config["csrf"], config["revision"]
    text = owner.get(config["urls"]["draft"], headers=JSON).get_json()["text"]
    first = put(owner, token, "consultation", "consultation.bpmn", text.replace("受理分流", "受理与分流"), revision)
    assert first.status_code == 200 and first.get_json()["revision"] == revision + 1
    second = put(owner, token, "consultation", "consultation.bpmn", text, revision)
    assert second.status_code == 409
    assert second.get_json()["message"] == "已被他人修改"
    saved = owner.get(config["urls"]["draft"], headers=JSON).get_json()
    assert "受理与分流" in saved["text"] and saved["revision"] == revision + 1


def test_unsafe_xml_is_refused_like_the_engines_loading(owner):
    config = open_edit(owner)
    answer = put(owner, config["csrf"], "consultation", "consultation.bpmn", BILLION_LAUGHS, config["revision"])
    assert answer.status_code == 422
    [problem] = answer.get_json()["problems"]
    assert problem["file"] == "consultation.bpmn"
    assert problem["message"] == "不允许 DOCTYPE 和 ENTITY 声明"          # the reader's language
    assert put(owner, config["csrf"], "consultation", "../x.bpmn", "<a/>", config["revision"]).status_code in {404, 422}


def test_saving_without_the_csrf_header_is_refused(owner):
    config = open_edit(owner)
    answer = owner.put("/studio/api/processes/consultation/files/consultation.bpmn",
                       json={"text": "<a/>", "revision": config["revision"]}, headers=JSON)
    assert answer.status_code == 400


def test_review_names_the_element_of_each_problem(owner):
    config = open_edit(owner)
    text = owner.get(config["urls"]["draft"], headers=JSON).get_json()["text"]
    broken = text.replace('value="forms/triage.schema.json"', 'value="forms/nowhere.schema.json"')
    saved = put(owner, config["csrf"], "consultation", "consultation.bpmn", broken, config["revision"])
    assert saved.status_code == 200
    answer = owner.post(config["urls"]["review"], headers={**JSON, "X-CSRF-Token": config["csrf"]}).get_json()
    [problem] = answer["problems"]
    assert problem["element_id"] == "triage"
    assert problem["message"] == "表单文件 forms/nowhere.schema.json 不在草稿中（formJsonSchemaFilename）"
    refused = owner.post(config["urls"]["deploy"], json={"revision": config["revision"] + 1, "note": "x"},
                         headers={**JSON, "X-CSRF-Token": config["csrf"]})
    assert refused.status_code == 422 and refused.get_json()["problems"][0]["element_id"] == "triage"


def test_new_process_deploys_and_can_be_started(owner, web_engine):
    token = csrf_of(owner.get("/studio/new").get_data(as_text=True))
    bad = owner.post("/studio/new", data={"process_id": "9 bad", "name": "x", "csrf_token": token})
    assert bad.status_code == 422 and "9 bad" in bad.get_data(as_text=True)        # the input is kept
    made = owner.post("/studio/new", data={"process_id": "inspection", "name": "视察", "csrf_token": token})
    assert made.status_code == 302 and made.headers["Location"].endswith("/studio/processes/inspection/edit")
    again = owner.post("/studio/new", data={"process_id": "inspection", "name": "视察", "csrf_token": token})
    assert again.status_code == 409
    config = open_edit(owner, "inspection")
    assert config["bpmn_path"] == "inspection.bpmn"
    review = owner.post(config["urls"]["review"], headers={**JSON, "X-CSRF-Token": token}).get_json()
    assert review["problems"] == []
    note = "x" * 501
    long = owner.post(config["urls"]["deploy"], json={"revision": config["revision"], "note": note},
                      headers={**JSON, "X-CSRF-Token": token})
    assert long.status_code == 422
    done = owner.post(config["urls"]["deploy"], json={"revision": config["revision"], "note": "第一版"},
                      headers={**JSON, "X-CSRF-Token": token})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["start_url"] == "/start/inspection" and done.get_json()["created"] is True
    assert web_engine.existing_draft("inspection") is None and done.get_json()["number"] == 1
    assert web_engine.process_versions("inspection")[0].note == "第一版"
    assert "inspection" in {p.process_id for p in web_engine.startable_processes()}


def test_upload_goes_through_the_hardened_loader_and_download_returns_the_draft(owner):
    config = open_edit(owner)
    token = config["csrf"]
    bad = owner.post("/studio/processes/consultation/upload", data={
        "csrf_token": token, "file": "consultation.bpmn", "revision": str(config["revision"]),
        "diagram": (io.BytesIO(BILLION_LAUGHS.encode()), "evil.bpmn")}, content_type="multipart/form-data",
        follow_redirects=True)
    assert "上传的文件未采用" in bad.get_data(as_text=True)
    wrong = owner.post("/studio/processes/consultation/upload", data={
        "csrf_token": token, "diagram": (io.BytesIO(b"x"), "notes.txt")}, content_type="multipart/form-data",
        follow_redirects=True)
    assert "只能上传 .bpmn 文件" in wrong.get_data(as_text=True)
    text = CONSULTATION.joinpath("consultation.bpmn").read_text(encoding="utf-8").replace("分层分流", "分层与分流")
    good = owner.post("/studio/processes/consultation/upload", data={
        "csrf_token": token, "file": "consultation.bpmn", "revision": str(config["revision"]),
        "diagram": (io.BytesIO(text.encode()), "mine.bpmn")}, content_type="multipart/form-data",
        follow_redirects=True)
    assert "已上传 mine.bpmn 到草稿" in good.get_data(as_text=True)
    download = owner.get("/studio/processes/consultation/files/consultation.bpmn")
    assert download.status_code == 200 and "分层与分流" in download.get_data(as_text=True)
    assert "attachment" in download.headers["Content-Disposition"]


def test_discard_needs_confirmation_and_removes_the_draft(owner, web_engine):
    config = open_edit(owner)
    token = config["csrf"]
    kept = owner.post("/studio/processes/consultation/discard", data={"csrf_token": token}, follow_redirects=True)
    assert "请勾选确认" in kept.get_data(as_text=True) and web_engine.existing_draft("consultation") is not None
    gone = owner.post("/studio/processes/consultation/discard", data={"csrf_token": token, "confirm": "yes"})
    assert gone.status_code == 302 and web_engine.existing_draft("consultation") is None
