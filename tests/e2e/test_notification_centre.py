"""The notification centre in Chromium, on a desktop and on a phone: a notice of a task someone else finished shows
as done (已办结) with no "go" button, pages go back through plain links with scripts switched off, and more than 99
unread shows as 99+. Screenshots also go to $XIESHANG_SHOTS/notifications (else the temporary folder)."""

from __future__ import annotations

import copy
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from domain.notifications import dispatch as notify
from domain.notifications.models import Notification
from engine.settings import NotificationSettings
from tests.e2e.conftest import DEVICES, shots
from tests.e2e.test_walkthrough import PASSWORD, as_person
from tests.support.consultation import SCENARIOS

pytestmark = pytest.mark.e2e
SHOTS = shots("notifications")


def keep(walk, path: Path) -> None:
    """Copy a screenshot to the shared folder, named by device."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / f"{walk.device}-{path.name}")


@pytest.mark.parametrize("walk", ["desktop", "phone"], indirect=True)
def test_done_notices_paging_and_capped_counts(walk):
    engine, clock = walk.server.engine, walk.server.clock
    scenario = copy.deepcopy(SCENARIOS["township"])
    scenario.name = f"通知{walk.device}"
    instance_id = engine.start_instance("consultation", scenario.intake(), actor="m001")
    notify.deliver_due(engine, clock.now(), 1000, NotificationSettings())
    [triage] = engine.list_tasks(instance_id=instance_id)
    try:
        page = as_person(walk, "office2")
        page.goto("/notifications")
        mine = page.locator("ul.notices li", has_text=scenario.name).first
        expect(mine.get_by_role("link", name="去办理")).to_be_visible()
        keep(walk, walk.shot("notice-open"))
        engine.complete_task(triage.id, scenario.answer("triage", engine.show_instance(instance_id).data), "office")
        page.reload()
        mine = page.locator("ul.notices li", has_text=scenario.name).first
        expect(mine).to_contain_text("已办结")
        expect(mine).to_contain_text("该任务已办结，无需处理。")
        expect(mine.get_by_role("link", name="去办理")).to_have_count(0)
        keep(walk, walk.shot("notice-done"))
    finally:
        engine.cancel_instance(instance_id, "admin", "端到端测试结束")      # leaves no task in anyone's inbox

    user = "m019" if walk.phone else "m020"
    start = clock.now()
    with engine.unit_of_work() as session:
        session.add_all(Notification(idempotency_key=f"e2e:{user}:{i}", username=user, kind="result", level=0,
                                     title=f"测试通知第{i:03d}条", body="协商成果已公开。",
                                     created_at=start + timedelta(minutes=i)) for i in range(130))
    context = walk.browser.new_context(base_url=walk.server.url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                       java_script_enabled=False, **DEVICES[walk.device])
    try:
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("用户名").fill(user)
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录", exact=True).click()
        page.goto("/notifications")
        expect(page.locator(".bell-count")).to_have_text("99+")
        expect(page.locator("ul.notices > li")).to_have_count(20)
        expect(page.locator("ul.notices > li").first).to_contain_text("测试通知第129条")
        walk.page, walk.user = page, f"{user}-nojs"
        keep(walk, walk.shot("centre-first-page"))
        page.get_by_role("link", name="更早的通知").click()
        expect(page.locator("ul.notices > li").first).to_contain_text("测试通知第109条")
        expect(page.get_by_role("link", name="回到最新")).to_be_visible()
        keep(walk, walk.shot("centre-older-page"))
        for _ in range(5):
            page.get_by_role("link", name="更早的通知").click()
        expect(page.locator("ul.notices > li")).to_have_count(10)
        expect(page.locator("ul.notices > li").last).to_contain_text("测试通知第000条")
        expect(page.get_by_role("link", name="更早的通知")).to_have_count(0)
        keep(walk, walk.shot("centre-last-page"))
    finally:
        walk.page = None
        context.close()
