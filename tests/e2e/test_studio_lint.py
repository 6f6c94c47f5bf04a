"""In the browser, the studio's modeler lints the diagram live with bpmnlint and our own rules
(webui/frontend/src/studio/lint-rules): the six-step process opens with no issue; a user task added without a form
is marked at once with our message; choosing its form in the properties panel takes the mark away. Screenshots on
desktop and at phone width (copied to $XIESHANG_SHOTS/lint)."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.e2e import test_studio_modeler as modeler
from tests.e2e.conftest import shots
from tests.e2e.test_content_security_policy import no_violations, watch
from tests.e2e.test_studio_modeler import STUDIO, open_modeler

# The modeler test's server (its own database) and walk, as fixtures of this module too.
studio_server = modeler.studio_server
studio_walk = modeler.studio_walk
SHOTS = shots("lint")
# A user task 预审 with no form, between the intake and the routing table, in the office's lane.
ADD_FORMLESS_TASK = """() => {
    const m = window.XieshangStudio.modeler;
    const reg = m.get('elementRegistry'), modeling = m.get('modeling');
    const pool = reg.filter(e => e.type === 'bpmn:Participant')[0];
    const task = modeling.createShape(m.get('elementFactory').createShape({type: 'bpmn:UserTask'}),
        {x: 250, y: 245}, pool);
    modeling.updateProperties(task, {id: 'pre_check', name: '预审'});
    modeling.reconnectEnd(reg.get('flow_intake_to_route'), task, {x: task.x, y: task.y + task.height / 2});
    modeling.connect(task, reg.get('route'));
    m.get('selection').select(task);
    return task.businessObject.lanes ? task.businessObject.lanes.map(l => l.id) : [];
}"""
# The new task at full size, clear of the palette, not selected (its context pad would cover the mark).
SHOW_PRE_CHECK = f"""() => {{ const m = {STUDIO}.modeler, canvas = m.get('canvas');
    m.get('selection').select(null);
    canvas.zoom(1);
    canvas.scrollToElement(m.get('elementRegistry').get('pre_check'), {{top: 150, right: 40, bottom: 150, left: 160}});
}}"""
# The office's lane renamed to a role nobody has; the follow-up wait's timer set to words, not a quoted literal.
BREAK_LANE_AND_TIMER = f"""() => {{ const m = {STUDIO}.modeler, reg = m.get('elementRegistry');
    const modeling = m.get('modeling');
    modeling.updateProperties(reg.get('lane_office'), {{id: 'lane_nobody'}});
    const wait = reg.get('follow_up_wait');
    const timer = wait.businessObject.eventDefinitions[0];
    modeling.updateModdleProperties(wait, timer.timeDuration, {{body: '3 days'}});
}}"""
# Every live issue as [element id, rule, category, message], after the lint that follows the last change.
ISSUES = f"""() => Object.values({STUDIO}.lintIssues).flat()
    .map(i => [i.id, i.rule, i.category, i.message])"""


def keep(page, label: str, device: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{device}-{label}.png"), full_page=False)


def lint_settles_on(page, expected: list, seconds: float = 10) -> list:
    """Poll the live lint's issues (sorted) until they are `expected` or time is up; return the last seen. (The
    page's policy forbids eval, so Playwright's in-page polling cannot be used.)"""
    deadline = time.monotonic() + seconds
    while True:
        issues = sorted(page.evaluate(ISSUES))
        if issues == expected or time.monotonic() > deadline:
            return issues
        page.wait_for_timeout(50)


@pytest.mark.parametrize("studio_walk", ["desktop"], indirect=True)
def test_live_lint_marks_a_user_task_without_a_form_until_it_gets_one(studio_walk):
    page = open_modeler(studio_walk)
    console = watch(page)                                   # content-security-policy violations, from the reload on
    page.reload()
    page.wait_for_function(f"{STUDIO} && {STUDIO}.ready")
    page.evaluate(f"{STUDIO}.ready")
    deadline = time.monotonic() + 10
    while not page.evaluate(f"{STUDIO}.lintRuns") and time.monotonic() < deadline:
        page.wait_for_timeout(50)                           # the first lint, after the diagram opened
    assert page.evaluate(f"{STUDIO}.lintRuns") >= 1
    assert page.evaluate(ISSUES) == []                      # the six-step process: no issue from any rule
    button = page.locator("#studio-canvas .bjsl-button")
    expect(button).to_contain_text("未发现问题")
    expect(page.locator("#studio-lint-note")).to_contain_text("以“校验”按钮的服务器检查为准")

    assert page.evaluate(ADD_FORMLESS_TASK) == ["lane_office"]
    formless = [["pre_check", "xieshang/user-task-form", "warn", "用户任务没有表单 (user task without a form)"]]
    assert lint_settles_on(page, formless) == formless
    overlay = page.locator(".djs-overlays[data-container-id='pre_check'] .bjsl-overlay")
    expect(overlay).to_have_count(1)                        # the mark is ON the new task
    expect(overlay).to_contain_text("用户任务没有表单")
    expect(button).to_contain_text("0 个错误，1 个警告")
    page.evaluate(SHOW_PRE_CHECK)
    overlay.locator(".bjsl-icon").hover()
    keep(page, "formless-task", "desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator("#studio-canvas").scroll_into_view_if_needed()
    page.evaluate(SHOW_PRE_CHECK)
    overlay.locator(".bjsl-icon").hover()
    keep(page, "formless-task", "phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.evaluate(f"{STUDIO}.modeler.get('selection').select({STUDIO}.modeler.get('elementRegistry').get('pre_check'))")

    # The fix, in the properties panel: pick one of the draft's forms.
    group = page.locator(".bio-properties-panel-group-header", has_text="协商引擎")
    if "open" not in (group.get_attribute("class") or ""):
        group.click()
    page.locator("select[name='xs-formJsonSchemaFilename']").select_option("forms/triage.schema.json")
    assert lint_settles_on(page, []) == []
    expect(overlay).to_have_count(0)
    expect(button).to_contain_text("未发现问题")
    keep(page, "form-given", "desktop")

    # Our other two rules, on the same page: a lane whose id names no role, a timer that is not a literal.
    page.evaluate(BREAK_LANE_AND_TIMER)
    broken = [
        ["follow_up_wait", "xieshang/timer-expression", "warn",
         '定时表达式 "3 days" 既不是加引号的字面值，也不是变量名 '
         "(timer expression is neither a quoted literal nor a variable name)"],
        ["lane_nobody", "xieshang/lane-role", "warn",
         "泳道 政协办公室 没有对应的角色，其中的任务将由发起人办理 "
         "(lane has no role; its tasks go to the person who started the instance)"]]
    assert lint_settles_on(page, broken) == broken
    expect(page.locator(".djs-overlays[data-container-id='lane_nobody'] .bjsl-overlay")).to_have_count(1)
    no_violations(page, console)
    studio_walk.server.engine.discard_draft("consultation", "owner")
