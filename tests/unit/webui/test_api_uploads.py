"""POST /api/v1/uploads: a client uploads a file for a task it may act on, then names the reference in the form data;
the same rules as the web (who may, checked before anything is stored; size, type and quota; references only in the
uploader's own form on that task) with messages in the asked-for language."""

from __future__ import annotations

import copy
import io

import pytest

from tests.support.consultation import SCENARIOS
from tests.unit.webui.test_casefile import advance_to, started
from tests.unit.webui.test_formrender import SMALL_PDF
from tests.unit.webui.test_uploads import rows, stored_files

FINDINGS = {"findings": "老街共有路灯四十盏，其中十二盏损坏已久。", "visited_places": "老街", "residents_consulted": 3}


@pytest.fixture
def research(web_engine):
    """A township consultation at the research step: (instance id, {researcher: their research task})."""
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = started(web_engine, scenario)
    advance_to(web_engine, instance_id, scenario, "research")
    return instance_id, {t.candidates[0]: t for t in web_engine.list_tasks(instance_id=instance_id)
                         if t.task_spec == "research"}


@pytest.fixture
def send(client, web_services):
    """send(user, query, content=SMALL_PDF, name=..., **headers): POST /api/v1/uploads as that person."""

    def post(user: str, query: str, content: bytes = SMALL_PDF, name: str = "现场照片.pdf", headers=None):
        token = web_services.accounts.issue_token(user)
        return client.post(f"/api/v1/uploads?{query}", data={"file": (io.BytesIO(content), name)},
                           content_type="multipart/form-data",
                           headers={"Authorization": f"Bearer {token}", **(headers or {})})

    return post


def complete(client, web_services, user: str, task, data: dict):
    token = web_services.accounts.issue_token(user)
    return client.post(f"/api/v1/tasks/{task.id}/complete", json={"data": data},
                       headers={"Authorization": f"Bearer {token}"})


def test_upload_then_complete_with_the_reference(client, web_engine, web_services, send, research):
    instance_id, tasks = research
    task = tasks["m001"]
    response = send("m001", f"task_id={task.id}")
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["filename"] == "现场照片.pdf" and body["size"] == len(SMALL_PDF) and body["task_id"] == task.id
    assert body["content_type"] == "application/pdf" and len(body["id"]) == 32 and body["process_id"] is None
    (row,) = rows(web_services)
    assert row.id == body["id"] and row.owner == "m001" and row.attached_at is None
    done = complete(client, web_services, "m001", task, {**FINDINGS, "evidence": body["id"]})
    assert done.status_code == 200, done.get_data(as_text=True)
    (row,) = rows(web_services)
    assert row.attached_at is not None and row.instance_id == instance_id
    token = web_services.accounts.issue_token("office")
    with client.get(f"/api/v1/files/{row.id}", headers={"Authorization": f"Bearer {token}"}) as download:
        assert download.status_code == 200 and download.data == SMALL_PDF


def test_a_forged_or_another_persons_reference_is_refused(client, web_engine, web_services, send, research):
    _, tasks = research
    theirs = send("m014", f"task_id={tasks['m014'].id}").get_json()["id"]
    for forged in (theirs, "../../../../etc/passwd", "0123456789abcdef0123456789abcdef"):
        refused = complete(client, web_services, "m001", tasks["m001"], {**FINDINGS, "evidence": forged})
        assert refused.status_code == 422 and "evidence" in refused.get_json()["field_errors"], forged
    assert web_engine.get_task(tasks["m001"].id).status == "ready"
    assert [(r.owner, r.attached_at) for r in rows(web_services)] == [("m014", None)]


def test_someone_who_may_only_view_the_task_is_refused_and_nothing_is_stored(web_services, send, research):
    _, tasks = research
    response = send("office", f"task_id={tasks['m001'].id}")
    assert response.status_code == 403 and response.get_json()["status"] == 403
    assert send("m014", f"task_id={tasks['m001'].id}").status_code == 403      # another researcher's task
    assert rows(web_services) == [] and stored_files(web_services) == []


def test_over_quota_is_refused_with_a_message_in_the_asked_language_and_nothing_stored(web_services, send,
                                                                                         research):
    _, tasks = research
    query = f"task_id={tasks['m001'].id}"
    web_services.uploads.quota = len(SMALL_PDF) * 3
    first = send("m001", query)
    assert first.status_code == 201
    zh = send("m001", query, SMALL_PDF * 3)          # stored files plus these would pass the quota
    body = zh.get_json()
    assert zh.status_code == 422 and body["code"] == "quota_exceeded" and "将超过 0 MB 上限" in body["message"]
    assert body["field_errors"] == {"file": [body["message"]]}
    en = send("m001", query, SMALL_PDF * 3, headers={"Accept-Language": "en"})
    assert en.status_code == 422 and "would pass the 0 MB limit" in en.get_json()["message"]
    assert [r.id for r in rows(web_services)] == [first.get_json()["id"]]
    assert stored_files(web_services) == [web_services.uploads.root() / first.get_json()["id"]]


@pytest.mark.parametrize(("query", "content", "name", "status", "text"), [
    ("", SMALL_PDF, "a.pdf", 400, "task_id 或 process_id"),
    ("task_id=not-a-uuid", SMALL_PDF, "a.pdf", 400, "UUID"),
    ("task_id={task}", b"MZ\x90\x00 not a pdf", "a.pdf", 422, "文件内容与扩展名 .pdf 不符"),
    ("task_id={task}", SMALL_PDF, "a.exe", 422, "不支持这种文件"),
    ("task_id=00000000-0000-4000-8000-000000000000", SMALL_PDF, "a.pdf", 404, ""),
    ("process_id=consultation", SMALL_PDF, "a.pdf", 422, "此表单没有附件字段"),
    ("process_id=nothing_here", SMALL_PDF, "a.pdf", 404, ""),
])
def test_bad_uploads_get_clear_errors_and_store_nothing(web_services, send, research, query, content, name, status,
                                                        text):
    _, tasks = research
    response = send("m001", query.format(task=tasks["m001"].id), content, name)
    assert response.status_code == status and text in response.get_json()["message"], response.get_json()
    assert rows(web_services) == [] and stored_files(web_services) == []


def test_a_body_over_the_limit_is_refused_before_it_is_read(client, web_services, research):
    _, tasks = research
    token = web_services.accounts.issue_token("m001")
    response = client.post(f"/api/v1/uploads?task_id={tasks['m001'].id}", data=b"x" * 64,
                           headers={"Authorization": f"Bearer {token}",
                                    "Content-Type": "multipart/form-data; boundary=b"},
                           environ_overrides={"CONTENT_LENGTH": str(12 * 1024 * 1024)})
    assert response.status_code == 413 and rows(web_services) == [] and stored_files(web_services) == []


def test_a_finished_task_takes_no_more_files(client, web_engine, web_services, send, research):
    _, tasks = research
    task = tasks["m001"]
    assert complete(client, web_services, "m001", task, FINDINGS).status_code == 200
    late = send("m001", f"task_id={task.id}")
    assert late.status_code == 409 and rows(web_services) == [] and stored_files(web_services) == []


def test_permission_and_quota_are_checked_before_the_body_is_read(client, web_services, research):
    _, tasks = research
    web_services.uploads.quota = 1024 * 1024
    declared = {"CONTENT_LENGTH": str(5 * 1024 * 1024)}      # more than the 64 bytes sent: reading would fail (400)
    headers = {"Content-Type": "multipart/form-data; boundary=b"}
    for user, status in (("office", 403), ("m001", 422)):
        token = web_services.accounts.issue_token(user)
        response = client.post(f"/api/v1/uploads?task_id={tasks['m001'].id}", data=b"x" * 64,
                               headers={**headers, "Authorization": f"Bearer {token}"}, environ_overrides=declared)
        assert response.status_code == status, (user, response.get_json())
    assert response.get_json()["code"] == "quota_exceeded"
    assert rows(web_services) == [] and stored_files(web_services) == []


@pytest.fixture
def mini_with_file(web_engine, tmp_path):
    """The mini process again, its start form taking an attachment (a new version of `mini`)."""
    import json
    import shutil

    from tests.conftest import DATA

    bundle = tmp_path / "mini"
    shutil.copytree(DATA / "mini", bundle)
    schema_path = bundle / "forms" / "start.schema.json"
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    schema["properties"]["attachment"] = {"type": "string", "title": "附件", "maxLength": 64}
    schema_path.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    (bundle / "forms" / "start.ui.json").write_text(json.dumps({"attachment": {"ui:widget": "file"}}),
                                                    encoding="utf-8")
    diagram = bundle / "mini.bpmn"
    schema_line = '<spiffworkflow:property name="formJsonSchemaFilename" value="forms/start.schema.json" />'
    diagram.write_text(diagram.read_text(encoding="utf-8").replace(schema_line, schema_line + (
        '<spiffworkflow:property name="formUiSchemaFilename" value="forms/start.ui.json" />')), encoding="utf-8")
    web_engine.deploy([bundle], actor="owner")
    return "mini"


def test_a_start_form_file_is_uploaded_then_named_when_starting(client, web_services, send, mini_with_file):
    uploaded = send("m001", f"process_id={mini_with_file}")
    assert uploaded.status_code == 201, uploaded.get_json()
    reference = uploaded.get_json()["id"]
    assert uploaded.get_json()["task_id"] is None and uploaded.get_json()["process_id"] == "mini"
    theirs = send("m014", f"process_id={mini_with_file}").get_json()["id"]
    headers = {"Authorization": f"Bearer {web_services.accounts.issue_token('m001')}"}
    forged = client.post("/api/v1/instances", headers=headers,
                         json={"process_id": "mini", "data": {"title": "路灯", "attachment": theirs}})
    assert forged.status_code == 422 and "attachment" in forged.get_json()["field_errors"]
    started = client.post("/api/v1/instances", headers=headers,
                          json={"process_id": "mini", "data": {"title": "路灯", "attachment": reference}})
    assert started.status_code == 201, started.get_json()
    mine = next(r for r in rows(web_services) if r.id == reference)
    assert mine.attached_at is not None and mine.instance_id == started.get_json()["instance_id"]
