"""The halls registry (议事厅) `/halls`: every hall the person may see with its seven 七有 items for a year (filtered by
township, by a missing item, by meeting all seven), the coverage per township `/halls/coverage`, a hall's page and
its files. Editing lives in halls_edit.py, the spreadsheet import in halls_import.py."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request, send_file
from flask_babel import gettext as _
from flask_babel import pgettext

from domain.halls import registry, standard
from domain.people import policy
from engine.clock import LOCAL_TZ

from . import engine_of, services_of
from .security import allowed_if, current_user

bp = Blueprint("halls", __name__, template_folder="templates")
FIRST_YEAR = 2015


def item_names() -> dict[str, str]:
    """The seven items' names."""
    return {"venue": _("有阵地"), "signage": _("有标识"), "rules": _("有制度"), "people": _("有人员"),
            "plan": _("有计划"), "activity": _("有活动"), "results": _("有实效")}


def item_short() -> dict[str, str]:
    """The items' names where a phone's column is narrow."""
    return {"venue": _("阵地"), "signage": _("标识"), "rules": _("制度"), "people": _("人员"), "plan": _("计划"),
            "activity": _("活动"), "results": _("实效")}


def state_short() -> dict[str, str]:
    """The entered items' states where a phone's column is narrow (the legend says them in full)."""
    return {"missing": "✗", "submitted": _("待"), "returned": _("退")}


def item_help() -> dict[str, str]:
    """What each item asks, as the hall's page explains it."""
    return {"venue": _("有固定的议事场所"), "signage": _("有统一的“珙桐议事厅/室”标识"),
            "rules": _("有议事规则等制度并上墙"), "people": _("有联系委员和议事成员"),
            "plan": _("本年度已批准的协商计划中有在此开展的事项（自动统计）"),
            "activity": _("本年度在此召开过会议或协商议事会（自动统计）"),
            "results": _("本年度在此协商形成的建议有被采纳或部分采纳的（自动统计）")}


def state_names() -> dict[str, str]:
    """The entered items' states."""
    return {"missing": _("未提交"), "submitted": _("待确认"), "confirmed": _("已确认"), "returned": _("已退回")}


def capacity_names() -> dict[str, str]:
    """How a member is assigned to a hall."""
    return {"municipal_member": _("市政协委员"), "county_member": _("县政协委员"), "adviser": _("资政员")}


def change_names() -> dict[str, str]:
    """What an audited change to a hall did."""
    return {"hall_item_submitted": _("提交七有项目"), "hall_item_confirmed": _("确认七有项目"),
            "hall_item_returned": _("退回七有项目"), "hall_profile_saved": _("修改基本情况"),
            "hall_member_assigned": _("安排委员联系"), "hall_member_unassigned": _("取消委员联系"),
            "hall_files_added": pgettext("event", "上传文件"), "hall_file_removed": _("删除文件")}


def this_year() -> int:
    """The current year, Beijing time."""
    return engine_of(current_app).clock.now().astimezone(LOCAL_TZ).year


def read_year() -> int:
    """`?year=` when it is a sensible year, else this year."""
    wanted = request.args.get("year", "")
    current = this_year()
    return int(wanted) if wanted.isdigit() and FIRST_YEAR <= int(wanted) <= current + 1 else current


def visible_halls(session, user, township: str = ""):
    """The halls `user` sees (of one township when `township` is given)."""
    units = policy.hall_units(user)
    if township:
        units = frozenset({township}) if units is None or township in units else frozenset()
    return registry.halls(session, units)


def hall_or_404(session, code: str):
    """The hall, when the person may see it (404 for unknown halls, 403 for others' townships)."""
    found = registry.hall(session, code) if len(code) <= 64 else None
    if found is None:
        abort(404)
    if not policy.may_see_hall(current_user(), found.township_code):
        abort(403)
    return found


@bp.get("/halls")
@allowed_if(policy.may_see_halls)
def index():
    """The registry: one row per hall, its seven items for the year, filtered by the address's parameters."""
    user, year = current_user(), read_year()
    township, missing, meets, q = (request.args.get(k, "")[:64] for k in ("township", "missing", "meets", "q"))
    with engine_of(current_app).reading() as session:
        rows = standard.statuses(session, visible_halls(session, user, township), year)
        choices = [(c, n) for c, n in registry.townships(session) if policy.may_see_hall(user, c)]
    if missing in standard.ITEMS:
        rows = [r for r in rows if not r.met(missing)]
    if meets in ("1", "0"):
        rows = [r for r in rows if r.meets_all == (meets == "1")]
    if q:
        rows = [r for r in rows if q in r.hall.name or q in r.hall.code]
    return render_template("halls/index.html", rows=rows, year=year, years=_years(), township=township,
                           missing=missing, meets=meets, q=q, townships=choices, items=standard.ITEMS,
                           entered=standard.ENTERED, item_names=item_names(), state_names=state_names(),
                           item_short=item_short(), state_short=state_short(), may_import=policy.may_import_halls(user))


@bp.get("/halls/coverage")
@allowed_if(policy.may_see_halls)
def coverage():
    """How many halls meet all seven per township, and how many miss each item; every count links to its halls."""
    user, year = current_user(), read_year()
    with engine_of(current_app).reading() as session:
        rows = standard.statuses(session, visible_halls(session, user), year)
    figures = standard.coverage(rows)
    total = standard.TownshipCoverage("", _("合计"), sum(f.halls for f in figures), sum(f.meets_all for f in figures),
                                      {i: sum(f.missing[i] for f in figures) for i in standard.ITEMS})
    return render_template("halls/coverage.html", figures=figures, total=total, year=year, years=_years(),
                           items=standard.ITEMS, item_names=item_names(), item_short=item_short())


@bp.get("/halls/<code>")
@allowed_if(policy.may_see_halls)
def show(code: str):
    """A hall's page."""
    return render_hall(code)


def render_hall(code: str, errors: dict | None = None, kept: dict | None = None, status: int = 200):
    """The hall's page, with `errors` (form name → message) and what the person typed (`kept`) after a refusal."""
    user, year = current_user(), read_year()
    with engine_of(current_app).reading() as session:
        hall = hall_or_404(session, code)
        row = standard.statuses(session, [hall], year)[0]
        basis = standard.computed_basis(session, code, year)
        files = registry.files(session, code)
        page = dict(hall=hall, row=row, profile=registry.profile(session, code),
                    members=registry.members(session, code),
                    entries=standard.entries(session, code), held=registry.held_here(session, code),
                    history=registry.history(session, code),
                    photos=[f for f in files if f.purpose == "photo"],
                    evidence={i: [f for f in files if f.purpose == i] for i in standard.ENTERED})
    return render_template(
        "halls/show.html", **page, year=year, years=_years(), items=standard.ITEMS, entered=standard.ENTERED,
        computed=standard.COMPUTED, item_names=item_names(), item_help=item_help(), state_names=state_names(),
        capacity_names=capacity_names(), change_names=change_names(), errors=errors or {}, kept=kept or {},
        basis=basis, missing_names=_("、").join(item_names()[item] for item in page["row"].missing),
        may_keep=policy.may_keep_hall(user, hall.township_code),
        may_enter=policy.may_enter_standard(user, hall.township_code),
        may_confirm=policy.may_confirm_standard(user)), status


@bp.get("/halls/<code>/files/<upload_id>")
@allowed_if(policy.may_see_halls)
def file(code: str, upload_id: str):
    """One of a hall's photos or evidence files, for those who see the hall (photos shown in the page)."""
    with engine_of(current_app).reading() as session:
        hall_or_404(session, code)
        found = registry.file_of(session, code, upload_id[:32])
    path = services_of(current_app).uploads.path_of(upload_id[:32])
    if found is None or not path.is_file():
        abort(404)
    inline = found.purpose == "photo" and found.content_type in ("image/jpeg", "image/png")
    response = send_file(path, mimetype=found.content_type, as_attachment=not inline, download_name=found.filename,
                         max_age=0, conditional=False, etag=False)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _years() -> list[int]:
    current = this_year()
    return list(range(current + 1, max(FIRST_YEAR, current - 5) - 1, -1))
