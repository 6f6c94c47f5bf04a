"""The task inbox: tabs (assigned / claimable / took part / done), search, filters, badges, paging; and for those who
watch a unit, the 督办 tab: the late and escalated tasks there, with 催办 (domain.notifications.urge) on each row."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, render_template, request
from flask_babel import gettext as _

from domain.notifications.urge import MAX_NOTE
from domain.people import policy
from domain.work import board, inbox
from engine.store import keyset

from . import services_of
from .openapi import MAX_STEP
from .params import int_arg
from .security import current_user, login_required

bp = Blueprint("inbox", __name__, template_folder="templates")
SUPERVISE = "supervise"
SUPERVISE_PER_PAGE = 20


@bp.get("/inbox")
@login_required
def index():
    """One tab of the inbox; without `?tab=` it opens my tasks, or the claimable ones when only they have work, or, for
    someone who watches units and has neither, 督办 when tasks there are overdue (their work is chasing them)."""
    if request.args.get("tab") == SUPERVISE:
        return supervise()
    participation, errors, status = services_of(current_app).participation, [], 200
    filters = {"tab": request.args.get("tab") or None, "search": request.args.get("q", "").strip()[:100],
               "step": int_arg("step", None, 0, MAX_STEP), "tier": request.args.get("tier") or None,
               "per_page": int_arg("per_page", inbox.PER_PAGE, 1, inbox.MAX_PER_PAGE)}
    try:
        page = participation.inbox(current_user(), after=_cursor_arg("after"), before=_cursor_arg("before"),
                                   **filters)
    except inbox.BadCursor:
        status, errors = 400, [_("翻页链接无效或已过期（可能被改动过），已回到第一页。")]
        page = participation.inbox(current_user(), **filters)
    if _lands_on_supervise(page):
        return supervise(page.labels)
    return render_template("inbox/index.html", page=page, query=request.args, errors=errors), status


def _lands_on_supervise(page) -> bool:
    """Whether a plain visit (no tab, filter or cursor asked for) should open 督办 instead of an empty work tab."""
    if any(request.args.get(name) for name in ("tab", "q", "step", "tier", "after", "before")):
        return False
    if any(page.counts[name] for name in inbox.WORK_TABS) or not policy.may_see_board(current_user()):
        return False
    if "overdue_in_scope" not in g:         # the badge's count, kept for the page's tabs and card
        g.overdue_in_scope = services_of(current_app).supervision.overdue_count(current_user())
    return bool(g.overdue_in_scope)


def _cursor_arg(name: str) -> str | None:
    """A cursor from the query string (its length is checked where it is read)."""
    return request.args.get(name) or None


def supervise(counts: dict[str, str] | None = None):
    """督办: the overdue tasks (escalated or not yet) in the units the person watches, most late first, each with
    its holder, working days late, escalation level and a 催办 form; the board's list has the filters."""
    user = current_user()
    if not policy.may_see_board(user):
        abort(403)
    services, status, errors = services_of(current_app), 200, []
    after, before = request.args.get("after") or None, request.args.get("before") or None
    try:
        page = services.supervision.tasks(user, board.Filters(), after, before, SUPERVISE_PER_PAGE)
    except keyset.BadCursor:
        status, errors = 400, [_("翻页链接无效或已过期（可能被改动过），已回到第一页。")]
        page = services.supervision.tasks(user, board.Filters(), None, None, SUPERVISE_PER_PAGE)
    # the default filters list exactly the overdue tasks in scope: the total is the badge's number (counted once)
    g.overdue_in_scope = page.total
    counts = counts if counts is not None else services.participation.inbox_labels(user)
    return render_template("inbox/supervise.html", page=page, counts=counts, query=request.args, errors=errors,
                           max_note=MAX_NOTE), status
