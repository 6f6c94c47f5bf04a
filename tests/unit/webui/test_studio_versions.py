"""The studio's versions pages: list, diff, migration preview and move; process owners and admins only."""

from __future__ import annotations

import re

import pytest

from tests.processes.test_migration import _variant, with_archive
from tests.unit.webui.conftest import csrf_of


@pytest.fixture
def two_versions(web_engine, tmp_path):
    """mini v2 (confirm in the county) and v3 (+ archive), one instance left on v2 at review, one on v3."""
    web_engine.deploy([_variant(tmp_path, "v1")], actor="owner", note="确认改由县里办理")
    waiting = web_engine.start_instance("mini", {"title": "路灯", "count": 1}, actor="m001")
    web_engine.deploy([with_archive(tmp_path)], actor="owner", note="确认后加归档")
    return waiting


def test_only_process_owners_and_admins_reach_the_studio(client, login, two_versions):
    assert client.get("/studio/processes").status_code == 302
    login("office")
    assert client.get("/studio/processes").status_code == 403
    assert client.get("/studio/processes/mini/migrate?from=2&to=3").status_code == 403
    assert client.get("/studio").status_code == 403
    assert "流程工作室" not in client.get("/").get_data(as_text=True)
    login("owner")
    page = client.get("/studio/processes").get_data(as_text=True)
    assert 'href="/studio/processes">流程工作室</a>' in page
    for typed in ("/studio", "/studio/"):         # the studio's own address, typed: its first page
        assert client.get(typed).headers["Location"] == "/studio/processes"


def test_the_list_shows_each_version_with_its_note_and_open_instances(client, login, two_versions):
    login("owner")
    page = client.get("/studio/processes").get_data(as_text=True)
    mini = page[page.index('id="process-mini"'):]
    rows = re.findall(r'<tr class="version">(.*?)</tr>', mini, re.S)
    assert [re.search(r"<strong>v(\d+)</strong>", r).group(1) for r in rows[:3]] == ["3", "2", "1"]
    assert "确认后加归档" in rows[0] and "最新" in rows[0] and "确认改由县里办理" in rows[1]
    assert re.search(r'data-label="在办事项">1</td>', rows[1]) and re.search(r'data-label="在办事项">0</td>', rows[0])
    assert "/studio/processes/mini/versions/2/diff/3" in rows[0]
    assert "/studio/processes/mini/migrate?from=2&amp;to=3" in rows[1]


def test_the_diff_page_lists_added_and_changed_elements(client, login, two_versions):
    login("admin")
    page = client.get("/studio/processes/mini/versions/2/diff/3").get_data(as_text=True)
    added = re.findall(r'<tr class="added">(.*?)</tr>', page, re.S)
    assert any("<code>archive</code>" in row and "归档" in row for row in added)
    changed = re.findall(r'<tr class="changed">(.*?)</tr>', page, re.S)
    assert any("<code>end_ok</code>" in row and "来路" in row for row in changed)
    assert "<code>mini.bpmn</code>" in page
    assert client.get("/studio/processes/mini/versions/2/diff/9").status_code == 404


def test_preview_then_move_then_back(client, login, two_versions, web_engine):
    login("owner")
    page = client.get("/studio/processes/mini/migrate?from=2&to=3").get_data(as_text=True)
    [row] = re.findall(r'<tr class="movable">(.*?)</tr>', page, re.S)
    assert f"#{two_versions}" in row and "可以迁移" in row
    form = {"csrf_token": csrf_of(page), "from": "2", "to": "3", "instance": str(two_versions),
            f"revision_{two_versions}": re.search(r'name="revision_\d+" value="(\d+)"', page).group(1)}
    done = client.post("/studio/processes/mini/migrate", data=form).get_data(as_text=True)
    assert re.search(rf'<tr class="moved">\s*<td>#{two_versions}</td>', done) and "已迁移 1 个，未迁移 0 个。" in done
    assert "/studio/processes/mini/migrate?from=3&amp;to=2" in done
    stale = client.post("/studio/processes/mini/migrate", data=form).get_data(as_text=True)
    assert "未迁移" in stale and "not-moved" in stale           # already moved: refused with its reason
    back = client.get("/studio/processes/mini/migrate?from=3&to=2").get_data(as_text=True)
    assert re.findall(r'<tr class="movable">', back)
    assert [e.kind for e in web_engine.show_instance(two_versions).events].count("instance_migrated") == 1
    assert "迁移版本" in client.get(f"/instances/{two_versions}").get_data(as_text=True)


def test_a_blocked_instance_shows_its_reason(client, login, web_engine, tmp_path):
    web_engine.deploy([_variant(tmp_path, "v1")], actor="owner")
    instance_id = web_engine.start_instance("mini", {"title": "路灯", "count": 1}, actor="m001")
    web_engine.deploy([_variant(tmp_path, "renamed", ('name="审核"', 'name="初审"'))], actor="owner")
    login("owner")
    page = client.get("/studio/processes/mini/migrate?from=2&to=3").get_data(as_text=True)
    [row] = re.findall(r'<tr class="blocked">(.*?)</tr>', page, re.S)
    assert f"#{instance_id}" in row and "不能迁移" in row and "「审核」(review)待办理" in row
    assert 'name="instance"' not in row and "迁移所选事项" not in page


@pytest.mark.parametrize("query", ["from=x&to=3", "from=2&to=2", "from=-1&to=3"])
def test_bad_version_numbers_get_a_message(client, login, two_versions, query):
    login("owner")
    response = client.get(f"/studio/processes/mini/migrate?{query}")
    assert response.status_code == 400
    assert 'role="alert"' in response.get_data(as_text=True)


def test_a_move_without_a_chosen_instance_is_refused_with_a_message(client, login, two_versions):
    login("owner")
    page = client.get("/studio/processes/mini/migrate?from=2&to=3").get_data(as_text=True)
    response = client.post("/studio/processes/mini/migrate", data={"csrf_token": csrf_of(page), "from": "2", "to": "3"})
    assert response.status_code == 400 and "请至少选择一个可迁移的事项。" in response.get_data(as_text=True)


def test_the_pages_in_english(client, login, two_versions):
    login("owner")
    page = client.get("/studio/processes?lang=en").get_data(as_text=True)
    assert "Processes and versions" in page and "Open instances" in page and "流程与版本" not in page
    page = client.get("/studio/processes/mini/migrate?from=2&to=3&lang=en").get_data(as_text=True)
    assert "Can move" in page and "Move the chosen instances to v3" in page


def test_the_list_leads_to_each_editor_and_shows_drafts_and_new_processes(client, login, web_engine, two_versions):
    login("owner")
    page = client.get("/studio/processes").get_data(as_text=True)
    assert 'href="/studio/new"' in page and 'href="/studio/processes/mini/edit"' in page
    assert 'href="/studio/processes/mini/forms"' in page and 'href="/studio/processes/mini/decisions"' in page
    assert "草稿" not in page
    draft = web_engine.draft("mini", actor="owner")
    web_engine.save_draft_file("mini", "forms/extra.schema.json", '{"type": "object"}', "owner", draft.revision)
    web_engine.create_process("site_visit", "视察", "owner")
    page = client.get("/studio/processes").get_data(as_text=True)
    assert "第 2 次保存，owner 于" in page
    assert "新流程，尚未部署" in page and 'href="/studio/processes/site_visit/edit"' in page
