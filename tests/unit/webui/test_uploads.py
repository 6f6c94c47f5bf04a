"""Evidence files: stored only for people who may act, within a quota; a form names only its submitter's uploads for
that task; downloads for those who may see the case (403 for others, 404 unknown); the sweep removes abandoned ones."""

from __future__ import annotations

import copy
import io
from urllib.parse import quote

import pytest
from sqlalchemy import select

from domain.people import policy
from domain.work.models import Upload
from tests.support.consultation import SCENARIOS
from tests.unit.domain.test_consultation_public import drive
from tests.unit.webui.conftest import csrf_of
from tests.unit.webui.test_casefile import advance_to, started
from tests.unit.webui.test_formrender import SMALL_PDF

FORGED = "文件引用无效：只能使用您本人为此任务上传的文件，请重新上传"
NAME = "老街路灯调研照片.pdf"


@pytest.fixture
def research(web_engine):
    """A township consultation at the research step: (instance id, {researcher: their research task})."""
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = started(web_engine, scenario)
    advance_to(web_engine, instance_id, scenario, "research")
    tasks = {t.candidates[0]: t for t in web_engine.list_tasks(instance_id=instance_id) if t.task_spec == "research"}
    return instance_id, tasks


def answer(client, task, extra: dict | None = None, action: str = "submit") -> dict:
    """A complete research form for `task` (with the page's CSRF token), plus `extra` fields."""
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    return {"csrf_token": csrf_of(page), "revision": str(task.revision), "action": action,
            "findings": "老街共有路灯四十盏，其中十二盏损坏已久。", "visited_places": "老街、新街口",
            "residents_consulted": "12", **(extra or {})}


def upload(content: bytes = SMALL_PDF, name: str = NAME) -> tuple:
    return io.BytesIO(content), name


def rows(services) -> list[Upload]:
    with services.engine.reading() as session:
        return list(session.scalars(select(Upload)))


def stored_files(services) -> list:
    folder = services.uploads.root()
    return sorted(folder.iterdir()) if folder.exists() else []


def draft_upload(client, task, content: bytes = SMALL_PDF) -> str:
    """Save a draft with a file; the reference the page keeps for it."""
    response = client.post(f"/tasks/{task.id}", data=answer(client, task, {"evidence": upload(content)}, "draft"),
                           content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True).split('type="hidden" name="evidence" value="', 1)[1].split('"', 1)[0]


@pytest.mark.parametrize("reference", ["../../../../etc/passwd", "0123456789abcdef0123456789abcdef", "evidence.pdf"])
def test_a_forged_reference_is_refused_beside_the_field_and_nothing_is_saved(web_engine, web_services, login,
                                                                            research, reference):
    instance_id, tasks = research
    client, task = login("m001"), tasks["m001"]
    response = client.post(f"/tasks/{task.id}", data=answer(client, task, {"evidence": reference}))
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and FORGED in body and "field-error" in body
    assert reference not in body
    assert web_engine.get_task(task.id).status == "ready" and rows(web_services) == []
    english = client.post(f"/tasks/{task.id}?lang=en", data=answer(client, task, {"evidence": reference}))
    assert "Invalid file reference: only files you uploaded for this task" in english.get_data(as_text=True)


def test_another_persons_upload_is_refused(web_engine, web_services, login, research):
    _, tasks = research
    theirs = draft_upload(login("m014"), tasks["m014"])
    client, task = login("m001"), tasks["m001"]
    response = client.post(f"/tasks/{task.id}", data=answer(client, task, {"evidence": theirs}))
    assert response.status_code == 422 and FORGED in response.get_data(as_text=True)
    assert web_engine.get_task(task.id).status == "ready"
    assert [(r.owner, r.attached_at) for r in rows(web_services)] == [("m014", None)]


def test_someone_who_may_only_view_the_task_gets_403_and_nothing_is_stored(web_engine, web_services, login,
                                                                          research):
    _, tasks = research
    client, task = login("office"), tasks["m001"]
    response = client.post(f"/tasks/{task.id}", data=answer(client, task, {"evidence": upload()}),
                           content_type="multipart/form-data")
    assert response.status_code == 403
    draft = client.post(f"/tasks/{task.id}", data=answer(client, task, {"evidence": upload()}, "draft"),
                        content_type="multipart/form-data")
    assert draft.status_code == 403
    assert rows(web_services) == [] and stored_files(web_services) == []


def test_the_quota_of_unsubmitted_files_is_enforced_with_nothing_half_saved(web_engine, web_services, login,
                                                                           research):
    _, tasks = research
    web_services.uploads.quota = len(SMALL_PDF) * 2
    client, task = login("m001"), tasks["m001"]
    first = draft_upload(client, task)
    second = draft_upload(client, task)
    response = client.post(f"/tasks/{task.id}", data=answer(client, task, {"evidence": upload()}),
                           content_type="multipart/form-data")
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "将超过 0 MB 上限" in body and "field-error" in body
    assert web_engine.get_task(task.id).status == "ready"
    assert sorted(r.id for r in rows(web_services)) == sorted([first, second])
    assert len(stored_files(web_services)) == 2


def test_a_submitted_file_is_linked_and_downloadable_by_those_who_may_see_the_case(web_engine, web_services, login,
                                                                                  client, research):
    instance_id, tasks = research
    reference = draft_upload(login("m001"), tasks["m001"])
    response = client.post(f"/tasks/{tasks['m001'].id}", data=answer(client, tasks["m001"], {"evidence": reference}))
    assert response.status_code == 302
    (row,) = rows(web_services)
    assert row.attached_at is not None and row.instance_id == instance_id and row.filename == NAME
    assert row.size == len(SMALL_PDF) and len(row.sha256) == 64
    assert stored_files(web_services) == [web_services.uploads.root() / row.id]     # by id, never by its name

    case = login("office").get(f"/instances/{instance_id}").get_data(as_text=True)
    assert f'href="/files/{row.id}"' in case and NAME in case and "1 KB" in case
    with client.get(f"/files/{row.id}") as download:      # closed: the file is streamed from disk
        assert download.status_code == 200 and download.data == SMALL_PDF
    assert download.headers["X-Content-Type-Options"] == "nosniff" and download.mimetype == "application/pdf"
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and f"filename*=UTF-8''{quote(NAME)}" in disposition

    outsider = next(f"m{n:03d}" for n in range(100, 230) if not _sees(web_services, f"m{n:03d}", instance_id))
    assert login(outsider).get(f"/files/{row.id}").status_code == 403
    assert client.get("/files/ffffffffffffffffffffffffffffffff").status_code == 404
    assert client.get("/files/..%2F..%2Fetc%2Fpasswd").status_code == 404


def _sees(services, username: str, instance_id: int) -> bool:
    user = services.accounts.user(username)
    with services.engine.reading() as session:
        return policy.can_view_instance(session, user, instance_id)


def test_the_api_serves_files_and_refuses_forged_references(web_engine, web_services, login, client, research):
    instance_id, tasks = research
    reference = draft_upload(login("m001"), tasks["m001"])
    token = web_services.accounts.issue_token("m001")
    headers = {"Authorization": f"Bearer {token}"}
    data = {"findings": "老街共有路灯四十盏，其中十二盏损坏已久。", "visited_places": "老街", "residents_consulted": 3}
    forged = client.post(f"/api/v1/tasks/{tasks['m001'].id}/complete", headers=headers,
                         json={"data": {**data, "evidence": "../../../../etc/passwd"}})
    assert forged.status_code == 422 and "evidence" in forged.get_data(as_text=True)
    done = client.post(f"/api/v1/tasks/{tasks['m001'].id}/complete", headers=headers,
                       json={"data": {**data, "evidence": reference}})
    assert done.status_code == 200, done.get_data(as_text=True)
    with client.get(f"/api/v1/files/{reference}", headers=headers) as download:
        assert download.status_code == 200 and download.data == SMALL_PDF
    assert client.get("/api/v1/files/ffffffffffffffffffffffffffffffff", headers=headers).status_code == 404


def test_the_sweep_deletes_abandoned_and_refused_files_and_keeps_attached_ones(web_engine, web_services, login,
                                                                               client, clock, research):
    _, tasks = research
    kept = draft_upload(login("m001"), tasks["m001"])
    client.post(f"/tasks/{tasks['m001'].id}", data=answer(client, tasks["m001"], {"evidence": kept}))
    abandoned = draft_upload(login("m014"), tasks["m014"])
    clock.advance(days=2)
    web_services.sweep()
    assert {r.id for r in rows(web_services)} == {kept, abandoned}       # young drafts stay
    clock.advance(days=6)
    web_services.sweep()
    assert [r.id for r in rows(web_services)] == [kept]
    assert stored_files(web_services) == [web_services.uploads.root() / kept]


def test_files_left_on_a_task_someone_else_finished_are_swept(web_engine, web_services, login, client, research):
    instance_id, tasks = research
    task = tasks["m001"]
    refused = draft_upload(login("m001"), task)
    web_engine.complete_task(task.id, {"findings": "老街共有路灯四十盏，其中十二盏损坏已久。", "visited_places": "老街",
                                       "residents_consulted": 3}, actor="m001", revision=task.revision)
    web_services.sweep()
    assert rows(web_services) == [] and stored_files(web_services) == []
    assert refused



def test_a_second_follow_up_visit_starts_without_the_first_visits_file(web_engine, web_services, login):
    scenario = copy.deepcopy(SCENARIOS["township_solved_twice_unsatisfied"])
    instance_id = started(web_engine, scenario)
    drive(web_engine, instance_id, scenario, stop_before="follow_up_visit")
    (first,) = web_engine.list_tasks(instance_id=instance_id)
    visitor = first.candidates[0]
    client = login(visitor)
    visit = {"visits": ["0", "1"]}
    for index in range(2):
        visit |= {f"visits/{index}/implementation_status": "仅部分路段完成",
                  f"visits/{index}/residents_satisfaction": "unsatisfied",
                  f"visits/{index}/residents_feedback": "新街口仍然很暗"}
    page = client.get(f"/tasks/{first.id}").get_data(as_text=True)
    response = client.post(f"/tasks/{first.id}", content_type="multipart/form-data", data={
        "csrf_token": csrf_of(page), "revision": str(first.revision), "action": "submit", **visit,
        "evidence": upload()})
    assert response.status_code == 302, response.get_data(as_text=True)
    (row,) = rows(web_services)
    assert web_engine.show_instance(instance_id).data["evidence"] == row.id      # what the next round would start with
    drive(web_engine, instance_id, scenario, stop_before="follow_up_visit")
    (second,) = web_engine.list_tasks(instance_id=instance_id)
    assert second.task_spec == "follow_up_visit" and second.id != first.id
    client = login(second.candidates[0])
    page = client.get(f"/tasks/{second.id}").get_data(as_text=True)
    assert f'value="{row.id}"' not in page and f'href="/files/{row.id}"' in page      # in the case file only
    response = client.post(f"/tasks/{second.id}", data={
        "csrf_token": csrf_of(page), "revision": str(second.revision), "action": "submit",
        "visits": ["0", "1"], "visits/0/implementation_status": "全部完成",
        "visits/0/residents_satisfaction": "satisfied", "visits/1/implementation_status": "全部完成",
        "visits/1/residents_satisfaction": "basically_satisfied"})
    assert response.status_code == 302, response.get_data(as_text=True)
