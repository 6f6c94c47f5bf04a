"""The header menu in the browser, on a desktop and on a phone: it fits the phone's width in one row for a county
supervisor, a member, an admin and a citizen; the 督办 group opens from the keyboard, one of its pages opens from it,
and Escape closes it. Screenshots also copied to $XIESHANG_SHOTS/nav."""

from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import shots
from tests.e2e.test_walkthrough import sign_in

pytestmark = pytest.mark.e2e

SHOTS = shots("nav")
PEOPLE = (("supervisor_county", "/board"), ("m001", "/inbox"), ("admin", "/admin/users"), ("anonymous", "/login"))


def _keep(walk, label: str) -> None:
    path = walk.shot(label)          # on the phone: asserts the page does not scroll sideways
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / f"e2e-{walk.device}-{label}.png")


@pytest.mark.parametrize("walk", ["desktop", "phone"], indirect=True)
def test_the_menu_fits_and_opens_from_the_keyboard(walk):
    for user, path in PEOPLE:
        page = walk.open(user)
        if user != "anonymous":
            sign_in(page, user)
        page.goto(path)
        nav = page.locator("header .nav")
        entries = nav.locator(":scope > a, :scope > details > summary")
        tops = {round(box["y"]) for box in (entries.nth(i).bounding_box() for i in range(entries.count()))}
        assert len(tops) == 1, f"{user}: the menu takes {len(tops)} rows"
        _keep(walk, f"{user}-menu")
    page = walk.open("supervisor_county")
    sign_in(page, "supervisor_county")
    page.goto("/overview")
    group = page.locator("header .nav-group").first          # 督办 (平台 follows it)
    group.locator("summary").focus()
    page.keyboard.press("Enter")
    expect(group.locator(".nav-menu a")).to_have_text(["督办看板", "建议台账", "数据", "时限规则"])
    _keep(walk, "supervisor-menu-open")
    page.keyboard.press("Escape")
    expect(group.locator(".nav-menu")).to_be_hidden()
    expect(group.locator("summary")).to_be_focused()
    page.keyboard.press("Enter")
    group.get_by_role("link", name="建议台账").click()
    expect(page).to_have_url(f"{walk.server.url}/ledger")
    expect(page.locator("header .nav-group.on summary")).to_have_text("督办")
