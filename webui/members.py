"""A member's page (/members/<username>): their halls and township, and the consultations, research, meetings and
suggestions they took part in (the 履职 record) for a year, with its CSV/XLSX export. Only the member, the county
CPPCC office, supervisors and admins see it (the former /members/<username>/record redirects here)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from domain.consultation import figures as figs
from domain.consultation.member_record import member_record
from domain.meetings import views
from domain.people import policy
from engine.clock import LOCAL_TZ

from . import engine_of, services_of
from .exports import FORMATS, table_response
from .security import current_user, login_required

bp = Blueprint("members", __name__, template_folder="templates")
CAPACITIES = {"municipal_member": lazy_gettext("市政协委员"), "county_member": lazy_gettext("县政协委员"),
              "adviser": lazy_gettext("资政员")}


def _kind_names() -> dict[str, str]:
    return {"research": _("调查研究"), "meeting": _("参加会议活动"), "proposal": _("提出议题"),
            "suggestion": _("会议意见建议")}


def _detail_names() -> dict[str, str]:
    return {"completed": _("已完成"), "open": _("办理中"), "attended": _("已参会"), "intake": _("受理中"),
            "in_progress": _("已受理"), "declined": _("不予受理"), "cancelled": _("已终止"),
            "adopted": _("采纳"), "partly": _("部分采纳"), "not_adopted": _("未采纳"), "solved": _("已解决"),
            "not_ours": _("不属于本单位职责"), "unanswered": _("未答复")}


@bp.get("/members/me")
@login_required
def mine():
    """The menu's 我的履职."""
    return page(current_user().username)


@bp.get("/members/<username>")
@login_required
def page(username: str):
    """The member's page for ?year= (this year by default); ?format=csv|xlsx downloads the year's record."""
    username = username[:64]
    if not policy.may_see_member_page(current_user(), username):
        abort(403)
    today = engine_of(current_app).clock.now().astimezone(LOCAL_TZ).date()
    year = request.args.get("year", "")[:4] or str(today.year)
    try:
        period = figs.parse_period(year, today)
    except figs.PeriodError:
        abort(404)
    person = services_of(current_app).accounts.user(username)     # NotFound → 404 (webui.errors)
    with engine_of(current_app).reading() as session:
        record = member_record(session, username, period)
        halls = views.halls_of(session, username)
        invited = views.invited_to(session, username, engine_of(current_app).clock.now())
    fmt = request.args.get("format")
    if fmt in FORMATS:
        return _export(fmt, record, person.display_name, halls)
    if fmt:
        abort(404)
    return render_template("meetings/member.html", record=record, person=person, year=year, halls=halls,
                           invited=invited,
                           capacities=CAPACITIES, kind_names=_kind_names(), detail_names=_detail_names())


def _export(fmt: str, record, name: str, halls):
    kinds, details = _kind_names(), _detail_names()
    where = "；".join(f"{hall}（{township}）" for _code, hall, township, _cap in halls) or "—"
    rows = [(name, where, kinds[e.kind], e.instance_id or None, e.meeting_id, e.title,
             e.at.astimezone(LOCAL_TZ).date() if e.at else None, details.get(e.detail, e.detail))
            for e in record.entries]
    headers = [_("委员"), _("联系议事厅"), _("类别"), _("事项编号"), _("会议编号"), _("事项"), _("日期"), _("状态")]
    return table_response(fmt, f"委员履职-{record.username}-{record.period.key}", headers, rows, _("委员履职"))
