"""In the browser: the instance page shows the /track progress bar and its status in words (a late step says so), and
the diagram's zoom in / zoom out / fit / current-step buttons work by mouse and keyboard; screenshots on desktop and
phone (also copied to $XIESHANG_SHOTS/instance)."""

from __future__ import annotations

import copy
import shutil
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from engine.store.models import HumanTask
from tests.e2e.conftest import shots
from tests.e2e.test_walkthrough import as_person
from tests.e2e.test_walkthrough_casefile import advance_to
from tests.support.consultation import SCENARIOS

SHOTS = shots("instance")
CANVAS = "document.getElementById('diagram').__xieshangDiagramViewer.get('canvas')"
# Whether the shape with this id lies wholly inside the visible part of the diagram.
IN_VIEW = """id => { const v = document.getElementById('diagram').__xieshangDiagramViewer;
    const s = v.get('elementRegistry').get(id), b = v.get('canvas').viewbox();
    return s.x >= b.x && s.y >= b.y && s.x + s.width <= b.x + b.width && s.y + s.height <= b.y + b.height; }"""


def zoom(page) -> float:
    return page.evaluate(f"{CANVAS}.zoom()")


def keep(walk, label: str) -> None:
    path = walk.shot(label)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / f"{walk.device}-{label}.png")


@pytest.mark.parametrize("walk", ["desktop", "phone"], indirect=True)
def test_the_instance_page_progress_status_and_diagram_controls(walk):
    engine, clock = walk.server.engine, walk.server.clock
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = engine.start_instance("consultation", scenario.intake(), actor="m001")
    research = advance_to(engine, instance_id, scenario, "research")
    with engine.unit_of_work() as session:            # one researcher is a day late
        session.get(HumanTask, research.id).due_at = clock.now() - timedelta(days=1)

    page = as_person(walk, "office")
    page.goto(f"/instances/{instance_id}")
    status = page.locator("#instance-status")
    expect(status).to_contain_text("办理中")
    expect(status).to_contain_text("第 3 步 充分调查研究")
    expect(status).to_contain_text("已超期")
    steps = page.locator(".instance-progress li")
    expect(steps).to_have_count(7)
    expect(steps.nth(0)).to_contain_text("受理分流")
    expect(steps.nth(0)).to_contain_text("已完成")
    expect(steps.nth(2)).to_contain_text("已完成")
    expect(steps.nth(3)).to_contain_text("第 3 步 · 充分调查研究")
    expect(steps.nth(3)).to_contain_text("进行中 · 已超期")
    expect(steps.nth(3)).to_have_attribute("aria-current", "step")
    expect(steps.nth(4)).to_contain_text("未开始")
    expect(page.locator(".diagram-status")).to_contain_text("已超期")

    tools = page.get_by_role("toolbar", name="流程图操作")
    expect(tools).to_be_visible()
    page.wait_for_function(f"{CANVAS} !== undefined")
    if walk.phone:      # a phone opens on the current step
        assert page.evaluate(IN_VIEW, "research")
    keep(walk, "instance")

    start = zoom(page)
    zoom_in = tools.get_by_role("button", name="放大")
    zoom_in.focus()
    page.keyboard.press("Enter")
    assert zoom(page) == pytest.approx(start * 1.25, rel=0.01)
    tools.get_by_role("button", name="缩小").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Space")
    assert zoom(page) == pytest.approx(start * 1.25 * 0.8 * 0.8, rel=0.01)
    expect(tools.locator("[aria-live]")).to_contain_text("流程图缩放：")

    tools.get_by_role("button", name="适合窗口").click()
    fitted = zoom(page)
    assert not page.evaluate(IN_VIEW, "research") or fitted < 1.0     # the whole diagram, small
    page.locator("#diagram").focus()
    page.keyboard.press("+")
    assert zoom(page) == pytest.approx(fitted * 1.25, rel=0.01)
    page.keyboard.press("0")
    assert zoom(page) == pytest.approx(fitted, rel=0.01)

    current = tools.get_by_role("button", name="当前步骤")
    current.focus()
    page.keyboard.press("Enter")
    assert page.evaluate(IN_VIEW, "research") and zoom(page) > fitted
    expect(page.locator("#diagram")).to_be_in_viewport()
    page.locator("#diagram").screenshot(path=str(SHOTS / f"{walk.device}-diagram-current.png"))
