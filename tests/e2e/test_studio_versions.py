"""The studio's versions pages in a browser, on a phone and a desktop: the version list, a diff, a migration
preview with a movable and a blocked instance, and the move. On a server of its own, so that its instances and
their timers never meet the other walks."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from domain.consultation.demo import load_demo
from domain.services import Services
from engine.clock import FrozenClock
from engine.settings import Settings
from engine.store import db
from tests.conftest import ROOT
from tests.e2e.conftest import FIRST_DAY, OUTPUT, LiveServer, Walk
from tests.e2e.test_walkthrough import sign_in
from tests.processes.test_migration import _variant, with_archive
from webui import create_app

SLOWER_WAIT = ('<bpmn:timeDuration>"P2D"</bpmn:timeDuration>', '<bpmn:timeDuration>"P3D"</bpmn:timeDuration>')


@pytest.fixture(scope="module")
def studio_server(tmp_path_factory) -> Iterator[LiveServer]:
    """mini v1 with two instances at review and one waiting on its timer; v2 adds `archive` and waits longer."""
    folder = tmp_path_factory.mktemp("studio")
    url = f"sqlite:///{folder / 'xieshang.db'}"
    db.upgrade(url)
    clock = FrozenClock(FIRST_DAY)
    services = Services.from_url(url, clock)
    engine = services.engine
    with engine.unit_of_work() as session:
        load_demo(session, clock.now())
    engine.deploy([_variant(folder, "v1")], actor="owner", note="第一版")
    for title in ("路灯", "井盖"):        # these two wait at review
        engine.start_instance("mini", {"title": title, "count": 1}, actor="m001")
    waiting = engine.start_instance("mini", {"title": "护栏", "count": 1}, actor="m001")
    [review] = engine.list_tasks(instance_id=waiting)
    engine.complete_task(review.id, {"approved": True}, actor=review.candidates[0])
    v2 = with_archive(folder)
    bpmn = v2 / "mini.bpmn"
    bpmn.write_text(bpmn.read_text(encoding="utf-8").replace(*SLOWER_WAIT), encoding="utf-8")
    engine.deploy([v2], actor="owner", note="确认后加归档；等待延长到三天")
    app = create_app({"SETTINGS": Settings(url, None, folder, ROOT / "processes"), "SERVICES": services,
                      "SECRET_KEY": "e2e-studio"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-studio-server", daemon=True)
    thread.start()
    yield LiveServer(f"http://127.0.0.1:{server.server_port}", engine, clock)
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)
    services.close()


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_versions_diff_and_migration_preview(browser, studio_server, device):
    folder = OUTPUT / "studio" / device
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    walk = Walk(browser, studio_server, device, folder)
    page = walk.open("owner")
    try:
        sign_in(page, "owner")
        page.goto("/studio/processes")
        rows = page.locator("#process-mini tr.version")
        expect(rows).to_have_count(2)
        assert "确认后加归档" in rows.first.inner_text()
        walk.shot("studio-versions")
        page.goto("/studio/processes/mini/versions/1/diff/2")
        assert "archive" in page.locator("tr.added").first.inner_text()
        expect(page.locator("tr.changed", has_text="wait")).to_have_count(1)
        walk.shot("studio-diff")
        page.goto("/studio/processes/mini/migrate?from=1&to=2")
        assert "「等待」(wait)" in page.locator("tr.blocked").inner_text()
        expect(page.locator("tr.movable")).to_have_count(2)
        walk.shot("studio-migrate-preview")
        if device == "desktop":        # the phone, first, only looks
            page.click("button.primary")
            expect(page.locator("tr.moved")).to_have_count(2)
            walk.shot("studio-migrate-result")
    finally:
        walk.close()
