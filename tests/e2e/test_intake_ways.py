"""In the browser, on a desktop and on a phone: a member raises a topic of their own (credited to them, in their list,
the village chosen from the directory narrowed to the township) and an organizer records a resident's topic from a
hall and hands over its tracking code. Screenshots also copied to $XIESHANG_SHOTS/intake."""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from engine.store.models import User
from tests.e2e.conftest import shots
from tests.e2e.test_walkthrough import sign_in

pytestmark = pytest.mark.e2e

SHOTS = shots("intake")
TITLES = {"desktop": ("金河社区夜间停车难", "芙蓉社区路灯不亮"), "phone": ("桐林社区夜间停车难", "滨河社区路灯不亮")}
VILLAGES = {"desktop": ("township_xunchang_v02", "township_xunchang_v03"),
            "phone": ("township_xunchang_v04", "township_xunchang_v05")}


def keep(walk, label: str) -> None:
    """A screenshot in the walk's folder and a copy under SHOTS named by device and label."""
    path = walk.shot(label)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / f"{walk.device}-{label}.png")


def signed_in(walk, username: str) -> Page:
    page = walk.open(username)
    sign_in(page, username)
    return page


def open_from_menu(walk, page: Page, label: str) -> None:
    """Follow the header menu's entry (scrolled into view first, as a person on a phone would)."""
    link = page.locator("header .nav").get_by_role("link", name=label, exact=True)
    link.scroll_into_view_if_needed()
    link.click()


def fill_topic(page: Page, title: str, village: str) -> None:
    page.locator("#f-title").fill(title)
    page.locator("#f-description").fill("社区道路狭窄，夜间车辆乱停，消防通道经常被堵，居民多次反映。")
    page.locator("#f-category").select_option("governance")
    page.locator('input[name="scope"][value="village"]').check()
    page.locator("#f-township").select_option("township_xunchang")
    # Narrowed to the chosen township's villages (26 in the county seat) plus "none".
    expect(page.locator("#f-village option")).to_have_count(27)
    expect(page.locator("#f-village optgroup")).to_have_count(1)
    page.locator("#f-village").select_option(village)


def display_name(engine, username: str) -> str:
    with engine.unit_of_work() as session:
        return session.scalar(select(User.display_name).where(User.username == username))


@pytest.mark.parametrize("walk", ["desktop", "phone"], indirect=True)
def test_a_member_raises_a_topic_of_their_own(walk):
    title, village = TITLES[walk.device][0], VILLAGES[walk.device][0]
    member = display_name(walk.server.engine, "m002")
    page = signed_in(walk, "m002")
    open_from_menu(walk, page, "提出议题")
    expect(page.locator("h1")).to_have_text("提出协商议题")
    expect(page.locator("#f-contact-name")).to_have_count(0)          # a member is known: no contact asked
    expect(page.locator(".intake-credit")).to_contain_text(member)
    fill_topic(page, title, village)
    keep(walk, "member-filled")
    page.get_by_role("button", name="提交议题").click()
    page.wait_for_url(re.compile(r"/intake/receipt$"))
    expect(page.locator(".intake-receipt")).to_contain_text("记在您的名下")
    code = page.locator(".tracking-code").inner_text().strip()
    assert re.fullmatch(r"XS-[0-9A-Z]{4}-[0-9A-Z]{4}", code), code
    keep(walk, "member-receipt")

    page.get_by_role("link", name="查看卷宗").click()
    intake = page.locator(".casefile .case-entry").first
    expect(intake).to_contain_text(f"提出委员{member}")
    expect(intake).to_contain_text("来源渠道委员提出")
    keep(walk, "member-casefile")

    page.goto("/intake/propose")
    mine = page.locator(".intake-mine tbody tr").filter(has_text=title)
    expect(mine).to_have_count(1)
    expect(mine).to_contain_text(code)
    expect(mine).to_contain_text("受理中")
    keep(walk, "member-mine")
    page.goto("/instances")
    expect(page.locator("table tbody tr").filter(has_text=title)).to_contain_text(member)
    keep(walk, "member-instances")


@pytest.mark.parametrize("walk", ["desktop", "phone"], indirect=True)
def test_an_organizer_records_a_residents_topic_from_a_hall(walk):
    title, village = TITLES[walk.device][1], VILLAGES[walk.device][1]
    page = signed_in(walk, "organizer_xunchang")
    open_from_menu(walk, page, "代群众登记")
    expect(page.locator("h1")).to_have_text("代群众登记议题")
    expect(page.locator("#f-township")).to_have_value("township_xunchang")     # an organizer's own township
    keep(walk, "record-form")

    page.locator('input[name="source"][value="hall"]').check()
    fill_topic(page, title, village)
    page.locator("#f-contact-phone").fill("139 0000 5678")
    page.locator("#f-contact-name").evaluate("el => el.removeAttribute('required')")   # the server's check, seen
    page.get_by_role("button", name="登记", exact=True).click()
    expect(page.locator("#err-contact_name")).to_have_text("此项为必填项")
    expect(page.locator("#f-title")).to_have_value(title)                        # what was typed is kept
    expect(page.locator("#f-village")).to_have_value(village)
    keep(walk, "record-error")

    page.locator("#f-contact-name").fill("王大爷")
    page.get_by_role("button", name="登记", exact=True).click()
    page.wait_for_url(re.compile(r"/intake/receipt$"))
    expect(page.locator(".intake-code-label")).to_have_text("请把这个查询编号交给王大爷")
    code = page.locator(".tracking-code").inner_text().strip()
    keep(walk, "record-receipt")

    page.get_by_role("link", name="查看卷宗").click()
    intake = page.locator(".casefile .case-entry").first
    expect(intake).to_contain_text(f"登记人{display_name(walk.server.engine, 'organizer_xunchang')}")
    expect(intake).to_contain_text("来源渠道线下议事厅")
    expect(intake).to_contain_text("王大爷")
    keep(walk, "record-casefile")

    resident = walk.open()          # the resident, with the code they were handed
    resident.goto(f"/track/{code}")
    expect(resident.locator(".intake-status")).to_have_text("受理中")
    expect(resident.locator("body")).to_contain_text(title)
    expect(resident.locator("body")).not_to_contain_text("王大爷")
    expect(resident.locator("body")).not_to_contain_text("13900005678")
    keep(walk, "resident-track")
