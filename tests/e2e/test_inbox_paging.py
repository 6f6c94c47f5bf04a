"""The office's inbox in Chromium, on a desktop and on a 390-px phone: a filtered tab whose count is counted only up
to a cap shows "3+" (a small cap injected here; 9,999 in use), pages on with 下一页 and back with 上一页 keeping the
filter, and lists each task once. Screenshots also go to $XIESHANG_SHOTS/inbox."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from domain.work import inbox
from tests.e2e.conftest import shots
from tests.e2e.test_walkthrough import as_person
from tests.support.consultation import SCENARIOS

pytestmark = pytest.mark.e2e
SHOTS = shots("inbox")


def keep(walk, path: Path) -> None:
    """Copy a screenshot to the shots folder, named by device."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / f"{walk.device}-{path.name}")


@pytest.mark.parametrize("walk", ["desktop", "phone"], indirect=True)
def test_the_inbox_pages_by_cursor_with_a_capped_count(walk, monkeypatch):
    engine = walk.server.engine
    for _ in range(4):         # four triage tasks at least (more with other tests' cases on this shared server)
        engine.start_instance("consultation", copy.deepcopy(SCENARIOS["county"]).intake(), actor="m001")
    monkeypatch.setattr(inbox, "COUNT_CAP", 3)
    page = as_person(walk, "office")
    page.goto("/inbox?tab=claimable&step=0&per_page=2")
    expect(page.locator("nav.tabs a.on .count")).to_have_text("3+")
    expect(page.locator("nav.pager")).to_contain_text("每页 2 项，共 3+ 项")
    expect(page.locator("nav.pager a[rel=prev]")).to_have_count(0)
    first = page.locator("table.inbox tbody tr td:nth-child(2) a").all_inner_texts()
    keep(walk, walk.shot("inbox-capped-first-page"))
    page.locator("nav.pager a[rel=next]").click()
    expect(page.locator("nav.pager a[rel=prev]")).to_be_visible()
    expect(page.locator("select[name=step]")).to_have_value("0")                 # the filter stays on
    second = page.locator("table.inbox tbody tr td:nth-child(2) a").evaluate_all("(links) => links.map(a => a.href)")
    keep(walk, walk.shot("inbox-capped-second-page"))
    page.locator("nav.pager a[rel=prev]").click()
    again = page.locator("table.inbox tbody tr td:nth-child(2) a").all_inner_texts()
    assert again == first and len(first) == 2 and len(second) >= 1
    hrefs = page.locator("table.inbox tbody tr td:nth-child(2) a").evaluate_all("(links) => links.map(a => a.href)")
    assert not set(hrefs) & set(second)                                           # no task on two pages
