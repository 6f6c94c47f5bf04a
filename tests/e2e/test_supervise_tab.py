"""A township supervisor's inbox in Chromium, on a desktop and on a 390-px phone: the 督办 tab lists the late and
escalated tasks of their township only (a county topic and a committee's research left late are not theirs), 催办
from a row, and the escalation notice's 催办 / 查看. Screenshots also go to $XIESHANG_SHOTS/supervise."""

from __future__ import annotations

import copy
import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from domain.notifications import dispatch as notify
from engine.settings import NotificationSettings
from engine.sweep import run_sweep
from tests.e2e.conftest import shots
from tests.e2e.test_walkthrough import as_person
from tests.support.consultation import SCENARIOS, advance

pytestmark = pytest.mark.e2e
SHOTS = shots("supervise")
LATE = (("township", "draft_plan"), ("committee", "research"), ("county", "define_topic"))


def keep(walk, path: Path) -> None:
    """Copy a screenshot to the notes folder, named by device."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / f"{walk.device}-{path.name}")


@pytest.mark.parametrize("walk", ["desktop", "phone"], indirect=True)
def test_the_supervision_tab_and_the_escalation_notice(walk):
    engine, clock = walk.server.engine, walk.server.clock
    began = clock.now()
    try:
        for key, stop in LATE:
            scenario = copy.deepcopy(SCENARIOS[key])
            instance_id = engine.start_instance("consultation", scenario.intake(), actor="m001")
            advance(engine, instance_id, scenario, stop_before=stop)
        clock.set(clock.now() + timedelta(days=50 if walk.device == "desktop" else 52))     # each walk urges afresh
        run_sweep(engine)                                          # deadlines escalate what is late, and notify
        notify.deliver_due(engine, clock.now(), 1000, NotificationSettings())      # as the worker would
        page = as_person(walk, "supervisor_xunchang")
        page.goto("/inbox")
        tab = page.locator("nav.tabs a", has_text="督办")
        expect(tab.locator(".count")).not_to_have_text("0")
        tab.click()
        rows = page.locator("table.supervise tbody tr")
        expect(rows.first).to_contain_text("个工作日")
        holders = page.locator("table.supervise td.holder").all_inner_texts()
        # 巡场镇's own tasks, and tasks of 巡场镇's cases held at the county (e.g. the office's triage, left by other
        # tests on this shared server) — no other township's and no committee's
        assert any("巡场镇" in holder for holder in holders), holders
        assert all("巡场镇" in holder or holder.startswith("珙县政协·") for holder in holders), holders
        expect(page.locator("a", has_text="打开督办看板")).to_have_attribute("href", "/board")
        keep(walk, walk.shot("supervise-tab"))
        row = rows.filter(has_text="0 次").first
        row.locator("details.urge summary").click()
        row.locator("input[name=note]").fill("请本周内完成")
        keep(walk, walk.shot("supervise-urge-open"))
        row.locator("details.urge button").click()
        expect(page.locator(".flash")).to_contain_text("已催办")
        expect(page).to_have_url(re.compile(r"tab=supervise"))
        keep(walk, walk.shot("supervise-urged"))
        page.goto("/notifications")
        notice = page.locator("ul.notices li", has=page.locator("button", has_text="催办")).first
        expect(notice).to_contain_text("逾期督办")
        expect(notice.locator("a", has_text="查看")).to_be_visible()
        keep(walk, walk.shot("notice-actions"))
    finally:
        clock.set(began)
