"""督办: the overdue board (a unit matrix of overdue and at-risk tasks), the list behind each cell with its filters,
sorting, paging and CSV/XLSX export, and 催办 (urge) from the list or the task page."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from domain.consultation.vocabulary import STEP_NAMES, TIER_NAMES
from domain.notifications.urge import MAX_NOTE
from domain.people import policy
from domain.work import board
from engine.errors import InvalidState
from engine.store import keyset

from . import services_of
from .conflicts import wholly_local
from .exports import MAX_ROWS, table_response
from .labels import localtime, step_names
from .params import int_arg
from .security import current_user, login_required

bp = Blueprint("board", __name__, template_folder="templates")
PER_PAGE = 25


def _require() -> None:
    if not policy.may_see_board(current_user()):
        abort(403)


def _filters() -> board.Filters:
    return board.parse_filters(request.args, TIER_NAMES, STEP_NAMES)


@bp.get("/board")
@login_required
def index():
    """The matrix: per unit, open, overdue and at-risk task counts, each a link to the list."""
    _require()
    matrix = services_of(current_app).supervision.matrix(current_user())
    return render_template("board/index.html", matrix=matrix)


@bp.get("/board/tasks")
@login_required
def tasks():
    """The list behind the board: filters, sorting by column, pages of at most board.MAX_PER_PAGE."""
    _require()
    supervision, filters = services_of(current_app).supervision, _filters()
    size = int_arg("per_page", PER_PAGE, 1, board.MAX_PER_PAGE)
    after, before = request.args.get("after") or None, request.args.get("before") or None
    status, errors = 200, _error_words(filters.errors)
    try:
        page = supervision.tasks(current_user(), filters, after, before, size)
    except keyset.BadCursor:
        status, errors = 400, [*errors, _("翻页链接无效或已过期（可能被改动过），已回到第一页。")]
        page = supervision.tasks(current_user(), filters, None, None, size)
    units = supervision.units(current_user())
    return render_template("board/tasks.html", page=page, filters=filters, query=request.args,
                           units=[u for u in units if u[2] != "department"],
                           departments=[u for u in units if u[2] == "department"],
                           versions=supervision.versions(), max_note=MAX_NOTE, errors=errors), status


@bp.get("/board/tasks.<fmt>")
@login_required
def export(fmt: str):
    """The filtered list as CSV or XLSX (every page, at most the export limit)."""
    _require()
    rows = services_of(current_app).supervision.export(current_user(), _filters(), MAX_ROWS)
    steps = step_names()
    headers = [_("议题"), _("步骤"), _("任务"), _("办理人"), _("单位"), _("期限"), _("超期工作日"), _("督办级别"),
               _("延期次数"), _("催办次数"), _("链接")]
    base = request.host_url.rstrip("/")
    return table_response(fmt, _("超期任务"), headers, (
        (r.title, steps.get(r.step, ""), r.task_name + (f" · {r.item_label}" if r.item_label else ""), r.holder,
         r.unit_name, localtime(r.due_at), r.days_late, r.escalation_level, r.extensions, r.urges,
         base + url_for("task.show", task_id=r.task_id)) for r in rows), sheet=_("超期任务"))


@bp.post("/board/tasks/<task_id>/urge")
@login_required
def urge(task_id: str):
    """催办: tell the holder (or the candidates) and the unit's lead; refused twice within the hour."""
    try:
        done = services_of(current_app).supervision.urge(current_user(), task_id, request.form.get("note", ""))
    except InvalidState as exc:
        flash(wholly_local(exc.message), "error")
    else:
        flash(_("已催办 %(holder)s（通知 %(n)s 人，累计催办 %(count)s 次）。", holder=done.holder, n=done.told,
                count=done.urges), "success")
    return redirect(_next() or url_for("board.tasks"))


def _next() -> str | None:
    """Where to go back to: the page the form came from (the board's list, a task page, the inbox's 督办 tab, the
    notification centre), never another site."""
    target = request.form.get("next", "")
    if target.startswith(("/board", "/tasks/", "/inbox", "/notifications")) and "//" not in target \
            and "\\" not in target:
        return target
    return None


def _error_words(errors: dict) -> list[str]:
    names = {"state": _("状态"), "tier": _("层级"), "step": _("步骤"), "sort": _("排序"), "from": _("期限自"),
             "to": _("期限至"), "version": _("流程版本"), "unit": _("单位"), "department": _("承办单位")}
    return [_("筛选条件「%(name)s」无效，已忽略。", name=names.get(name, name)) for name in errors]


@bp.app_context_processor
def _urging():
    """`may_urge(task)` for the task page's 催办 button; the board's menu rule and, for the inbox of a person who
    watches a unit, the overdue count there."""
    def may_urge(task_id: str) -> bool:
        user = current_user()
        return user is not None and policy.may_see_board(user) and \
            services_of(current_app).supervision.may_urge(user, task_id)

    def overdue_in_scope() -> int | None:
        if "overdue_in_scope" not in g:        # once per request: the inbox shows it in its card and its tabs
            user = current_user()
            g.overdue_in_scope = None if user is None else services_of(current_app).supervision.overdue_count(user)
        return g.overdue_in_scope

    return {"may_urge": may_urge, "max_urge_note": MAX_NOTE, "may_see_board": policy.may_see_board(current_user()),
            "overdue_in_scope": overdue_in_scope}
