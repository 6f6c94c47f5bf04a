"""In the browser: the suggestion ledger on consultations run through the engine — the office sees every suggestion
with its re-routing, answers, overdue promise and the way to the open task; a department sees its own; on a phone the
table stacks into cards and never scrolls sideways; screenshots to $XIESHANG_SHOTS/ledger (desktop and phone)."""

from __future__ import annotations

import copy
import shutil
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import shots
from tests.e2e.test_walkthrough import as_person
from tests.support.consultation import SCENARIOS, advance, run_through_engine

SHOTS = shots("ledger")


def keep(walk, label: str) -> None:
    path = walk.shot(label)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / f"{walk.device}-{label}.png")


@pytest.fixture(scope="module")
def ledger_cases(live_server):
    """A re-routed consultation run to the end, and one whose unsatisfied suggestion is being answered again."""
    engine = live_server.engine
    rerouted, _done = run_through_engine(engine, copy.deepcopy(SCENARIOS["rerouted"]))
    scenario = copy.deepcopy(SCENARIOS["mixed_follow_up"])
    mixed = engine.start_instance("consultation", scenario.intake(), actor="m001")
    advance(engine, mixed, scenario, "reanswer_suggestion")
    return rerouted, mixed


@pytest.mark.parametrize("walk", ["desktop", "phone"], indirect=True)
def test_the_ledger_for_the_office_and_a_department(walk, ledger_cases):
    rerouted, mixed = ledger_cases
    clock = walk.server.clock
    before = clock.now()
    clock.set(max(before, datetime(2026, 10, 8, 2, 0, tzinfo=UTC)))     # past the promised 2026-09-30
    try:
        page = as_person(walk, "office")
        page.goto("/ledger?period=2026&sort=promised&dir=asc")
        rows = page.locator("tr.ledger-row")
        expect(rows.filter(has_text="老街电网改造")).to_contain_text("改派自：县住房和城乡建设局")
        late = rows.filter(has_text="优化夜间公交班次").filter(has_text="督办中")
        expect(late).to_contain_text("逾期未办结")
        expect(late.get_by_role("link", name="去催办")).to_be_visible()
        keep(walk, "office")
        if walk.phone:      # stacked: the row's cells sit one under another, labelled, inside the screen
            box = late.locator("td").nth(1).bounding_box()
            first = late.locator("td").nth(0).bounding_box()
            assert box["y"] > first["y"] and box["x"] + box["width"] <= 391
        late.get_by_role("link", name="去催办").click()
        expect(page).to_have_url(__import__("re").compile(r"/tasks/"))
        page = as_person(walk, "liaison_transport")
        page.goto("/ledger")
        expect(page.locator("tr.ledger-row").first).to_contain_text("县交通运输局")
        expect(page.get_by_role("link", name="去答复").first).to_be_visible()
        assert "县住房和城乡建设局" not in page.locator("table.ledger").inner_text()
        keep(walk, "department")
        assert rerouted and mixed
    finally:
        clock.set(before)
