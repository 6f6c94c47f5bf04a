"""The task inbox: tabs (assigned / claimable / took part / done), search, filters, badges, paging."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from . import services_of
from .openapi import MAX_STEP
from .params import int_arg, page_arg
from .security import current_user, login_required

bp = Blueprint("inbox", __name__, template_folder="templates")


@bp.get("/inbox")
@login_required
def index():
    """One tab of the inbox; without `?tab=` it opens my tasks, or the claimable ones when only they have work."""
    page = services_of(current_app).participation.inbox(
        current_user(), tab=request.args.get("tab") or None, search=request.args.get("q", "").strip()[:100],
        step=int_arg("step", None, 0, MAX_STEP), tier=request.args.get("tier") or None, page=page_arg())
    return render_template("inbox/index.html", page=page, query=request.args)
