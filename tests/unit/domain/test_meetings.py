"""Meetings on SQLite and PostgreSQL: the notice goes once per invitee through the real outbox, RSVPs, sign-in is
once per person whichever way (and under a race), the QR code works only on the day, and attendance is what the
participation figure and the member's record count."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from domain.consultation import figures as figs
from domain.consultation.member_record import member_record
from domain.consultation.models import Consultation
from domain.meetings.models import Meeting, MeetingAttendance, MeetingInvitee
from domain.meetings.service import AlreadySignedIn, Draft, MeetingInputError, Meetings
from domain.notifications import dispatch
from domain.notifications.models import Notification
from domain.people.accounts import UserView
from engine.errors import InvalidState, NotFound, PermissionDenied
from engine.store.models import Membership, OrgUnit, OutboxMessage, User
from tests.support import figures_fixture

ORGANIZER = UserView("organizer_county", "组织者", True, (("organizer", "county"),))
M1 = UserView("m001", "委员一", True, (("member", "township_xunchang"),))
M3 = UserView("m003", "委员三", True, (("member", "township_xunchang"),))
DAY = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)           # 09:00 in the county


@pytest.fixture
def world(services):
    with services.engine.unit_of_work() as session:
        _people(session, services.engine.clock.now())
        ids = figures_fixture.load(session)
        case_a = session.scalar(select(Consultation.id).where(Consultation.instance_id == ids["a"]))
    return services, Meetings(services.engine), ids, case_a


def _people(session, now) -> None:
    """The few units and accounts these tests name (the demo's whole directory costs seconds per database)."""
    county = OrgUnit(code="county", name="珙县政协", kind="county", tier="county")
    session.add(county)
    session.flush()
    session.add_all([OrgUnit(code="township_xunchang", name="巡场镇", kind="township", tier="township",
                             parent_id=county.id),
                     OrgUnit(code="dept_transport", name="县交通运输局", kind="department"),
                     OrgUnit(code="dept_water", name="县水务局", kind="department")])
    session.add_all([User(username=name, display_name=name, password_hash="-", active=True, created_at=now)
                     for name in ("m001", "m002", "m003", "liaison_transport")])
    session.flush()
    session.add(Membership(role="department", user_id=session.scalar(select(User.id).where(
        User.username == "liaison_transport")), org_unit_id=session.scalar(select(OrgUnit.id).where(
            OrgUnit.code == "dept_transport"))))


def _draft(case=None, **changes) -> Draft:
    values = dict(kind="consultation" if case else "activity", title="金河新区协商议事会", org_unit_code="county",
                  starts_at=DAY, ends_at=DAY.replace(hour=3), hall_code=None, venue="县政协三楼会议室",
                  consultation_id=case, members=("m001", "m002", "m003"), departments=("dept_transport",),
                  residents=(("张大姐", "138****0000"),))
    values.update(changes)
    return Draft(**values)


def test_the_notice_goes_once_per_invitee_through_the_outbox(world):
    services, meetings, _ids, case = world
    meeting_id = meetings.create(ORGANIZER, _draft(case, departments=("dept_transport", "dept_water")))
    told = meetings.notify(ORGANIZER, meeting_id)
    # the three members, and a department through its liaison; a department without one and the resident: offline
    assert len(told) == 4 and "县交通运输局" in told and "县水务局" not in told
    assert meetings.notify(ORGANIZER, meeting_id) == []                               # a re-send tells nobody twice
    dispatch.deliver_due(services.engine)
    with services.engine.reading() as session:
        requests = session.scalars(select(OutboxMessage).where(
            OutboxMessage.idempotency_key.like(f"meeting:{meeting_id}:notice:%"),
            OutboxMessage.recipient.is_(None))).all()
        notices = session.scalars(select(Notification).where(Notification.kind == "meeting")).all()
    assert len(requests) == 4
    assert sorted(n.username for n in notices) == ["liaison_transport", "m001", "m002", "m003"]
    assert "请安排人员参加" in next(n for n in notices if n.username == "liaison_transport").body
    body = next(n for n in notices if n.username == "m001").body
    assert "2026-03-10 09:00–11:00" in body and "县政协三楼会议室" in body
    assert notices[0].title == "【会议通知】金河新区协商议事会"


def test_rsvp_is_for_invitees_before_the_meeting(world):
    _services, meetings, _ids, case = world
    meeting_id = meetings.create(ORGANIZER, _draft(case))
    assert meetings.rsvp(M1, meeting_id, "declined") == "declined"
    assert meetings.rsvp(M1, meeting_id, "attending") == "attending"
    stranger = UserView("m100", "旁人", True, (("member", "county"),))
    with pytest.raises(NotFound):
        meetings.rsvp(stranger, meeting_id, "attending")
    with pytest.raises(InvalidState):
        meetings.rsvp(M1, meeting_id, "maybe")


def test_bad_input_names_each_field_and_members_may_not_call_meetings(world):
    _services, meetings, _ids, _case = world
    with pytest.raises(MeetingInputError) as caught:
        meetings.create(ORGANIZER, _draft(title="x", venue="", members=("nobody",), ends_at=DAY,
                                          residents=(("", "1"),)))
    assert set(caught.value.errors) == {"title", "venue", "members", "ends_at", "residents"}
    with pytest.raises(MeetingInputError) as caught:
        meetings.create(ORGANIZER, _draft(residents=tuple((f"代表{i}", "") for i in range(498))))
    assert "最多 500" in caught.value.errors["members"]
    with pytest.raises(PermissionDenied):
        meetings.create(M1, _draft())


def test_sign_in_is_once_per_person_whichever_way(world):
    services, meetings, _ids, case = world
    meeting_id = meetings.create(ORGANIZER, _draft(case))
    token = _token(services, meeting_id)
    services.engine.clock.set(DAY.replace(hour=0, minute=55))
    with services.engine.reading() as session:
        invitee = session.scalar(select(MeetingInvitee.id).where(MeetingInvitee.meeting_id == meeting_id,
                                                                 MeetingInvitee.username == "m003"))
    meetings.sign_in_invitee(ORGANIZER, meeting_id, invitee)
    with pytest.raises(AlreadySignedIn) as caught:
        meetings.sign_in_self(M3, token)
    assert "已于 08:55 签到" in str(caught.value)
    with pytest.raises(AlreadySignedIn):
        meetings.sign_in_invitee(ORGANIZER, meeting_id, invitee)
    meetings.sign_in_walk_in(ORGANIZER, meeting_id, "李四")
    with pytest.raises(AlreadySignedIn):
        meetings.sign_in_walk_in(ORGANIZER, meeting_id, " 李四 ")
    with services.engine.reading() as session:
        assert session.scalar(select(func.count()).select_from(MeetingAttendance)) == 2


def test_the_qr_code_works_only_around_the_meeting(world):
    services, meetings, _ids, _case = world
    meeting_id = meetings.create(ORGANIZER, _draft())
    with services.engine.reading() as session:
        token = session.get(Meeting, meeting_id).checkin_token
    services.engine.clock.set(DAY.replace(day=9))
    with pytest.raises(InvalidState) as caught:
        meetings.sign_in_self(M1, token)
    assert "现在不能签到" in str(caught.value) and "03月10日 07:00" in str(caught.value)
    services.engine.clock.set(DAY.replace(hour=5, minute=1))      # 13:01: over two hours after 11:00
    with pytest.raises(InvalidState):
        meetings.sign_in_self(M1, token)
    with pytest.raises(NotFound):
        meetings.sign_in_self(M1, "not-a-token")
    services.engine.clock.set(DAY.replace(hour=4, minute=59))
    assert meetings.sign_in_self(M1, token).method == "qr"


def test_attendance_is_what_participation_and_the_record_count(world):
    services, meetings, ids, case = world
    year = figs.parse_period("2026", DAY.date())
    with services.engine.reading() as session:
        before = figs.compute(session, year)
        assert [e.instance_id for e in member_record(session, "m001", year).meetings] == [ids["a"], ids["b"]]
    assert before.attendances == 3                  # A's form names m001 and m002, B's m001
    meeting_id = meetings.create(ORGANIZER, _draft(case))
    services.engine.clock.set(DAY)
    meetings.sign_in_self(M3, _token(services, meeting_id))
    with services.engine.reading() as session:
        after = figs.compute(session, year)
        m1 = member_record(session, "m001", year)
        m3 = member_record(session, "m003", year)
    assert after.attendances == 2                   # A now counts its one sign-in; B keeps its form's attendee
    assert after.participation == before.participation - 1
    assert [e.instance_id for e in m1.meetings] == [ids["b"]]
    assert [(e.instance_id, e.meeting_id) for e in m3.meetings] == [(ids["a"], meeting_id)]
    assert {s.instance_id for s in m3.suggestions} == {ids["a"]}   # the suggestions of the meeting they were at
    meetings.record_minutes(ORGANIZER, meeting_id, "会议围绕金河新区公交线路进行了充分协商。")
    with services.engine.reading() as session:
        assert session.get(Meeting, meeting_id).status == "held"
    activity = meetings.create(ORGANIZER, _draft(title="议事厅开放日", members=("m001",)))
    meetings.sign_in_self(M1, _token(services, activity))
    with services.engine.reading() as session:
        titles = [e.title for e in member_record(session, "m001", year).meetings]
        assert figs.compute(session, year).attendances == 2     # a hall activity is no consultation's figure
    assert "议事厅开放日" in titles


def _token(services, meeting_id: int) -> str:
    with services.engine.reading() as session:
        return session.get(Meeting, meeting_id).checkin_token


def test_a_concurrent_double_sign_in_leaves_one_row(world, db_url):
    services, meetings, _ids, case = world
    if not db_url.startswith("postgresql"):
        pytest.skip("the race needs two connections writing at once (PostgreSQL)")
    meeting_id = meetings.create(ORGANIZER, _draft(case))
    token = _token(services, meeting_id)
    services.engine.clock.set(DAY)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def scan():
        barrier.wait()
        try:
            meetings.sign_in_self(M3, token)
            outcomes.append("signed")
        except AlreadySignedIn:
            outcomes.append("refused")

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(outcomes) == ["refused", "signed"]
    with services.engine.reading() as session:
        assert session.scalar(select(func.count()).select_from(MeetingAttendance).where(
            MeetingAttendance.meeting_id == meeting_id)) == 1
