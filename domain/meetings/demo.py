"""The demo's meetings: the latest held demo consultation gets its 协商议事会 record (invited, signed in, minutes,
held), and 巡场镇's hall has an activity today and one in three days with answers, so a fresh `make run` shows the
meeting pages, the sign-in page and the members' pages with rows. Through the meeting commands, on a clock of its
own; once (nothing is added to a database that has a meeting)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select

from domain.consultation import demo_data
from domain.consultation.figure_counts import MEETING_TASK
from domain.consultation.models import Consultation
from domain.meetings.models import Meeting, MeetingInvitee
from domain.meetings.service import Draft, Meetings
from engine.clock import LOCAL_TZ, FrozenClock
from engine.store.submissions import TaskSubmission

ORGANIZER = "organizer_xunchang"
HALL = "township_xunchang_hall"
MINUTES = ("会议由镇政协工作联络组主持。委员通报了前期调研情况，相关部门就群众反映的问题作了说明，"
           "群众代表发表了意见。经充分协商，形成意见建议，交承办单位办理答复。")


def has_meetings(session) -> bool:
    """Whether any meeting was ever recorded."""
    return session.scalar(select(Meeting.id).limit(1)) is not None


def _at(day, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), LOCAL_TZ)


def load_meetings(services_factory, now: datetime) -> list[int]:
    """Record the demo meetings; `services_factory(clock)` builds the product's services on that clock. Returns
    the meeting ids (none when meetings exist already)."""
    clock = FrozenClock(now)
    services = services_factory(clock)
    engine, meetings = services.engine, Meetings(services.engine, services.settings)
    with engine.reading() as session:
        if has_meetings(session):
            return []
        held = session.execute(
            select(Consultation.id, Consultation.topic, Consultation.title, Consultation.org_unit_code,
                   Consultation.hall_code, Consultation.meeting_date, TaskSubmission.data)
            .join(TaskSubmission, TaskSubmission.instance_id == Consultation.instance_id)
            .where(TaskSubmission.task_spec == MEETING_TASK, Consultation.meeting_date.isnot(None))
            .order_by(Consultation.meeting_date.desc(), TaskSubmission.id.desc()).limit(1)).first()
    organizer = services.accounts.user(ORGANIZER)
    county = services.accounts.user("organizer_county")
    made = []
    if held is not None:
        attendees = [a for a in (held.data or {}).get("attendees", []) if isinstance(a, str)][:20]
        starts = _at(held.meeting_date, 9, 30)
        clock.set(starts - timedelta(days=7))
        meeting_id = meetings.create(county, Draft(
            kind="consultation", title=f"协商议事会：{held.topic or held.title}"[:200],
            org_unit_code=held.org_unit_code or "county", starts_at=starts, ends_at=starts + timedelta(hours=2),
            hall_code=held.hall_code, venue=None if held.hall_code else "县政协三楼会议室", consultation_id=held.id,
            members=tuple(attendees), residents=(("王桂芳", "139****2186"), ("陈德明", ""))))
        meetings.notify(county, meeting_id)
        with engine.reading() as session:
            invitees = session.execute(select(MeetingInvitee.id, MeetingInvitee.kind).where(
                MeetingInvitee.meeting_id == meeting_id).order_by(MeetingInvitee.id)).all()
        for number, (invitee_id, _kind) in enumerate(invitees):
            clock.set(starts - timedelta(minutes=20 - number))
            meetings.sign_in_invitee(county, meeting_id, invitee_id)
        clock.set(starts + timedelta(hours=3))
        meetings.record_minutes(county, meeting_id, MINUTES)
        made.append(meeting_id)
    members = tuple(demo_data.memberships_by_org(demo_data.users()).get("township_xunchang", ()))
    people = tuple(username for role, username in members if role == "member")[:8]
    today = now.astimezone(LOCAL_TZ).date()
    clock.set(now - timedelta(days=2))
    upcoming = (("珙桐议事厅开放日：听民意", today, 14), ("清溪社区停车难议事会", today + timedelta(days=3), 9))
    for title, day, hour in upcoming:
        starts = _at(day, hour)
        meeting_id = meetings.create(organizer, Draft(
            kind="activity", title=title, org_unit_code="township_xunchang", starts_at=starts,
            ends_at=starts + timedelta(hours=2), hall_code=HALL, members=people,
            departments=("dept_housing",), residents=(("刘春梅", "138****5521"),)))
        meetings.notify(organizer, meeting_id)
        for username, answer in zip(people[:4], ("attending", "attending", "declined", "attending"), strict=False):
            meetings.rsvp(services.accounts.user(username), meeting_id, answer)
        made.append(meeting_id)
    return made
