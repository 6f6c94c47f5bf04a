"""Meetings' read side: the list an organizer sees, one meeting's page (invitees, answers, sign-ins), a member's
halls and meetings, and a consultation's meeting draft from its plan. Queries only."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from domain.consultation.models import Consultation
from domain.halls.models import HallMember
from domain.meetings.models import Meeting, MeetingAttendance, MeetingInvitee
from domain.meetings.service import checkin_window
from domain.people import policy
from domain.people.accounts import UserView
from engine.clock import LOCAL_TZ
from engine.store.models import OrgUnit

LIST_LIMIT = 200
INVITEE_ORDER = {"member": 0, "staff": 1, "department": 2, "resident": 3}     # members first on every list


@dataclass(frozen=True)
class MeetingPage:
    """One meeting as its page shows it."""

    meeting: Meeting
    place: str
    invitees: tuple[MeetingInvitee, ...]
    attendance: tuple[MeetingAttendance, ...]
    rsvp_counts: dict[str, int]
    instance_id: int | None
    opens: datetime
    closes: datetime

    def signed(self) -> dict[int, MeetingAttendance]:
        """Invitee id → their sign-in."""
        return {row.invitee_id: row for row in self.attendance if row.invitee_id is not None}

    def invitee_of(self, username: str) -> MeetingInvitee | None:
        """The reader's own invitation, if any."""
        return next((i for i in self.invitees if i.username == username), None)


def place_of(session: Session, meeting: Meeting) -> str:
    """The hall's name and/or the venue's words."""
    hall = session.scalar(select(OrgUnit.name).where(OrgUnit.code == meeting.hall_code)) if meeting.hall_code else None
    return " · ".join(part for part in (hall, meeting.venue) if part) or "—"


def page(session: Session, meeting_id: int) -> MeetingPage | None:
    """The meeting with its invitees, answers and sign-ins; None when there is no such meeting."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        return None
    invitees = tuple(sorted(session.scalars(select(MeetingInvitee).where(MeetingInvitee.meeting_id == meeting_id)),
                            key=lambda i: (INVITEE_ORDER.get(i.kind, len(INVITEE_ORDER)), i.id)))
    attendance = tuple(session.scalars(select(MeetingAttendance).where(MeetingAttendance.meeting_id == meeting_id)
                                       .order_by(MeetingAttendance.signed_in_at, MeetingAttendance.id)))
    instance_id = session.scalar(select(Consultation.instance_id).where(
        Consultation.id == meeting.consultation_id)) if meeting.consultation_id else None
    opens, closes = checkin_window(meeting)
    return MeetingPage(meeting, place_of(session, meeting), invitees, attendance,
                       dict(Counter(i.rsvp for i in invitees if i.username)), instance_id, opens, closes)


def listing(session: Session, user: UserView, upcoming: bool, now: datetime) -> list[tuple[Meeting, str, int, int]]:
    """(meeting, place, invitees, signed in) of the meetings `user` organises or may manage (everything for the
    county's staff), upcoming ones soonest first, past ones latest first; at most LIST_LIMIT."""
    query = select(Meeting)
    if not policy.sees_everything(user):
        units = sorted(org for role, org in user.memberships if role in policy.MEETING_ROLES)
        query = query.where(or_(Meeting.organizer == user.username, Meeting.org_unit_code.in_(units)))
    day = datetime.combine(now.astimezone(LOCAL_TZ).date(), time(), LOCAL_TZ)
    query = query.where(Meeting.starts_at >= day).order_by(Meeting.starts_at) if upcoming else \
        query.where(Meeting.starts_at < day).order_by(Meeting.starts_at.desc())
    meetings = list(session.scalars(query.limit(LIST_LIMIT)))
    ids = [m.id for m in meetings]
    invited = Counter(session.scalars(select(MeetingInvitee.meeting_id).where(MeetingInvitee.meeting_id.in_(ids))))
    signed = Counter(session.scalars(select(MeetingAttendance.meeting_id)
                                     .where(MeetingAttendance.meeting_id.in_(ids))))
    return [(m, place_of(session, m), invited[m.id], signed[m.id]) for m in meetings]


def invited_to(session: Session, username: str, now: datetime) -> list[tuple[Meeting, str, MeetingInvitee]]:
    """The planned meetings `username` is invited to, from today on, that they have not signed in to yet (a
    member's list)."""
    day = datetime.combine(now.astimezone(LOCAL_TZ).date(), time(), LOCAL_TZ)
    signed = select(MeetingAttendance.meeting_id).where(MeetingAttendance.username == username)
    rows = session.execute(select(Meeting, MeetingInvitee).join(MeetingInvitee, MeetingInvitee.meeting_id == Meeting.id)
                           .where(MeetingInvitee.username == username, Meeting.starts_at >= day,
                                  Meeting.status == "planned", Meeting.id.not_in(signed))
                           .order_by(Meeting.starts_at).limit(LIST_LIMIT)).all()
    return [(meeting, place_of(session, meeting), invitee) for meeting, invitee in rows]


def halls_of(session: Session, username: str) -> list[tuple[str, str, str, str]]:
    """(hall code, hall name, township name, capacity) of the halls the member serves."""
    units = {u.id: u for u in session.scalars(select(OrgUnit))}
    by_code = {u.code: u for u in units.values()}
    out = []
    for row in session.scalars(select(HallMember).where(HallMember.username == username)
                               .order_by(HallMember.hall_code)):
        hall = by_code.get(row.hall_code)
        township, unit = None, hall
        while unit is not None and township is None:
            township = unit if unit.kind == "township" else None
            unit = units.get(unit.parent_id)
        out.append((row.hall_code, hall.name if hall else row.hall_code, township.name if township else "—",
                    row.capacity))
    return out


def consultation_draft(session: Session, instance_id: int) -> dict | None:
    """What a consultation's plan says of its meeting (title, hall, venue, day, unit, researchers), for the new
    meeting form; None when the instance is no consultation."""
    case = session.scalar(select(Consultation).where(Consultation.instance_id == instance_id))
    if case is None:
        return None
    plan = case.plan or {}
    day = plan.get("meeting_date") or (case.meeting_date.isoformat() if case.meeting_date else "")
    try:
        date.fromisoformat(day)
    except (TypeError, ValueError):
        day = ""
    venue = plan.get("venue_other") if plan.get("venue") == "other" else None
    return {"kind": "consultation", "title": f"协商议事会：{case.topic or case.title}"[:200],
            "hall_code": case.hall_code or "", "venue": venue or "", "day": day, "start": "09:00", "end": "11:30",
            "org_unit_code": case.org_unit_code or "", "consultation_id": case.id,
            "members": [m for m in plan.get("researchers", []) if isinstance(m, str)]}


def meeting_of_consultation(session: Session, instance_id: int) -> int | None:
    """The latest meeting record (not cancelled) of the consultation run by the instance."""
    return session.scalar(select(Meeting.id).join(Consultation, Consultation.id == Meeting.consultation_id)
                          .where(Consultation.instance_id == instance_id, Meeting.status != "cancelled")
                          .order_by(Meeting.id.desc()).limit(1))


def local_range(day: date, start: time, end: time | None) -> tuple[datetime, datetime | None]:
    """A meeting's start and end on `day` in the county's time."""
    begins = datetime.combine(day, start, LOCAL_TZ)
    ends = datetime.combine(day, end, LOCAL_TZ) if end is not None else None
    return begins, ends
