"""In the browser, on desktop and phone: the office reads the year's plans, a plan with its items and where their
consultations stand, the approval list and the plan completion on the figures page; a township organizer adds an
item and a bad one keeps its input. Screenshots also copied to $XIESHANG_SHOTS/plans."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from domain.plans import demo
from domain.plans.models import PlanItem
from domain.plans.service import ItemInput, Plans
from domain.plans.start import person, start_data
from tests.e2e.conftest import shots
from tests.e2e.test_walkthrough import as_person

SHOTS = shots("plans")


@pytest.fixture(scope="module")
def plans(live_server):
    """The demo plans for 2026, one consultation started from the county's first item, the social committee's plan
    submitted (once for both devices)."""
    engine = live_server.engine
    services = SimpleNamespace(engine=engine, plans=Plans(engine.unit_of_work, engine.reading, engine.clock))
    demo.load_plans(services, engine.clock.now())
    with engine.reading() as session:
        organizer = person(session, "organizer_committee_social")
        first = session.scalar(select(PlanItem.id).where(PlanItem.title == "老旧小区改造提速"))
        data = start_data(session, first, "县城老旧小区改造进度慢", "老旧小区改造进度慢，群众反映强烈",
                          "infrastructure")
    social = services.plans.open_plan(organizer, 2026, "committee_social")
    services.plans.add_item(organizer, social, ItemInput("基层矛盾纠纷多元化解", "", "", "", "m010", "6"))
    services.plans.submit(organizer, social)
    engine.start_instance("consultation", data, "organizer_county")
    return services


def keep(walk, label: str) -> None:
    path = walk.shot(label)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / f"{walk.device}-{label}.png")


@pytest.mark.parametrize("walk", ["desktop", "phone"], indirect=True)
def test_plans_in_the_browser(walk, plans):
    page = as_person(walk, "office")
    page.goto("/plans?year=2026")
    expect(page.get_by_role("heading", name="年度协商计划 · 2026")).to_be_visible()
    expect(page.get_by_text("退回理由：请为每个议题明确牵头委员")).to_be_visible()
    keep(walk, "plans-list")
    page.get_by_role("link", name="珙县政协", exact=True).click()
    expect(page.get_by_text("老旧小区改造提速")).to_be_visible()
    expect(page.get_by_text("受理中")).to_be_visible()                 # the consultation started from the item
    keep(walk, "plan-county")
    page.goto("/plans/review")
    expect(page.get_by_text("社会和法制委员会")).to_be_visible()
    keep(walk, "review")
    page.get_by_role("link", name="审阅并审批").first.click()
    expect(page.get_by_role("button", name="批准")).to_be_visible()
    keep(walk, "decision")
    page.goto("/figures?period=2026")
    expect(page.get_by_role("heading", name="年度计划完成情况")).to_be_visible()
    keep(walk, "figures-completion")
    page = as_person(walk, "organizer_xiaoer")
    page.goto("/plans?year=2026")
    page.get_by_role("link", name="孝儿镇").click()
    page.get_by_label("议题名称 *").fill("集镇停车秩序")
    page.get_by_role("button", name="添加", exact=True).click()
    expect(page.get_by_text("请选择计划月份（1–12 月）")).to_be_visible()
    expect(page.get_by_label("议题名称 *")).to_have_value("集镇停车秩序")
    keep(walk, "plan-bad-item")
