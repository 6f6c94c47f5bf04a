"""A citizen's topic goes from the public intake page through triage and all six steps to published results,
clicked through by the demo people in headless Chromium, on a desktop and on a phone."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from engine.clock import LOCAL_TZ
from tests.support.consultation import SCENARIOS

pytestmark = pytest.mark.e2e

TASK_NAMES = {"triage": "受理分流", "define_topic": "确定协商主题", "draft_plan": "拟定协商方案",
              "review_plan": "审核协商方案", "research": "调查研究", "summarize_research": "汇总调研成果",
              "hold_meeting": "组织协商会议", "draft_report": "起草协商报告", "approve_report": "审定协商报告",
              "record_instruction": "录入领导批示", "answer_suggestion": "办理答复", "follow_up_visit": "回访问效"}
DEVICE_NAMES = {"desktop": "桌面端", "phone": "手机端"}
PASSWORD = "xieshang-demo"


# --- what a person does ---

def sign_in(page: Page, username: str, shot=lambda label: None) -> None:
    """Sign in on /login with the demo password; the app lands on the overview."""
    page.goto("/login")
    shot("login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator("header .who")).to_be_visible()
    shot("overview")


def as_person(walk, username: str) -> Page:
    """A fresh browser context (no cookies), signed in as `username`."""
    page = walk.open(username)
    sign_in(page, username, walk.shot)
    return page


def fill_form(page: Page, data: dict, prefix: str = "") -> None:
    """Fill server-rendered fields by their names: rows (adding rows with the add button), people, choices, text."""
    for name, value in data.items():
        path = f"{prefix}/{name}" if prefix else name
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for index, row in enumerate(value):
                if index and not page.locator(f"#f-{path.replace('/', '--')}--{index}").count():   # rows given
                    page.locator(f'button[name="_add"][value="{path}"]').click()                 # stay as they are
                fill_form(page, row, f"{path}/{index}")
        elif isinstance(value, list):
            for item in value:
                _choose_person(page, path, item)
        else:
            _set_field(page, path, value)


def _set_field(page: Page, path: str, value) -> None:
    field = page.locator(f'[name="{path}"]:not([type=hidden])')
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    kind = field.first.evaluate("el => el.tagName === 'INPUT' ? el.type : el.tagName.toLowerCase()")
    if kind in ("radio", "checkbox"):
        page.locator(f'input[name="{path}"][value="{text}"]').check()
    elif kind == "select":
        field.select_option(text)
    else:
        field.fill(text)


def _choose_person(page: Page, path: str, username: str) -> None:
    """Tick a person in a people list, narrowing a long list with its filter box first, as a person would."""
    box = page.locator(f'input[type=checkbox][name="{path}"][value="{username}"]')
    search = page.locator("fieldset.group", has=box).locator("input.people-filter")
    if search.count():
        name = page.locator(f'label[for="{box.get_attribute("id")}"]').inner_text().strip()
        search.fill(name)
        expect(box).to_be_visible()
        box.check()
        search.fill("")
    else:
        box.check()


def open_task(walk, instance_id: int, spec: str, tabs=("assigned", "claimable")) -> str:
    """Find the task in the inbox (my tasks, then claimable), open it like a person; returns its id."""
    page, name = walk.page, TASK_NAMES[spec]
    for tab in tabs:
        page.goto(f"/inbox?tab={tab}")
        walk.shot(f"inbox-{tab}")
        link = _inbox_row(page, instance_id, name).get_by_role("link", name=name, exact=True)
        if link.count():
            link.first.click()
            page.wait_for_url(re.compile(r"/tasks/[^/]+$"))
            expect(page.locator("h1")).to_contain_text(name)
            walk.shot(spec)
            return page.url.rsplit("/", 1)[-1]
    raise AssertionError(f"{walk.user} has no task {name} of #{instance_id} in the inbox")


def _inbox_row(page: Page, instance_id: int, task_name: str):
    rows = page.locator("table.inbox tbody tr").filter(has_text=re.compile(rf"#{instance_id}(?!\d)"))
    return rows.filter(has=page.get_by_role("link", name=task_name, exact=True))


def submit_task(walk, task_id: str, spec: str) -> None:
    """Press 提交; the inbox says so and lists the task in neither my tasks nor the claimable ones."""
    page = walk.page
    page.get_by_role("button", name="提交", exact=True).click()
    page.wait_for_url(re.compile(r"/inbox"))
    expect(page.locator(".flash.success")).to_have_text(f"已提交：{TASK_NAMES[spec]}")
    walk.shot(f"{spec}-done")
    expect(page.locator(f'a[href="/tasks/{task_id}"]')).to_have_count(0)
    page.goto("/inbox?tab=claimable")
    expect(page.locator(f'a[href="/tasks/{task_id}"]')).to_have_count(0)
    walk.shot("inbox-claimable")


def do_task(walk, instance_id: int, spec: str, data: dict) -> str:
    """Open the task, fill it in and submit it."""
    task_id = open_task(walk, instance_id, spec)
    fill_form(walk.page, data)
    walk.shot(f"{spec}-filled")
    submit_task(walk, task_id, spec)
    return task_id


# --- the parts of the walk ---

def submit_intake(walk, scenario) -> str:
    """A citizen fills the public form without signing in; returns the tracking code from the receipt."""
    page = walk.open()
    page.goto("/intake")
    walk.shot("intake")
    intake = {k: v for k, v in scenario.intake().items() if k != "source"}
    fill_form(page, intake)
    walk.shot("intake-filled")
    page.get_by_role("button", name="提交", exact=True).click()
    page.wait_for_url(re.compile(r"/intake/receipt$"))
    code = page.locator(".tracking-code").inner_text().strip()
    assert re.fullmatch(r"XS-[0-9A-Z]{4}-[0-9A-Z]{4}", code), code
    walk.shot("receipt")
    page.get_by_role("link", name="查看办理进度").click()
    expect(page.locator(".intake-status")).to_have_text("受理中")
    walk.shot("track-received")
    return code


def triage(walk, title: str) -> int:
    """The office claims the new topic from the claimable tab and accepts it as the pre-routed township one."""
    page = as_person(walk, "office")
    page.goto("/inbox?tab=claimable")
    row = page.locator("table.inbox tbody tr").filter(has_text=title)
    expect(row).to_have_count(1)
    instance_id = int(re.search(r"#(\d+)", row.inner_text()).group(1))
    walk.shot("inbox-claimable")
    row.get_by_role("button", name="认领").click()
    expect(page.locator(".flash.success")).to_have_text("已认领。")
    expect(_inbox_row(page, instance_id, TASK_NAMES["triage"])).to_have_count(0)
    walk.shot("claimed")
    task_id = open_task(walk, instance_id, "triage", tabs=("assigned",))   # claimed: now one of my tasks
    expect(page.locator('input[name="tier"][value="township"]')).to_be_checked()
    expect(page.locator('[name="org_unit"]')).to_have_value("township_xunchang")
    fill_form(page, {"decision": "accept"})
    walk.shot("triage-filled")
    submit_task(walk, task_id, "triage")
    return instance_id


def define_topic_after_a_mistake(walk, instance_id: int, data: dict) -> None:
    """Submitting with the topic left empty shows the message beside it and keeps everything else typed."""
    page = walk.page
    task_id = open_task(walk, instance_id, "define_topic")
    fill_form(page, {k: v for k, v in data.items() if k != "topic"})
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator(".flash.error")).to_contain_text("请修改标出的内容后重新提交")
    expect(page.locator("#f-topic-error")).to_have_text("此项为必填项")
    expect(page.locator("#f-topic")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".error-summary a[href='#f-topic']")).to_be_visible()
    expect(page.locator("#f-topic_rationale")).to_have_value(data["topic_rationale"])
    expect(page.locator("#f-expected_outcome")).to_have_value(data["expected_outcome"])
    walk.shot("define_topic-error")
    fill_form(page, {"topic": data["topic"]})
    submit_task(walk, task_id, "define_topic")


def answer_as(walk, liaison: str, instance_id: int, suggestion: str, data: dict) -> None:
    """A department's liaison answers the one suggestion addressed to it."""
    page = as_person(walk, liaison)
    page.goto("/inbox?tab=claimable")     # the department's row says which suggestion it is about
    row = _inbox_row(page, instance_id, TASK_NAMES["answer_suggestion"])
    expect(row.locator(".item-label")).to_have_text(suggestion)
    task_id = open_task(walk, instance_id, "answer_suggestion")
    expect(walk.page.locator(".card.item")).to_contain_text(suggestion)
    fill_form(walk.page, data)
    walk.shot("answer_suggestion-filled")
    submit_task(walk, task_id, "answer_suggestion")


def record_instruction_after_a_future_date(walk, instance_id: int, data: dict) -> None:
    """A 批示 dated tomorrow (on the server's clock) is refused beside its field, everything typed kept; a past date
    goes through."""
    page = walk.page
    today = walk.server.clock.now().astimezone(LOCAL_TZ).date()
    tomorrow = (today + timedelta(days=1)).isoformat()
    task_id = open_task(walk, instance_id, "record_instruction")
    fill_form(page, data | {"instructed_on": tomorrow})
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator("#f-instructed_on-error")).to_contain_text(f"不能晚于今天（{today.isoformat()}）")
    expect(page.locator("#f-instructed_on")).to_have_value(tomorrow)
    expect(page.locator("#f-instruction_text")).to_have_value(data["instruction_text"])
    walk.shot("record_instruction-error")
    fill_form(page, {"instructed_on": data["instructed_on"]})
    submit_task(walk, task_id, "record_instruction")


def visit_each_suggestion(walk, instance_id: int, scenario) -> None:
    """The follow-up visit lists every suggestion with its department, read-only, and takes each one's satisfaction."""
    page = walk.page
    task_id = open_task(walk, instance_id, "follow_up_visit")
    expect(page.locator('button[name="_add"]')).to_have_count(0)
    for index, (text, _department) in enumerate(scenario.suggestions):
        expect(page.locator(f"#f-visits--{index}--text")).to_have_text(text)
    expect(page.locator("#f-visits--0--department")).to_have_text("县住房和城乡建设局")
    held = [{"suggestion_id": number} for number in range(1, len(scenario.suggestions) + 1)]
    visits = scenario.answer("follow_up_visit", {"visits": held})["visits"]
    fill_form(page, {"visits": [{k: v for k, v in row.items() if k != "suggestion_id"} for row in visits]})
    walk.shot("follow_up_visit-filled")
    submit_task(walk, task_id, "follow_up_visit")


def check_instance_page(walk, instance_id: int, answers: int) -> None:
    """The instance page shows the diagram, the suggestions and how many are answered."""
    page = walk.page
    page.goto(f"/instances/{instance_id}")
    expect(page.locator("#diagram svg").first).to_be_attached()
    expect(page.locator("table.stack").first.locator("tbody tr")).to_have_count(2)
    expect(page.locator("table.stack").first.locator(".badge")).to_have_count(answers)
    walk.shot("instance")


def check_published(walk, code: str, suggestions) -> None:
    """Anyone with the code sees 已完成 and every suggestion with its department's answer."""
    page = walk.open()
    page.goto("/track")
    walk.shot("track-lookup")
    page.get_by_label("查询编号").fill(code.lower())
    page.get_by_role("button", name="查询").click()
    page.wait_for_url(re.compile(rf"/track/{code}$"))
    expect(page.locator(".intake-status")).to_have_text("已完成")
    items = page.locator(".intake-results .intake-suggestions > li")
    expect(items).to_have_count(len(suggestions))
    for item, (text, _department) in zip(items.all(), suggestions, strict=True):
        expect(item.locator(".intake-suggestion-text")).to_have_text(text)
        expect(item.locator(".intake-adoption")).to_have_text("采纳")
        expect(item).to_contain_text("已列入年度改造计划")
    expect(page.locator(".intake-results")).to_contain_text("满意")
    walk.shot("track-published")


# --- the walk ---

@pytest.mark.parametrize("walk", ["desktop", "phone"], indirect=True)
def test_topic_goes_from_intake_to_published_results(walk):
    """Intake → triage → steps 1–6 → public results, each step by the person whose job it is."""
    scenario = dataclasses.replace(SCENARIOS["township"], name=DEVICE_NAMES[walk.device], counters={})
    engine, clock = walk.server.engine, walk.server.clock
    code = submit_intake(walk, scenario)
    instance_id = triage(walk, scenario.intake()["title"])

    organizer, lead = "organizer_xunchang", "lead_xunchang"
    as_person(walk, organizer)
    define_topic_after_a_mistake(walk, instance_id, scenario.answer("define_topic", {}))
    do_task(walk, instance_id, "draft_plan", scenario.answer("draft_plan", {}))
    as_person(walk, lead)
    do_task(walk, instance_id, "review_plan", scenario.answer("review_plan", {}))
    for member in scenario.researchers:
        as_person(walk, member)
        do_task(walk, instance_id, "research", scenario.answer("research", {}))

    as_person(walk, organizer)
    for spec in ("summarize_research", "hold_meeting", "draft_report"):
        do_task(walk, instance_id, spec, scenario.answer(spec, {}))
    as_person(walk, lead)
    do_task(walk, instance_id, "approve_report", scenario.answer("approve_report", {}))
    as_person(walk, "office")
    record_instruction_after_a_future_date(walk, instance_id, scenario.answer("record_instruction", {}))

    for text, department in scenario.suggestions:
        answer_as(walk, department.replace("dept_", "liaison_"), instance_id, text,
                  scenario.answer("answer_suggestion", {"_org_unit": department}))
    as_person(walk, organizer)
    check_instance_page(walk, instance_id, answers=len(scenario.suggestions))

    assert instance_id not in engine.fire_due_timers()   # the follow-up visit waits 30 days
    clock.advance(days=31)
    assert engine.fire_due_timers() == [instance_id]
    visit_each_suggestion(walk, instance_id, scenario)
    check_instance_page(walk, instance_id, answers=len(scenario.suggestions))
    expect(walk.page.locator("#instance-status .badge")).to_have_text("已完成")

    check_published(walk, code, scenario.suggestions)
    walk.close()
