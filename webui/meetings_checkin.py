"""Sign-in on the meeting's day: the organizer's phone page (tap an invitee, add a walk-in, show the QR code) and
the page a member's scan opens (sign in after logging in). Once per person, whichever way."""

from __future__ import annotations

import io

import segno
from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from domain.meetings.models import Meeting
from domain.meetings.service import AlreadySignedIn, checkin_window
from engine.clock import LOCAL_TZ
from engine.errors import InvalidState

from . import engine_of
from .conflicts import wholly_local
from .meetings import load_page, meetings_service
from .security import current_user, login_required

bp = Blueprint("checkin", __name__, template_folder="templates")


def _managed(meeting_id: int):
    data, manages = load_page(meeting_id)
    if not manages:
        abort(403)
    return data


@bp.get("/meetings/<int:meeting_id>/checkin")
@login_required
def sheet(meeting_id: int):
    """The organizer's sign-in page: the QR code, the invitees to tap, a walk-in's name."""
    data = _managed(meeting_id)
    scan_url = url_for("checkin.scan", token=data.meeting.checkin_token, _external=True)
    return render_template("meetings/checkin.html", page=data, scan_url=scan_url, signed=data.signed())


@bp.get("/meetings/<int:meeting_id>/qr.svg")
@login_required
def qr(meeting_id: int):
    """The QR code of the scan page's address, drawn here (SVG), shown only to those who manage the meeting."""
    data = _managed(meeting_id)
    out = io.BytesIO()
    segno.make(url_for("checkin.scan", token=data.meeting.checkin_token, _external=True), error="m").save(
        out, kind="svg", scale=8, border=2, xmldecl=False, svgns=True)
    response = Response(out.getvalue(), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/meetings/<int:meeting_id>/checkin/<int:invitee_id>")
@login_required
def tap(meeting_id: int, invitee_id: int):
    """The organizer signs an invitee in."""
    try:
        row = meetings_service().sign_in_invitee(current_user(), meeting_id, invitee_id)
    except InvalidState as exc:
        flash(wholly_local(exc.message), "info" if isinstance(exc, AlreadySignedIn) else "error")
    else:
        flash(_("%(name)s 已签到。", name=row.name), "success")
    return redirect(url_for("checkin.sheet", meeting_id=meeting_id) + f"#i{invitee_id}")


@bp.post("/meetings/<int:meeting_id>/walk-in")
@login_required
def walk_in(meeting_id: int):
    """The organizer signs in someone not on the list, by name."""
    try:
        row = meetings_service().sign_in_walk_in(current_user(), meeting_id, request.form.get("name", "")[:200])
    except InvalidState as exc:
        flash(wholly_local(exc.message), "info" if isinstance(exc, AlreadySignedIn) else "error")
    else:
        flash(_("%(name)s 已签到。", name=row.name), "success")
    return redirect(url_for("checkin.sheet", meeting_id=meeting_id))


def _meeting_of(token: str) -> Meeting:
    with engine_of(current_app).reading() as session:
        meeting = session.scalar(select(Meeting).where(Meeting.checkin_token == token[:64]))
        if meeting is None:
            abort(404)
        session.expunge(meeting)
        return meeting


@bp.route("/checkin/<token>", methods=["GET", "POST"])
@login_required
def scan(token: str):
    """What the QR code opens: the meeting and a sign-in button (after logging in); a second sign-in is refused
    kindly with the time of the first."""
    meeting = _meeting_of(token)
    done = refused = None
    if request.method == "POST":
        try:
            done = meetings_service().sign_in_self(current_user(), token)
        except AlreadySignedIn as exc:
            refused = _("您已于 %(time)s 签到，无需重复签到。", time=exc.at.astimezone(LOCAL_TZ).strftime("%H:%M"))
        except InvalidState as exc:
            refused = wholly_local(exc.message)
    opens, closes = checkin_window(meeting)
    return render_template("meetings/scan.html", meeting=meeting, token=token, done=done, refused=refused,
                           opens=opens, closes=closes), 409 if refused else 200
