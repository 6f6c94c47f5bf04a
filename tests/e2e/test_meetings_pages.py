"""A hall activity in a browser, on a desktop and a phone: the organizer's meeting page with its answers, the phone
sign-in page with its QR code (tap an invitee), a member's scan signs them in once and a second scan is refused
kindly, and the member's own page lists the meeting. Screenshots also go to shots("meetings") ($XIESHANG_SHOTS)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import delete, select

from domain.halls.models import HallMember
from domain.meetings.models import Meeting, MeetingInvitee
from domain.meetings.service import Draft, Meetings
from domain.people.accounts import UserView
from tests.e2e.conftest import shots
from tests.e2e.test_walkthrough import sign_in

pytestmark = pytest.mark.e2e
SHOTS = shots("meetings")
ORGANIZER = UserView("organizer_xunchang", "组织者", True, (("organizer", "township_xunchang"),))


def keep(walk, path: Path) -> None:
    """Copy a screenshot to the notes folder, named by device."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / f"{walk.device}-{path.name}")


def _meeting(engine, day: datetime) -> tuple[int, str]:
    meetings = Meetings(engine)
    meeting_id = meetings.create(ORGANIZER, Draft(
        kind="activity", title="清溪社区停车难议事会", org_unit_code="township_xunchang", starts_at=day,
        ends_at=day + timedelta(hours=2), hall_code="township_xunchang_hall", venue="二楼议事室",
        members=("m001", "m002", "m003", "m014", "m027"), departments=("dept_housing",),
        residents=(("刘春梅", "138****5521"), ("陈德明", ""))))
    meetings.notify(ORGANIZER, meeting_id)
    for username, answer in (("m002", "attending"), ("m003", "declined"), ("m014", "attending")):
        meetings.rsvp(UserView(username, username, True, ()), meeting_id, answer)
    with engine.unit_of_work() as session:
        session.execute(delete(HallMember).where(HallMember.username == "m001"))
        session.add(HallMember(hall_code="township_xunchang_hall", username="m001", capacity="county_member",
                               assigned_at=day))
        token = session.get(Meeting, meeting_id).checkin_token
    return meeting_id, token


@pytest.mark.parametrize("walk", ["desktop", "phone"], indirect=True)
def test_a_hall_activity_from_the_notice_to_the_members_page(walk):
    engine, clock = walk.server.engine, walk.server.clock
    day = datetime(2026, 3, 12, 1, 30, tzinfo=UTC)            # 09:30 in the county
    meeting_id, token = _meeting(engine, day)
    clock.set(day - timedelta(minutes=10))
    page = walk.open("organizer_xunchang")
    sign_in(page, "organizer_xunchang")
    page.goto(f"/meetings/{meeting_id}")
    expect(page.locator(".meeting-counts")).to_contain_text("回复参加")
    expect(page.locator("table.stack")).to_contain_text("刘春梅")
    keep(walk, walk.shot("meeting"))
    page.get_by_role("link", name="签到页（手机）").click()
    qr = page.locator("img.qr")
    expect(qr).to_be_visible()
    # visible means laid out, not loaded (under load the width was read before the image had even been requested):
    # wait until it has loaded, then the SVG must have been drawn
    expect(qr).to_have_js_property("complete", True)
    assert page.evaluate("document.querySelector('img.qr').naturalWidth") > 100
    with engine.reading() as session:
        m002 = session.scalar(select(MeetingInvitee.id).where(MeetingInvitee.meeting_id == meeting_id,
                                                              MeetingInvitee.username == "m002"))
    page.locator(f"#i{m002} button").click()
    expect(page.locator(".flash")).to_contain_text("已签到")
    expect(page.locator(f"#i{m002} .tapped")).to_contain_text("09:20")
    keep(walk, walk.shot("checkin"))

    page = walk.open("m001")
    page.goto(f"/checkin/{token}")
    sign_in_then = page.get_by_label("用户名")
    sign_in_then.fill("m001")
    page.get_by_label("密码").fill("xieshang-demo")
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator("h1")).to_contain_text("清溪社区停车难议事会")      # back on the scan page after logging in
    page.get_by_role("button", name="签到").click()
    expect(page.locator(".flash.success")).to_contain_text("签到成功（09:20）")
    keep(walk, walk.shot("scan-signed"))
    clock.set(day)
    page.goto(f"/checkin/{token}")
    page.get_by_role("button", name="签到").click()
    expect(page.locator(".flash")).to_contain_text("您已于 09:20 签到")
    keep(walk, walk.shot("scan-refused"))
    page.goto("/members/me")
    expect(page.locator("body")).to_contain_text("巡场镇珙桐议事厅")
    expect(page.locator("body")).to_contain_text("清溪社区停车难议事会")
    keep(walk, walk.shot("member"))
