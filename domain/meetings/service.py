"""Meetings' commands: call a meeting (a consultation's step-4 协商议事会 or another hall activity), send its notice
through the outbox once per invitee, take RSVPs, sign people in (the organizer's tap, a walk-in, or the member's own
scan of the QR code) once per person, and record the minutes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.consultation import figure_counts
from domain.consultation.models import Consultation
from domain.meetings.models import Meeting, MeetingAttendance, MeetingInvitee
from domain.notifications.dispatch import dispatch
from domain.people import policy
from domain.people.accounts import UserView
from engine.clock import LOCAL_TZ
from engine.errors import InvalidState, NotFound, PermissionDenied
from engine.store.models import OrgUnit, OutboxMessage, User

KINDS = ("consultation", "activity")
MAX_INVITEES = 500
MAX_TITLE, MAX_VENUE, MAX_NAME, MAX_CONTACT, MAX_MINUTES = 200, 200, 100, 100, 20000
MAX_HOURS = 24                        # a meeting lasts at most a day
CHECKIN_WINDOW = timedelta(hours=2)   # the QR code works on the meeting's day, from 2 h before it to 2 h after it


class MeetingInputError(InvalidState):
    """What is wrong with a meeting's input, field by field (messages in Chinese, English in brackets)."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class AlreadySignedIn(InvalidState):
    """The person signed in before; `at` is when."""

    def __init__(self, name: str, at: datetime):
        local = at.astimezone(LOCAL_TZ)
        super().__init__(f"{name}已于 {local:%H:%M} 签到 (already signed in at {local:%H:%M})")
        self.name, self.at = name, at


@dataclass(frozen=True)
class Draft:
    """What an organizer enters for a meeting."""

    kind: str
    title: str
    org_unit_code: str
    starts_at: datetime
    ends_at: datetime | None
    hall_code: str | None = None
    venue: str | None = None
    consultation_id: int | None = None
    members: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()
    residents: tuple[tuple[str, str], ...] = field(default=())     # (name, contact)


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def check(session: Session, draft: Draft) -> dict[str, str]:
    """Field → message for everything wrong with `draft` (empty when it may be saved)."""
    errors: dict[str, str] = {}
    if draft.kind not in KINDS:
        errors["kind"] = "请选择会议类型 (choose a kind)"
    if not 2 <= len(_clean(draft.title)) <= MAX_TITLE:
        errors["title"] = f"会议名称需 2–{MAX_TITLE} 字 (title: 2–{MAX_TITLE} characters)"
    if not draft.hall_code and len(_clean(draft.venue)) < 2:
        errors["venue"] = "请选择议事厅或填写其他地点 (choose a hall or name the venue)"
    elif len(_clean(draft.venue)) > MAX_VENUE:
        errors["venue"] = f"地点不能超过 {MAX_VENUE} 字 (venue: at most {MAX_VENUE} characters)"
    if draft.hall_code and session.scalar(select(OrgUnit.id).where(
            OrgUnit.code == draft.hall_code, OrgUnit.kind == "hall")) is None:
        errors["hall_code"] = "没有这个议事厅 (no such hall)"
    if session.scalar(select(OrgUnit.id).where(OrgUnit.code == draft.org_unit_code)) is None:
        errors["org_unit_code"] = "请选择组织单位 (choose the organising unit)"
    if draft.ends_at is not None and not draft.starts_at < draft.ends_at <= draft.starts_at + timedelta(
            hours=MAX_HOURS):
        errors["ends_at"] = f"结束时间须晚于开始时间，且不超过 {MAX_HOURS} 小时 (ends after it starts, within a day)"
    total = len(set(draft.members)) + len(set(draft.departments)) + len(draft.residents)
    if total > MAX_INVITEES:
        errors["members"] = f"邀请对象共 {total} 个，最多 {MAX_INVITEES} 个 (at most {MAX_INVITEES} invitees)"
    known = set(session.scalars(select(User.username).where(User.username.in_(set(draft.members)), User.active)))
    if unknown := sorted(set(draft.members) - known):
        errors["members"] = f"找不到这些委员：{'、'.join(unknown[:5])} (unknown people)"
    units = set(session.scalars(select(OrgUnit.code).where(OrgUnit.code.in_(set(draft.departments)))))
    if set(draft.departments) - units:
        errors["departments"] = "有单位不存在 (unknown units)"
    for number, (name, contact) in enumerate(draft.residents, 1):
        if not 1 <= len(_clean(name)) <= MAX_NAME or len(_clean(contact)) > MAX_CONTACT:
            errors["residents"] = (f"第 {number} 位群众代表：姓名 1–{MAX_NAME} 字，联系方式不超过 {MAX_CONTACT} 字 "
                                   f"(resident {number}: name 1–{MAX_NAME}, contact ≤ {MAX_CONTACT} characters)")
            break
    return errors


def _names(session: Session, usernames, model, key):
    return dict(session.execute(select(key, model.display_name if model is User else model.name)
                                .where(key.in_(set(usernames)))).all()) if usernames else {}


class Meetings:
    """The meeting commands, on the engine's sessions and clock."""

    def __init__(self, engine, settings=None):
        self.engine = engine
        self.settings = settings          # notification settings (None: the environment's when sending)

    def create(self, user: UserView, draft: Draft) -> int:
        """Save a planned meeting with its invitees; returns its id. MeetingInputError names bad fields."""
        if not policy.may_organize_meetings(user):
            raise PermissionDenied("只有协商组织者、办公室和平台负责人可以发起会议 (organizers only)")
        now = self.engine.clock.now()
        with self.engine.unit_of_work() as session:
            errors = check(session, draft)
            if errors:
                raise MeetingInputError(errors)
            meeting = Meeting(kind=draft.kind, title=_clean(draft.title), consultation_id=draft.consultation_id,
                              hall_code=draft.hall_code or None, venue=_clean(draft.venue) or None,
                              org_unit_code=draft.org_unit_code, starts_at=draft.starts_at, ends_at=draft.ends_at,
                              status="planned", organizer=user.username, checkin_token=secrets.token_urlsafe(24),
                              created_at=now, updated_at=now)
            session.add(meeting)
            session.flush()
            people = _names(session, draft.members, User, User.username)
            units = _names(session, draft.departments, OrgUnit, OrgUnit.code)
            session.add_all([MeetingInvitee(meeting_id=meeting.id, kind="member", username=name, name=people[name],
                                            rsvp="pending") for name in dict.fromkeys(draft.members)])
            session.add_all([MeetingInvitee(meeting_id=meeting.id, kind="department", org_unit_code=code,
                                            name=units[code], rsvp="pending")
                             for code in dict.fromkeys(draft.departments)])
            session.add_all([MeetingInvitee(meeting_id=meeting.id, kind="resident", name=_clean(name),
                                            contact=_clean(contact) or None, rsvp="pending")
                             for name, contact in draft.residents])
            return meeting.id

    def _managed(self, session: Session, user: UserView, meeting_id: int) -> Meeting:
        meeting = session.get(Meeting, meeting_id)
        if meeting is None:
            raise NotFound(f"会议不存在：{meeting_id} (no such meeting)")
        if not policy.may_manage_meeting(user, meeting.organizer, meeting.org_unit_code):
            raise PermissionDenied("只有会议组织者和办公室可以操作 (the organizer and the office only)")
        return meeting

    def notify(self, user: UserView, meeting_id: int) -> list[str]:
        """Send the notice (venue and time) to every invitee with an account not told yet, through the outbox (in-app,
        and email where configured); returns the names told now (a second send tells nobody twice)."""
        now = self.engine.clock.now()
        with self.engine.unit_of_work() as session:
            meeting = self._managed(session, user, meeting_id)
            if meeting.status != "planned":
                raise InvalidState("会议已召开或已取消，不再发送通知 (the meeting is no longer planned)")
            instance_id = session.scalar(select(Consultation.instance_id).where(
                Consultation.id == meeting.consultation_id)) if meeting.consultation_id else None
            where = self._place(session, meeting)
            when = _when(meeting)
            told = []
            for invitee in session.scalars(select(MeetingInvitee).where(
                    MeetingInvitee.meeting_id == meeting.id, MeetingInvitee.notified_at.is_(None),
                    or_(MeetingInvitee.username.isnot(None), and_(MeetingInvitee.kind == "department",
                                                                  MeetingInvitee.org_unit_code.isnot(None))))
                    .order_by(MeetingInvitee.id).with_for_update()):
                # a person by name; a department through its liaisons (承办单位联络员), who answer for it
                to = f"user:{invitee.username}" if invitee.username else f"department@{invitee.org_unit_code}"
                ask = "请在通知或会议页面回复是否参加。" if invitee.username else "请安排人员参加。"
                request = OutboxMessage(
                    idempotency_key=f"meeting:{meeting.id}:notice:{invitee.id}", instance_id=instance_id,
                    operator="notify", channel="dispatch", status="pending", attempts=0,
                    params={"kind": "meeting", "to": [to], "subject": meeting.title, "path": f"/meetings/{meeting.id}",
                            "message": f"{invitee.name}：请于 {when} 到 {where} 参加「{meeting.title}」。{ask}"},
                    created_at=now, next_attempt_at=now)
                session.add(request)
                session.flush()
                if dispatch(session, request, now, self.settings, self.engine.hooks):
                    invitee.notified_at = now
                    told.append(invitee.name)
                else:                             # nobody to tell (a department without a liaison): told offline,
                    session.delete(request)       # and a later send may try again
                    session.flush()
            return told

    @staticmethod
    def _place(session: Session, meeting: Meeting) -> str:
        hall = session.scalar(select(OrgUnit.name).where(OrgUnit.code == meeting.hall_code)) \
            if meeting.hall_code else None
        return " · ".join(part for part in (hall, meeting.venue) if part) or "—"

    def rsvp(self, user: UserView, meeting_id: int, answer: str) -> str:
        """The invitee's answer (attending | declined); returns it. Only people invited by name answer, before the
        meeting is held."""
        if answer not in ("attending", "declined"):
            raise InvalidState("请选择参加或不参加 (attending or declined)")
        now = self.engine.clock.now()
        with self.engine.unit_of_work() as session:
            meeting = session.get(Meeting, meeting_id)
            invitee = meeting and session.scalar(select(MeetingInvitee).where(
                MeetingInvitee.meeting_id == meeting_id, MeetingInvitee.username == user.username))
            if invitee is None:
                raise NotFound("您不在这次会议的邀请名单中 (you are not invited)")
            if meeting.status != "planned":
                raise InvalidState("会议已召开或已取消，无需回复 (the meeting is no longer planned)")
            invitee.rsvp, invitee.rsvp_at = answer, now
            return answer

    def sign_in_invitee(self, user: UserView, meeting_id: int, invitee_id: int) -> MeetingAttendance:
        """The organizer taps an invitee on the sign-in page."""
        with self.engine.unit_of_work() as session:
            meeting = self._managed(session, user, meeting_id)
            invitee = session.get(MeetingInvitee, invitee_id)
            if invitee is None or invitee.meeting_id != meeting.id:
                raise NotFound("邀请名单中没有此人 (no such invitee)")
            key = f"user:{invitee.username}" if invitee.username else f"invitee:{invitee.id}"
            return self._sign(session, meeting, key, invitee.username, invitee.id, invitee.name, "organizer",
                              user.username)

    def sign_in_walk_in(self, user: UserView, meeting_id: int, name: str) -> MeetingAttendance:
        """The organizer adds someone not on the list by name (a resident who came along)."""
        name = _clean(name)
        if not 1 <= len(name) <= MAX_NAME:
            raise MeetingInputError({"name": f"请填写姓名（1–{MAX_NAME} 字）(name: 1–{MAX_NAME} characters)"})
        with self.engine.unit_of_work() as session:
            meeting = self._managed(session, user, meeting_id)
            return self._sign(session, meeting, f"walk_in:{name}", None, None, name, "organizer", user.username)

    def sign_in_self(self, user: UserView, token: str) -> MeetingAttendance:
        """A person scans the QR code after signing in to the app: valid on the meeting's day, from
        CHECKIN_WINDOW before it starts to CHECKIN_WINDOW after it ends."""
        now = self.engine.clock.now()
        with self.engine.unit_of_work() as session:
            meeting = session.scalar(select(Meeting).where(Meeting.checkin_token == str(token)[:64]))
            if meeting is None or meeting.status == "cancelled":
                raise NotFound("签到码无效 (no meeting has this code)")
            opens, closes = checkin_window(meeting)
            if not opens <= now <= closes:
                raise InvalidState(f"签到时间为 {opens.astimezone(LOCAL_TZ):%m月%d日 %H:%M}–"
                                   f"{closes.astimezone(LOCAL_TZ):%H:%M}，现在不能签到 (sign-in is open only then)")
            invitee = session.scalar(select(MeetingInvitee.id).where(
                MeetingInvitee.meeting_id == meeting.id, MeetingInvitee.username == user.username))
            return self._sign(session, meeting, f"user:{user.username}", user.username, invitee,
                              user.display_name, "qr", user.username)

    def _sign(self, session: Session, meeting: Meeting, key: str, username, invitee_id, name: str, method: str,
              recorded_by: str) -> MeetingAttendance:
        """One row per person and meeting (the table's unique key decides a race); refuses a second sign-in."""
        earlier = session.scalar(select(MeetingAttendance).where(MeetingAttendance.meeting_id == meeting.id,
                                                                 MeetingAttendance.person_key == key))
        if earlier is not None:
            raise AlreadySignedIn(earlier.name, earlier.signed_in_at)
        now = self.engine.clock.now()
        row = MeetingAttendance(meeting_id=meeting.id, person_key=key, username=username, invitee_id=invitee_id,
                                name=name, method=method, signed_in_at=now, recorded_by=recorded_by)
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            earlier = session.scalar(select(MeetingAttendance).where(MeetingAttendance.meeting_id == meeting.id,
                                                                     MeetingAttendance.person_key == key))
            raise AlreadySignedIn(name, earlier.signed_in_at if earlier else now) from None
        _refresh_figures(session, meeting)
        return row

    def record_minutes(self, user: UserView, meeting_id: int, minutes: str) -> None:
        """Record the minutes and mark the meeting held (the workflow's step 4 is still completed on its task)."""
        minutes = (minutes or "").strip()
        if not 10 <= len(minutes) <= MAX_MINUTES:
            raise MeetingInputError({"minutes": f"会议纪要需 10–{MAX_MINUTES} 字 (minutes: 10–{MAX_MINUTES} "
                                                "characters)"})
        with self.engine.unit_of_work() as session:
            meeting = self._managed(session, user, meeting_id)
            if meeting.status == "cancelled":
                raise InvalidState("会议已取消 (the meeting was cancelled)")
            if meeting.starts_at > self.engine.clock.now():
                raise InvalidState("会议尚未开始，不能记录纪要 (the meeting has not started)")
            meeting.minutes, meeting.status, meeting.updated_at = minutes, "held", self.engine.clock.now()
            _refresh_figures(session, meeting)


def checkin_window(meeting: Meeting) -> tuple[datetime, datetime]:
    """When the QR code works: from CHECKIN_WINDOW before the start to CHECKIN_WINDOW after the end (the start when
    no end is set), within the meeting's day in the county's time."""
    start = meeting.starts_at.astimezone(LOCAL_TZ)
    day_start = start.replace(hour=0, minute=0, second=0, microsecond=0)
    end = (meeting.ends_at or meeting.starts_at).astimezone(LOCAL_TZ)
    return max(start - CHECKIN_WINDOW, day_start), min(end + CHECKIN_WINDOW, day_start + timedelta(days=1))


def _when(meeting: Meeting) -> str:
    start = meeting.starts_at.astimezone(LOCAL_TZ)
    end = f"–{meeting.ends_at.astimezone(LOCAL_TZ):%H:%M}" if meeting.ends_at else ""
    return f"{start:%Y-%m-%d %H:%M}{end}"


def _refresh_figures(session: Session, meeting: Meeting) -> None:
    """A consultation meeting's sign-ins are its participation figure: bring the counters up to date."""
    if meeting.consultation_id is None:
        return
    instance_id = session.scalar(select(Consultation.instance_id).where(Consultation.id == meeting.consultation_id))
    if instance_id is not None:
        figure_counts.refresh(session, [instance_id])


def attendance_count(session: Session, meeting_id: int) -> int:
    """People signed in to a meeting."""
    return session.scalar(select(func.count()).select_from(MeetingAttendance).where(
        MeetingAttendance.meeting_id == meeting_id)) or 0
