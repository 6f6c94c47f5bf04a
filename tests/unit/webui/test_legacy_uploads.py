"""Evidence files stored before upload records existed (`<hex>.<ext>` in the uploads folder): adoption gives those a
submitted form names a record (the submitter as owner, the instance linked), so the case file links them and the
authorized download serves them; files no form names are reported and left in place."""

from __future__ import annotations

import copy

import pytest

from domain.people import policy
from domain.work import legacy_uploads
from tests.support.consultation import SCENARIOS
from tests.unit.webui.test_casefile import advance_to, started
from tests.unit.webui.test_formrender import SMALL_PDF
from tests.unit.webui.test_uploads import rows

LEGACY = "3f9c0a1b2c3d4e5f60718293.pdf"          # secrets.token_hex(12) + suffix, as stored before records
STRAY = "aaaabbbbccccddddeeeeffff.jpg"            # left behind by a form never submitted


@pytest.fixture
def legacy_case(web_engine, web_services):
    """A consultation whose research form (by m001) names a legacy file, as submitted before upload records."""
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = started(web_engine, scenario)
    advance_to(web_engine, instance_id, scenario, "research")
    task = next(t for t in web_engine.list_tasks(instance_id=instance_id) if t.candidates == ("m001",))
    web_engine.complete_task(task.id, {"findings": "老街共有路灯四十盏，其中十二盏损坏已久。", "visited_places": "老街",
                                       "residents_consulted": 3, "evidence": LEGACY}, "m001", task.revision)
    folder = web_services.uploads.root()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / LEGACY).write_bytes(SMALL_PDF)
    (folder / STRAY).write_bytes(b"\xff\xd8\xff stray")
    return instance_id, task


def test_before_adoption_the_case_file_says_the_file_is_gone(login, legacy_case):
    instance_id, _ = legacy_case
    page = login("office").get(f"/instances/{instance_id}").get_data(as_text=True)
    assert "文件已不存在" in page and f"/files/{LEGACY}" not in page


def test_adopted_files_are_linked_and_downloadable_by_those_who_may_see_the_case(app, login, client, web_services,
                                                                                legacy_case):
    instance_id, task = legacy_case
    report = legacy_uploads.adopt(web_services.uploads)
    assert [(a.reference, a.instance_id, a.owner, a.task_id) for a in report.adopted] == \
        [(LEGACY, instance_id, "m001", task.id)]
    assert report.unreferenced == (STRAY,)
    (row,) = rows(web_services)
    assert row.attached_at is not None and row.size == len(SMALL_PDF) and row.content_type == "application/pdf"
    assert (web_services.uploads.root() / STRAY).is_file()                  # reported, never deleted
    page = login("office").get(f"/instances/{instance_id}").get_data(as_text=True)
    assert f'href="/files/{LEGACY}"' in page and "文件已不存在" not in page
    with client.get(f"/files/{LEGACY}") as download:
        assert download.status_code == 200 and download.data == SMALL_PDF
    outsider = next(f"m{n:03d}" for n in range(100, 230) if not _sees(web_services, f"m{n:03d}", instance_id))
    assert login(outsider).get(f"/files/{LEGACY}").status_code == 403
    assert login("office").get(f"/files/{STRAY}").status_code == 404      # no record: not served
    web_services.sweep()
    assert [r.id for r in rows(web_services)] == [LEGACY]                 # attached: the sweep keeps it
    again = legacy_uploads.adopt(web_services.uploads)
    assert again.adopted == () and again.unreferenced == (STRAY,)


def _sees(services, username: str, instance_id: int) -> bool:
    user = services.accounts.user(username)
    with services.engine.reading() as session:
        return policy.can_view_instance(session, user, instance_id)


def test_a_file_only_the_instance_state_names_is_adopted_for_the_instance_starter(web_engine, web_services,
                                                                                  legacy_case):
    from sqlalchemy import delete

    from engine.store.submissions import TaskSubmission

    instance_id, _ = legacy_case
    with web_engine.unit_of_work() as session:       # as an instance whose forms were never recorded
        session.execute(delete(TaskSubmission))
    report = legacy_uploads.adopt(web_services.uploads)
    assert [(a.reference, a.instance_id, a.owner, a.task_id) for a in report.adopted] == \
        [(LEGACY, instance_id, "m001", None)]
