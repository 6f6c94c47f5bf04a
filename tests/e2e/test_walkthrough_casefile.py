"""In the browser: the platform lead approves a plan with the case file in view; a member sees the case without the
proposer's phone, the office sees it; screenshots on desktop and phone (also copied to $XIESHANG_SHOTS/casefile)."""

from __future__ import annotations

import copy
import shutil

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import shots
from tests.e2e.test_walkthrough import as_person
from tests.support.consultation import SCENARIOS

PHONE = "13800001234"
SHOTS = shots("casefile")


def advance_to(engine, instance_id: int, scenario, spec: str):
    """Complete tasks through the engine as the scenario answers them until a `spec` task is ready; returns it."""
    for _ in range(100):
        task = engine.list_tasks(instance_id=instance_id)[0]
        if task.task_spec == spec:
            return task
        data = scenario.answer(task.task_spec, engine.show_instance(instance_id).data)
        engine.complete_task(task.id, data, actor=task.candidates[0], revision=task.revision)
    raise AssertionError(f"never reached {spec}")


def keep(walk, label: str) -> None:
    """A screenshot in the walk's folder, a copy under SHOTS named by device and label, and the case file alone."""
    path = walk.shot(label)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / f"{walk.device}-{label}.png")
    walk.page.locator(".casefile").screenshot(path=str(SHOTS / f"{walk.device}-{label}-casefile.png"))


@pytest.mark.parametrize("walk", ["desktop", "phone"], indirect=True)
def test_the_case_file_in_the_browser(walk):
    """The approval page shows the plan the organizer submitted; the phone number only to the office."""
    engine = walk.server.engine
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = engine.start_instance("consultation", scenario.intake(), actor="m001")
    review = advance_to(engine, instance_id, scenario, "review_plan")

    page = as_person(walk, "lead_xunchang")
    page.goto(f"/tasks/{review.id}")
    newest = page.locator("details.case-step[open]")
    expect(newest).to_have_count(1)
    expect(newest).to_contain_text("摸清照明缺口，提出改造方案")
    expect(newest).to_contain_text("路灯损坏数量、维护责任、资金来源")
    expect(page.locator(".casefile")).not_to_contain_text(PHONE)
    keep(walk, "review_plan")
    page.locator("details.case-step summary").first.click()        # the intake, opened by hand
    expect(page.locator("details.case-step").first).to_contain_text("老街路灯长期损坏，夜间出行不便。")

    page = as_person(walk, "m014")
    page.goto(f"/instances/{instance_id}")
    page.locator("details.case-step summary").first.click()
    intake = page.locator("details.case-step").first
    expect(intake).to_contain_text("老街路灯长期损坏，夜间出行不便。")
    expect(intake.locator(".withheld")).to_be_visible()
    assert PHONE not in page.content()
    keep(walk, "instance-member")

    page = as_person(walk, "office")
    page.goto(f"/instances/{instance_id}")
    page.locator("details.case-step summary").first.click()
    expect(page.locator("details.case-step").first).to_contain_text(PHONE)
    keep(walk, "instance-office")

    engine.complete_task(review.id, scenario.answer("review_plan", {}), actor="lead_xunchang")
    report = advance_to(engine, instance_id, scenario, "approve_report")
    page = as_person(walk, "lead_xunchang")
    page.goto(f"/tasks/{report.id}")
    newest = page.locator("details.case-step[open]")
    expect(newest).to_contain_text("关于老街夜间照明的协商报告")
    page.locator("details.case-step", has_text="增设老街路灯 20 盏").locator("summary").click()
    meeting = page.locator("details.case-step", has_text="增设老街路灯 20 盏")
    expect(meeting.locator("table.case-table", has_text="增设老街路灯 20 盏")).to_contain_text("优化夜间公交班次")
    expect(meeting.locator("table.case-table", has_text="张桂芳")).to_contain_text("群众代表")   # residents, by name
    keep(walk, "approve_report")
