"""Pickers, not codes, as people use them in Chromium: the office picks the receiving unit from the org-unit tree
(narrowed by the tier it chose), the organizer picks a hall and researchers by name or unit, and records who came to
the meeting — members, department staff and residents — which the case file then shows by name."""

from __future__ import annotations

import dataclasses
import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_walkthrough import as_person, fill_form, open_task, submit_task
from tests.support.consultation import SCENARIOS

pytestmark = pytest.mark.e2e
CODES = re.compile(r"township_|committee_|sector_|dept_|liaison_|\bm\d{3}\b")


def _advance(engine, instance_id: int, scenario, until: str) -> None:
    """Complete tasks as the scenario answers them, as their people, until `until` is ready."""
    for _ in range(50):
        task = engine.list_tasks(instance_id=instance_id)[0]
        if task.task_spec == until:
            return
        data = scenario.answer(task.task_spec, engine.show_instance(instance_id).data)
        engine.complete_task(task.id, data, actor=task.candidates[0], revision=task.revision)
    raise AssertionError(f"never reached {until}")


def _name_box(page: Page, path: str, text: str):
    """The checkbox of the person whose label contains `text`, in the people list of `path`."""
    return page.locator(f'fieldset.group:has(input[name="{path}"]) label').filter(has_text=text)


def _choose_unit(walk, tier_title: str, unit: str) -> None:
    page = walk.page
    page.get_by_label(tier_title, exact=True).check()
    page.locator('select[name="org_unit"]').select_option(label=unit)


def _triage_from_the_tree(walk, instance_id: int) -> None:
    task = walk.server.engine.list_tasks(instance_id=instance_id)[0]
    walk.server.engine.claim_task(task.id, "office")
    page = as_person(walk, "office")
    task_id = open_task(walk, instance_id, "triage", tabs=("assigned",))
    select = page.locator('select[name="org_unit"]')
    expect(select.locator("option:checked")).to_have_text("巡场镇")          # routing's choice, by name
    groups = select.locator("optgroup")
    expect(groups).to_have_count(4)
    assert [groups.nth(i).get_attribute("label") for i in range(4)] == ["县政协", "专门委员会", "界别小组", "乡镇"]
    assert not CODES.search(select.inner_text()), select.inner_text()
    page.get_by_label("专委会/界别·专事专商", exact=True).check()        # another tier: townships go away
    expect(select).to_have_value("")
    expect(select.locator('option[value="township_xunchang"]')).to_be_disabled()
    expect(select.locator('option[value="committee_agriculture"]')).to_be_enabled()
    walk.shot("triage-committee-tier")
    _choose_unit(walk, "乡镇·众事众商", "巡场镇")
    fill_form(page, {"decision": "accept"})
    walk.shot("triage-tree")
    submit_task(walk, task_id, "triage")


def _plan_with_a_hall(walk, instance_id: int, scenario) -> str:
    page = as_person(walk, "organizer_xunchang")
    task_id = open_task(walk, instance_id, "draft_plan")
    data = scenario.answer("draft_plan", {"org_unit": "township_xunchang"})
    fill_form(page, {k: v for k, v in data.items() if k not in ("venue", "researchers")})
    page.locator('select[name="venue"]').select_option(label="清溪社区珙桐议事室")
    search = page.locator("fieldset.group:has(input[name='researchers']) input.people-filter")
    search.fill("巡场镇 · 市政协委员")                                       # by unit and seat, not by code
    visible = _name_box(page, "researchers", "巡场镇").filter(visible=True)
    expect(visible.first).to_be_visible()
    assert all("巡场镇" in text for text in visible.all_inner_texts())
    walk.shot("draft_plan-filter")
    visible.first.locator("input").check()
    chosen = visible.first.inner_text().split("\n")[0].strip()
    search.fill("")
    walk.shot("draft_plan-picked")
    submit_task(walk, task_id, "draft_plan")
    return chosen


def _meeting_with_everyone(walk, instance_id: int, scenario) -> tuple[str, str]:
    page = as_person(walk, "organizer_xunchang")
    task_id = open_task(walk, instance_id, "hold_meeting")
    data = scenario.answer("hold_meeting", {})
    fill_form(page, {k: data[k] for k in ("meeting_held_on", "minutes", "suggestions")})
    members = page.locator("fieldset.group:has(input[name='attendees']) label")
    members.first.locator("input").check()
    member = members.first.inner_text().split("\n")[0].strip()
    search = page.locator("fieldset.group:has(input[name='department_attendees']) input.people-filter")
    search.fill("住房和城乡建设局")
    staff = _name_box(page, "department_attendees", "住房和城乡建设局").filter(visible=True)
    expect(staff).to_have_count(2)
    staff.first.locator("input").check()
    liaison = staff.first.inner_text().split("\n")[0].strip()
    fill_form(page, {"other_attendees": [{"name": "张桂芳", "identity": "resident"},
                                         {"name": "李德明", "identity": "stakeholder"}]})
    walk.shot("hold_meeting-attendance")
    submit_task(walk, task_id, "hold_meeting")
    return liaison, member


@pytest.mark.parametrize("walk", ["desktop", "phone"], indirect=True)
def test_units_halls_and_people_are_chosen_by_name(walk):
    engine = walk.server.engine
    scenario = dataclasses.replace(SCENARIOS["township"], name=f"选择器{walk.device}", counters={})
    instance_id = engine.start_instance("consultation", scenario.intake(), actor="m001")
    _triage_from_the_tree(walk, instance_id)
    _advance(engine, instance_id, scenario, "draft_plan")
    researcher = _plan_with_a_hall(walk, instance_id, scenario)
    assert engine.show_instance(instance_id).data["venue"] == "township_xunchang_v01_hall"
    _advance(engine, instance_id, scenario, "hold_meeting")
    liaison, member = _meeting_with_everyone(walk, instance_id, scenario)

    page = walk.page
    page.goto(f"/instances/{instance_id}")
    case = page.locator(".casefile")
    expect(case).to_contain_text("清溪社区珙桐议事室")
    for name in (researcher, liaison, member, "张桂芳", "群众代表", "利益相关方"):
        expect(case).to_contain_text(name)
    assert not CODES.search(case.inner_text())
    walk.shot("casefile-attendance")
