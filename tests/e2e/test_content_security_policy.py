"""In the browser, under the content security policy: the bundled charts, the BPMN viewer, the form and intake
scripts and the per-page stylesheets all work, and Chromium reports no policy violation on any page we open."""

from __future__ import annotations

import copy

import pytest
from playwright.sync_api import expect

from tests.e2e.test_figures_pages import PAINTED
from tests.e2e.test_walkthrough import as_person
from tests.support.consultation import SCENARIOS

# Every violation the page reports (securitypolicyviolation events), kept on window for the test to read.
LISTEN = """window.__violations = [];
document.addEventListener('securitypolicyviolation', e => window.__violations.push(
    e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + (e.sourceFile || '') + ':' + e.lineNumber));"""


def watch(page) -> list[str]:
    """Console lines that report a blocked resource or inline code."""
    reported: list[str] = []
    page.on("console", lambda message: reported.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text else None)
    page.add_init_script(LISTEN)
    return reported


def no_violations(page, console: list[str]) -> None:
    assert page.evaluate("window.__violations") == [], page.url
    assert console == [], page.url


@pytest.mark.parametrize("walk", ["desktop"], indirect=True)
def test_pages_with_bundled_scripts_run_under_the_policy(walk):
    engine = walk.server.engine
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = engine.start_instance("consultation", scenario.intake(), actor="m001")
    [task] = engine.list_tasks(instance_id=instance_id)

    page = as_person(walk, "office")
    console = watch(page)
    page.goto(f"/instances/{instance_id}")
    page.wait_for_function("document.getElementById('diagram').__xieshangDiagramViewer !== undefined")
    assert page.locator("#diagram svg .djs-element").count() > 5          # the BPMN viewer drew the diagram
    no_violations(page, console)
    page.goto(f"/tasks/{task.id}")
    expect(page.locator("form")).not_to_have_count(0)
    no_violations(page, console)

    page = as_person(walk, "supervisor_county")
    console = watch(page)
    page.goto("/figures?period=2026")
    canvas = page.locator("canvas[data-chart]").first
    expect(canvas).to_be_visible()
    page.wait_for_function(PAINTED, arg="canvas[data-chart]")                # Chart.js painted it
    no_violations(page, console)
    page.goto("/figures/heatmap?period=2026")
    page.wait_for_function("document.querySelector('svg') !== null")
    no_violations(page, console)
    page.goto("/deadlines")
    assert page.evaluate("getComputedStyle(document.querySelector('.dl-step')).marginBottom") == "14px"
    no_violations(page, console)

    page = as_person(walk, "admin")
    console = watch(page)
    page.goto("/admin/calendar")
    assert page.evaluate("getComputedStyle(document.querySelector('.cal-months')).display") == "grid"
    no_violations(page, console)

    page = walk.open()
    console = watch(page)
    page.goto("/intake")
    expect(page.locator("form")).not_to_have_count(0)
    no_violations(page, console)


@pytest.mark.parametrize("walk", ["desktop"], indirect=True)
def test_the_policy_does_block_inline_script(walk):
    """The check above can fail: an inline script added to a served page is refused and reported."""
    page = walk.open()
    console = watch(page)
    page.goto("/login")
    page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1';
                     document.body.appendChild(s); }""")
    page.wait_for_function("window.__violations.length > 0")
    assert page.evaluate("window.__ran") is None
    assert any("script-src" in v for v in page.evaluate("window.__violations"))
    assert any("Content Security Policy" in line for line in console)
