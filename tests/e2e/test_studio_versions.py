"""The studio's versions pages in a browser, on a desktop and a phone: the version list, a diff, a migration
preview with a movable and a blocked instance, and the move."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_walkthrough import sign_in
from tests.processes.test_migration import _variant, with_archive

SLOWER_WAIT = ('<bpmn:timeDuration>"P2D"</bpmn:timeDuration>', '<bpmn:timeDuration>"P3D"</bpmn:timeDuration>')


@pytest.fixture
def mini_versions(live_server, tmp_path) -> dict:
    """mini v1 with two instances at review and one waiting on its timer; v2 adds `archive` and waits longer."""
    engine = live_server.engine
    if not engine.process_versions("mini"):
        engine.deploy([_variant(tmp_path, "v1")], actor="owner", note="第一版")
        for title in ("路灯", "井盖"):        # these two wait at review
            engine.start_instance("mini", {"title": title, "count": 1}, actor="m001")
        waiting = engine.start_instance("mini", {"title": "护栏", "count": 1}, actor="m001")
        [review] = engine.list_tasks(instance_id=waiting)
        engine.complete_task(review.id, {"approved": True}, actor=review.candidates[0])
        v2 = with_archive(tmp_path)
        bpmn = v2 / "mini.bpmn"
        bpmn.write_text(bpmn.read_text(encoding="utf-8").replace(*SLOWER_WAIT), encoding="utf-8")
        engine.deploy([v2], actor="owner", note="确认后加归档；等待延长到三天")
    rows = engine.process_versions("mini")
    return {"old": rows[-1].number, "new": rows[0].number}


@pytest.mark.parametrize("walk", ["phone", "desktop"], indirect=True)
def test_versions_diff_and_migration_preview(walk, mini_versions):
    page = walk.open("owner")
    sign_in(page, "owner")
    page.goto("/studio/processes")
    section = page.locator("#process-mini")
    assert section.locator("tr.version").count() == 2
    assert "确认后加归档" in section.locator("tr.version").first.inner_text()
    walk.shot("studio-versions")
    page.goto(f"/studio/processes/mini/versions/{mini_versions['old']}/diff/{mini_versions['new']}")
    assert "archive" in page.locator("tr.added").first.inner_text()
    assert page.locator("tr.changed", has_text="wait").count() == 1
    walk.shot("studio-diff")
    page.goto(f"/studio/processes/mini/migrate?from={mini_versions['old']}&to={mini_versions['new']}")
    assert "「等待」(wait)" in page.locator("tr.blocked").inner_text()
    expect(page.locator("tr.movable")).to_have_count(2)
    walk.shot("studio-migrate-preview")
    if walk.device == "desktop":        # the phone, first, only looks
        page.click("button.primary")
        expect(page.locator("tr.moved")).to_have_count(2)
        walk.shot("studio-migrate-result")
