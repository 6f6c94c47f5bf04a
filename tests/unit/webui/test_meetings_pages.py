"""The meeting pages: calling a meeting keeps bad input with messages, the notice says who was told, invitees answer,
the sign-in page taps and refuses a second sign-in kindly, the QR code is an SVG, and a member's page is theirs and
the office's only, with an export that reads back."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

from openpyxl import load_workbook
from sqlalchemy import select

from domain.consultation.models import Consultation
from domain.meetings.models import MeetingInvitee
from domain.notifications.dispatch import deliver_due
from tests.support import figures_fixture
from tests.unit.webui.conftest import csrf_of

DAY = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)


def _create(client, **changes) -> str:
    page = client.get("/meetings/new").get_data(as_text=True)
    data = {"csrf_token": csrf_of(page), "kind": "activity", "title": "议事厅开放日", "org_unit_code": "county",
            "hall_code": "", "venue": "县政协三楼会议室", "day": "2026-03-10", "start": "09:00", "end": "11:00",
            "members": ["m001", "m002"], "resident_name": ["张大姐", ""], "resident_contact": ["138****0000", ""]}
    data.update(changes)
    return client.post("/meetings/new", data=data)


def test_a_meeting_from_call_to_sign_in(client, login, web_engine):
    login("organizer_county")
    bad = _create(client, title="x", day="明天")
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "请填写会议日期" in text and 'value="x"' in text and "张大姐" in text      # input kept
    bad = _create(client, title="x")
    assert bad.status_code == 422 and "会议名称需 2–200 字" in bad.get_data(as_text=True)
    made = _create(client)
    assert made.status_code == 302
    url = made.headers["Location"]
    page = client.get(url).get_data(as_text=True)
    told = client.post(url + "/notify", data={"csrf_token": csrf_of(page)}, follow_redirects=True)
    assert "已通知 2 人" in told.get_data(as_text=True)
    again = client.post(url + "/notify", data={"csrf_token": csrf_of(page)}, follow_redirects=True)
    assert "没有重复发送" in again.get_data(as_text=True)
    with web_engine.reading() as session:
        m002 = session.scalar(select(MeetingInvitee.id).where(MeetingInvitee.username == "m002"))
    web_engine.clock.set(DAY)
    sheet = client.get(url + "/checkin")
    assert sheet.status_code == 200 and "点击签到" in sheet.get_data(as_text=True)
    tapped = client.post(f"{url}/checkin/{m002}", data={"csrf_token": csrf_of(page)}, follow_redirects=True)
    assert "已签到" in tapped.get_data(as_text=True)
    qr = client.get(url + "/qr.svg")
    assert qr.mimetype == "image/svg+xml" and b"<svg" in qr.data
    token = re.search(r"localhost/checkin/([\w-]{20,})<", sheet.get_data(as_text=True)).group(1)
    client.post("/logout", data={"csrf_token": csrf_of(page)})

    login("m002")
    scan = client.get(f"/checkin/{token}")
    assert scan.status_code == 200
    refused = client.post(f"/checkin/{token}", data={"csrf_token": csrf_of(scan.get_data(as_text=True))})
    assert refused.status_code == 409 and "您已于 09:00 签到" in refused.get_data(as_text=True)


def test_invitees_answer_and_others_are_kept_out(client, login, web_engine):
    login("organizer_county")
    url = _create(client).headers["Location"]
    client.post("/logout", data={"csrf_token": csrf_of(client.get(url).get_data(as_text=True))})
    login("m001")
    page = client.get(url).get_data(as_text=True)
    answered = client.post(url + "/rsvp", data={"csrf_token": csrf_of(page), "answer": "declined"},
                           follow_redirects=True).get_data(as_text=True)
    assert "已回复：不参加" in answered and "<b>不参加</b>" in answered
    assert client.get(url + "/checkin").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_of(page)})
    login("m003")
    assert client.get(url).status_code == 403


def test_a_members_page_is_theirs_and_the_offices(client, login, web_engine):
    login("organizer_county")
    url = _create(client, members=["m001"]).headers["Location"]
    web_engine.clock.set(DAY)
    sheet = client.get(url + "/checkin").get_data(as_text=True)
    with web_engine.reading() as session:
        m001 = session.scalar(select(MeetingInvitee.id).where(MeetingInvitee.username == "m001"))
    client.post(f"{url}/checkin/{m001}", data={"csrf_token": csrf_of(sheet)})
    assert client.get("/members/m001").status_code == 403        # an organizer is not the office
    client.post("/logout", data={"csrf_token": csrf_of(sheet)})
    login("m002")
    assert client.get("/members/m001").status_code == 403
    assert client.get("/members/me").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/members/me").get_data(as_text=True))})
    login("office")
    page = client.get("/members/m001?year=2026").get_data(as_text=True)
    assert "议事厅开放日" in page and "参加会议活动" in page
    book = load_workbook(io.BytesIO(client.get("/members/m001?year=2026&format=xlsx").data))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][:3] == ("委员", "联系议事厅", "类别")
    assert any(row[2] == "参加会议活动" and row[5] == "议事厅开放日" for row in rows[1:])
    text = client.get("/members/m001?year=2026&format=csv").data.decode("utf-8-sig")
    assert any("议事厅开放日" in row for row in csv.reader(io.StringIO(text)))


def test_a_member_answers_from_the_notice(client, login, web_engine):
    login("organizer_county")
    url = _create(client).headers["Location"]
    page = client.get(url).get_data(as_text=True)
    client.post(url + "/notify", data={"csrf_token": csrf_of(page)})
    deliver_due(web_engine)
    client.post("/logout", data={"csrf_token": csrf_of(page)})
    login("m001")
    centre = client.get("/notifications").get_data(as_text=True)
    assert "会议通知" in centre and "县政协三楼会议室" in centre
    notice = re.search(r'action="/notifications/(\d+)/meeting"', centre).group(1)
    answered = client.post(f"/notifications/{notice}/meeting", data={"csrf_token": csrf_of(centre),
                                                                     "answer": "attending"})
    assert answered.status_code == 302 and answered.headers["Location"].endswith(f"#n{notice}")
    assert "<b>参加</b>" in client.get(url).get_data(as_text=True)
    assert client.get(f"/notifications/{notice}/meeting").headers["Location"].endswith(url.split("localhost")[-1])
    client.post("/logout", data={"csrf_token": csrf_of(centre)})
    login("m002")                       # someone else's notice is not theirs to answer
    other = client.post(f"/notifications/{notice}/meeting", data={
        "csrf_token": csrf_of(client.get("/notifications").get_data(as_text=True)), "answer": "declined"})
    assert other.status_code == 404


def test_a_consultation_calls_its_meeting_from_its_plan(client, login, web_engine):
    with web_engine.unit_of_work() as session:
        ids = figures_fixture.load(session)
        case = session.scalar(select(Consultation).where(Consultation.instance_id == ids["b"]))
        case.plan = {"meeting_date": "2026-05-02", "venue": "other", "venue_other": "巡场镇便民服务中心",
                     "researchers": ["m001"]}
    login("organizer_county")
    start = client.get(f"/instances/{ids['b']}/meeting")
    assert start.status_code == 302 and f"instance={ids['b']}" in start.headers["Location"]
    form = client.get(start.headers["Location"]).get_data(as_text=True)
    assert f"协商议事会：主题{ids['b']}" in form and "巡场镇便民服务中心" in form and 'value="2026-05-02"' in form
    assert re.search(r'value="consultation" checked', form) and re.search(r'value="m001" checked', form)
    made = client.post("/meetings/new", data={
        "csrf_token": csrf_of(form), "kind": "consultation", "consultation_id": str(case.id),
        "title": f"协商议事会：主题{ids['b']}", "org_unit_code": "township_xunchang", "venue": "巡场镇便民服务中心",
        "day": "2026-05-02", "start": "09:00", "end": "11:30", "members": ["m001"]})
    assert made.status_code == 302
    again = client.get(f"/instances/{ids['b']}/meeting")
    assert again.headers["Location"] == made.headers["Location"]
    assert "查看协商事项" in client.get(made.headers["Location"]).get_data(as_text=True)
