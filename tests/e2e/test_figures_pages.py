"""In the browser: the figures page draws its charts from the bundled chart file (no request leaves the server), the
heatmap colours the six steps on the diagram, and a member's record reads on desktop and phone; screenshots also
copied to $XIESHANG_SHOTS/figures."""

from __future__ import annotations

import shutil
from datetime import date
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from domain.consultation import figures as figs
from domain.consultation.member_record import member_record
from tests.e2e.conftest import shots
from tests.e2e.test_walkthrough import as_person
from tests.support import figures_fixture
from webui.figures import heat_level

SHOTS = shots("figures")
# Whether a canvas has anything drawn on it (some pixel not fully transparent).
PAINTED = """sel => { const c = document.querySelector(sel); const d = c.getContext('2d')
    .getImageData(0, 0, c.width, c.height).data; for (let i = 3; i < d.length; i += 4) { if (d[i]) return true; }
    return false; }"""


@pytest.fixture(scope="module")
def records(live_server):
    with live_server.engine.unit_of_work() as session:
        return figures_fixture.load(session)


def keep(walk, label: str) -> None:
    path = walk.shot(label)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / f"{walk.device}-{label}.png")


def offline(page, server_url: str) -> list[str]:
    """Refuse every request that is not to the app itself; returns the list of refused addresses."""
    refused: list[str] = []
    own = urlparse(server_url).netloc

    def route(request_route):
        if urlparse(request_route.request.url).netloc == own:
            request_route.continue_()
        else:
            refused.append(request_route.request.url)
            request_route.abort()

    page.route("**/*", route)
    return refused


@pytest.mark.parametrize("walk", ["desktop", "phone"], indirect=True)
def test_figures_heatmap_and_member_record_in_the_browser(walk, records):
    page = as_person(walk, "supervisor_county")
    refused = offline(page, walk.server.url)
    engine = walk.server.engine                # other tests' consultations share the server: expect what SQL says
    year = figs.parse_period("2026", date(2026, 6, 1))
    with engine.reading() as session:
        numbers = figs.compute(session, year)
        step1 = figs.step_times(session, year, engine.clock.now())[1]
    assert numbers.held >= 2 and numbers.adoption.denominator >= 3
    page.goto("/figures?period=2026")
    expect(page.locator("h1")).to_contain_text("协商数据 · 2026")
    cards = page.locator(".figures-cards")
    expect(cards).to_contain_text(f"{numbers.adoption.percent:.1f}%")
    expect(cards).to_contain_text(f"{numbers.adoption.numerator} / {numbers.adoption.denominator}")
    for chart in ("chart-held", "chart-rates", "chart-on-time"):
        selector = f'canvas[data-chart="{chart}"]'
        page.wait_for_function(PAINTED, arg=selector)
        assert page.evaluate(PAINTED, selector), chart
    assert page.evaluate("window.XieshangCharts.version") == "4.6.1"
    keep(walk, "figures")

    page.goto("/figures/heatmap?period=2026&mode=breach")
    page.wait_for_selector("#diagram[data-heat-ready]")
    fill = page.evaluate("""() => getComputedStyle(document.querySelector(
        '.djs-element[data-element-id="step1"] > .djs-visual > rect')).fill""")
    level = heat_level(step1, "breach")
    assert step1.breached >= 1 and level >= 1
    assert fill == page.evaluate(f"getComputedStyle(document.querySelector('.heat-legend .xs-heat-{level}'))"
                                 ".backgroundColor")          # the step has its level's colour, as the legend shows
    expect(page.locator(".heat-table")).to_contain_text(f"{step1.breached} / {step1.with_due}")
    rate = f"{step1.breach.percent}%"
    expect(page.locator(".djs-overlay .heat-tag").first).to_have_text(rate if walk.phone else f"第 1 步：{rate}")
    keep(walk, "heatmap-breach")
    page.goto("/figures/heatmap?period=2026&mode=median")
    page.wait_for_selector("#diagram[data-heat-ready]")
    keep(walk, "heatmap-median")

    page = as_person(walk, "m001")
    refused += offline(page, walk.server.url)
    page.locator("a.who").click()                  # a member's name in the header opens their own record
    expect(page.locator("h1")).to_contain_text("履职记录")
    page.goto("/members/m001/record?year=2026")
    expect(page.locator("h1")).to_contain_text("履职记录")
    with engine.reading() as session:
        record = member_record(session, "m001", year)
    assert len(record.meetings) >= 2 and len(record.proposals) >= 1
    expect(page.locator(".figures-cards .stat").nth(1)).to_have_text(f"{len(record.meetings)}参加协商会议")
    expect(page.locator(".figures-cards .stat").nth(3)).to_have_text(f"{len(record.suggestions)}会议形成建议")
    keep(walk, "member-record")
    assert page.goto("/members/m002/record").status == 403
    assert refused == []
