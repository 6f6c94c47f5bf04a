"""Meetings (/meetings): the list, calling a meeting (a consultation's 协商议事会 from its plan, or a hall activity),
its page with the notice, the answers and the minutes. The sign-in pages are in webui/meetings_checkin.py."""

from __future__ import annotations

from datetime import date, time

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from domain.meetings import views
from domain.meetings.service import MAX_INVITEES, Draft, MeetingInputError, Meetings
from domain.notifications.models import Notification
from domain.people import policy
from engine.errors import InvalidState

from . import engine_of, services_of
from .conflicts import wholly_local
from .pickers import labelled
from .security import current_user, login_required

bp = Blueprint("meetings", __name__, template_folder="templates")
MAX_RESIDENT_ROWS = 100


def meetings_service() -> Meetings:
    """The meeting commands on this app's engine and notification settings."""
    services = services_of(current_app)
    return Meetings(services.engine, services.settings)


@bp.get("/meetings")
@login_required
def index():
    """Organizers: the meetings they manage (upcoming, or past with ?past=1); everyone: the meetings they are
    invited to."""
    user, now = current_user(), engine_of(current_app).clock.now()
    past = request.args.get("past") == "1"
    with engine_of(current_app).reading() as session:
        managed = views.listing(session, user, not past, now) if policy.may_organize_meetings(user) else None
        invited = views.invited_to(session, user.username, now)
    return render_template("meetings/index.html", managed=managed, invited=invited, past=past)


def _form_values(form) -> dict:
    residents = [(n, c) for n, c in zip(form.getlist("resident_name")[:MAX_RESIDENT_ROWS + 1],
                                        form.getlist("resident_contact")[:MAX_RESIDENT_ROWS + 1], strict=False)
                 if n.strip() or c.strip()]
    return {"kind": form.get("kind", "activity"), "title": form.get("title", "")[:300],
            "hall_code": form.get("hall_code", "")[:64], "venue": form.get("venue", "")[:300],
            "day": form.get("day", "")[:10], "start": form.get("start", "")[:5], "end": form.get("end", "")[:5],
            "org_unit_code": form.get("org_unit_code", "")[:64],
            "consultation_id": form.get("consultation_id", "")[:12],
            "members": form.getlist("members")[:MAX_INVITEES + 1],
            "departments": form.getlist("departments")[:MAX_INVITEES + 1], "residents": residents}


def _draft(values: dict) -> tuple[Draft | None, dict[str, str]]:
    """The draft the form describes, or the date/time fields' messages."""
    errors = {}
    try:
        day = date.fromisoformat(values["day"])
    except ValueError:
        errors["day"] = _("请填写会议日期（年-月-日）。")
    try:
        start = time.fromisoformat(values["start"])
    except ValueError:
        errors["start"] = _("请填写开始时间（时:分）。")
    try:
        end = time.fromisoformat(values["end"]) if values["end"] else None
    except ValueError:
        errors["end"] = _("结束时间请写成 时:分。")
    if len(values["residents"]) > MAX_RESIDENT_ROWS:
        errors["residents"] = _("群众代表最多 %(n)s 位。", n=MAX_RESIDENT_ROWS)
    if errors:
        return None, errors
    starts, ends = views.local_range(day, start, end)
    consultation = int(values["consultation_id"]) if values["consultation_id"].isdigit() else None
    return Draft(kind=values["kind"], title=values["title"], org_unit_code=values["org_unit_code"], starts_at=starts,
                 ends_at=ends, hall_code=values["hall_code"] or None, venue=values["venue"],
                 consultation_id=consultation if values["kind"] == "consultation" else None,
                 members=tuple(values["members"]), departments=tuple(values["departments"]),
                 residents=tuple(values["residents"])), {}


def _choices(org_unit: str | None) -> dict:
    accounts = services_of(current_app).accounts
    units = accounts.org_units()
    return {"people": labelled(accounts.offered("member", org_unit or None)),
            "halls": accounts.places("hall", org_unit or None),
            "departments": [(u.code, u.name) for u in units if u.kind == "department"],
            "platforms": [(u.code, u.name) for u in units if u.kind in ("county", "committee", "sector", "township")]}


@bp.route("/meetings/new", methods=["GET", "POST"])
@login_required
def new():
    """Call a meeting; ?instance=<id> starts from a consultation's plan (its day, hall and researchers)."""
    user = current_user()
    if not policy.may_organize_meetings(user):
        abort(403)
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = _form_values(request.form)
        draft, errors = _draft(values)
        if draft is not None:
            try:
                meeting_id = meetings_service().create(user, draft)
            except MeetingInputError as exc:
                errors = {field: wholly_local(text) for field, text in exc.errors.items()}
            else:
                flash(_("会议已创建。请核对后发送通知。"), "success")
                return redirect(url_for("meetings.show", meeting_id=meeting_id))
    else:
        values = {"kind": "activity", "title": "", "hall_code": "", "venue": "", "day": "", "start": "", "end": "",
                  "org_unit_code": "", "consultation_id": "", "members": [], "departments": [], "residents": []}
        instance = request.args.get("instance", "")
        if instance.isdigit():
            with engine_of(current_app).reading() as session:
                values = views.consultation_draft(session, int(instance)) or values
            values.setdefault("departments", [])
            values.setdefault("residents", [])
    return render_template("meetings/new.html", values=values, errors=errors, max_invitees=MAX_INVITEES,
                           **_choices(values.get("org_unit_code"))), 422 if errors else 200


@bp.get("/instances/<int:instance_id>/meeting")
@login_required
def for_case(instance_id: int):
    """The consultation's 协商议事会: its page when one was called, else (for organizers) a new one from the plan."""
    with engine_of(current_app).reading() as session:
        meeting_id = views.meeting_of_consultation(session, instance_id)
    if meeting_id is not None:
        return redirect(url_for("meetings.show", meeting_id=meeting_id))
    if not policy.may_organize_meetings(current_user()):
        abort(404)
    return redirect(url_for("meetings.new", instance=instance_id))


def load_page(meeting_id: int) -> tuple[views.MeetingPage, bool]:
    """The meeting's page data and whether the reader manages it; its invitees and those who signed in to it see
    it too; 404 / 403 for others."""
    user = current_user()
    with engine_of(current_app).reading() as session:
        data = views.page(session, meeting_id)
    if data is None:
        abort(404)
    manages = policy.may_manage_meeting(user, data.meeting.organizer, data.meeting.org_unit_code)
    attended = any(row.username == user.username for row in data.attendance)
    if not manages and data.invitee_of(user.username) is None and not attended:
        abort(403)
    return data, manages


@bp.get("/meetings/<int:meeting_id>")
@login_required
def show(meeting_id: int):
    """The meeting: time, place, invitees and their answers, sign-ins, minutes; the invitee's own answer buttons."""
    data, manages = load_page(meeting_id)
    return render_template("meetings/show.html", page=data, manages=manages,
                           mine=data.invitee_of(current_user().username))


def _act(meeting_id: int, action, done: str):
    try:
        result = action()
    except InvalidState as exc:      # input errors, refusals and "already" all say why
        flash(wholly_local(exc.message), "error")
        return None
    flash(done, "success")
    return result


@bp.post("/meetings/<int:meeting_id>/notify")
@login_required
def notify(meeting_id: int):
    """Send the notice to everyone not told yet; says who was told now."""
    try:
        told = meetings_service().notify(current_user(), meeting_id)
    except InvalidState as exc:
        flash(wholly_local(exc.message), "error")
    else:
        flash(_("已通知 %(n)s 人：%(names)s", n=len(told), names="、".join(told)) if told
              else _("所有可通知的人都已通知过，没有重复发送。"), "success")
    return redirect(url_for("meetings.show", meeting_id=meeting_id))


@bp.post("/meetings/<int:meeting_id>/rsvp")
@login_required
def rsvp(meeting_id: int):
    """The invitee answers 参加 / 不参加."""
    answer = request.form.get("answer", "")
    _act(meeting_id, lambda: meetings_service().rsvp(current_user(), meeting_id, answer),
         _("已回复：参加。") if answer == "attending" else _("已回复：不参加。"))
    return redirect(url_for("meetings.show", meeting_id=meeting_id))


@bp.post("/meetings/<int:meeting_id>/minutes")
@login_required
def minutes(meeting_id: int):
    """Record the minutes; the meeting is then held."""
    text = request.form.get("minutes", "")[:25000]
    try:
        meetings_service().record_minutes(current_user(), meeting_id, text)
    except MeetingInputError as exc:
        data, manages = load_page(meeting_id)
        return render_template("meetings/show.html", page=data, manages=manages, minutes_text=text,
                               minutes_error=wholly_local(exc.errors["minutes"]),
                               mine=data.invitee_of(current_user().username)), 422
    except InvalidState as exc:
        flash(wholly_local(exc.message), "error")
    else:
        flash(_("会议纪要已保存，会议已标记为已召开。"), "success")
    return redirect(url_for("meetings.show", meeting_id=meeting_id))


def _notice_meeting(notification_id: int) -> int:
    """The meeting an in-app notice of the reader's is about (its key is meeting:<id>:notice:…); 404 otherwise."""
    with engine_of(current_app).reading() as session:
        key = session.scalar(select(Notification.idempotency_key).where(
            Notification.id == notification_id, Notification.username == current_user().username,
            Notification.kind == "meeting"))
    parts = (key or "").split(":")
    if len(parts) < 3 or parts[0] != "meeting" or not parts[1].isdigit():
        abort(404)
    return int(parts[1])


@bp.get("/notifications/<int:notification_id>/meeting")
@login_required
def from_notice(notification_id: int):
    """A notice's 查看会议 link."""
    return redirect(url_for("meetings.show", meeting_id=_notice_meeting(notification_id)))


@bp.post("/notifications/<int:notification_id>/meeting")
@login_required
def answer_notice(notification_id: int):
    """Answer 参加 / 不参加 right from the notice, then back to the notification centre."""
    meeting_id, answer = _notice_meeting(notification_id), request.form.get("answer", "")
    _act(meeting_id, lambda: meetings_service().rsvp(current_user(), meeting_id, answer),
         _("已回复：参加。") if answer == "attending" else _("已回复：不参加。"))
    return redirect(url_for("notifications.index") + f"#n{notification_id}")
