"""The overdue board in Chromium, on a desktop and on a 390-px phone: real consultations left late (a township's plan,
a committee's research, a county topic's department answers), the matrix, the list behind a cell, a township
supervisor's narrower view, and 催办 from a row. Screenshots also go to $XIESHANG_SHOTS/board (else the temporary
folder)."""

from __future__ import annotations

import copy
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from engine.sweep import run_sweep
from tests.e2e.conftest import shots
from tests.e2e.test_walkthrough import as_person
from tests.support.consultation import SCENARIOS, advance

pytestmark = pytest.mark.e2e
SHOTS = shots("board")
LATE = (("township", "draft_plan"), ("committee", "research"), ("county", "answer_suggestion"),
        ("village_not_adopted", "hold_meeting"))


def keep(walk, path: Path) -> None:
    """Copy a screenshot to the shared folder, named by device."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / f"{walk.device}-{path.name}")


@pytest.mark.parametrize("walk", ["desktop", "phone"], indirect=True)
def test_board_list_and_urge(walk):
    engine, clock = walk.server.engine, walk.server.clock
    began = clock.now()
    try:
        for key, stop in LATE:
            scenario = copy.deepcopy(SCENARIOS[key])
            scenario.name = f"督办{walk.device}{key}"
            instance_id = engine.start_instance("consultation", scenario.intake(), actor="m001")
            advance(engine, instance_id, scenario, stop_before=stop)
        clock.set(clock.now() + timedelta(days=40 if walk.device == "desktop" else 42))    # each walk urges afresh
        run_sweep(engine)                                          # deadlines escalate what is late
        page = as_person(walk, "office")
        page.goto("/board")
        expect(page.locator("h1")).to_have_text("督办看板")
        expect(page.locator(".cards .stat.late b")).not_to_have_text("0")
        keep(walk, walk.shot("board"))
        page.locator("table.board-matrix tr", has_text="巡场镇").locator("a.badge.late").click()
        expect(page.locator("h1")).to_contain_text("超期任务清单")
        expect(page.locator("table.board-list tbody tr").first).to_contain_text("个工作日")
        keep(walk, walk.shot("list-xunchang"))
        page.goto("/board/tasks?state=overdue")
        keep(walk, walk.shot("list-all"))
        page = as_person(walk, "supervisor_xunchang")
        page.goto("/board")
        expect(page.locator("table.board-matrix")).not_to_contain_text(["罗渡"])
        keep(walk, walk.shot("board-township"))
        page.goto("/board/tasks?state=overdue")
        row = page.locator("table.board-list tbody tr").first
        row.locator("details.urge summary").click()
        row.locator("input[name=note]").fill("请本周内完成")
        row.locator("details.urge button").click()
        expect(page.locator(".flash")).to_contain_text("已催办")
        keep(walk, walk.shot("urged"))
        row = page.locator("table.board-list tbody tr").first
        row.locator("details.urge summary").click()
        row.locator("details.urge button").click()
        expect(page.locator(".flash")).to_contain_text("催办过")
    finally:
        clock.set(began)
