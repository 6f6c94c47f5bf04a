"""The notification centre: a person's notifications a page at a time (plain links, no script needed), unread count
in the header, notices of finished tasks shown as done, mark one or all read."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext, ngettext

from domain.notifications.centre import NotificationCentre
from domain.people import policy

from . import engine_of
from .params import int_arg
from .security import current_user, login_required

bp = Blueprint("notifications", __name__, template_folder="templates")

PER_PAGE = 20
MAX_COUNT_SHOWN = 99
KIND_NAMES = {"assignment": lazy_gettext("新待办"), "reminder": lazy_gettext("办理提醒"),
              "escalation": lazy_gettext("逾期督办"), "extension": lazy_gettext("延期"),
              "result": lazy_gettext("办理结果"), "meeting": lazy_gettext("会议通知")}
LEVEL_NAMES = {1: lazy_gettext("一级"), 2: lazy_gettext("二级")}


def centre() -> NotificationCentre:
    """The notification centre on this app's engine and settings."""
    return NotificationCentre(engine_of(current_app), current_app.extensions.get("xieshang_settings"))


def _unread_count() -> int:
    """The signed-in person's unread notifications, counted once per request."""
    if "unread_notifications" not in g:
        user = current_user()
        g.unread_notifications = centre().unread_count(user.username) if user else 0
    return g.unread_notifications


def count_label(count: int) -> str:
    """A count as a badge shows it: at most 99, then "99+"."""
    return str(count) if count <= MAX_COUNT_SHOWN else f"{MAX_COUNT_SHOWN}+"


@bp.app_context_processor
def _header():
    return {"unread_notifications": _unread_count, "count_label": count_label}


@bp.context_processor
def _names():
    return {"kind_names": KIND_NAMES, "level_names": LEVEL_NAMES}


@bp.get("/notifications")
@login_required
def index():
    """The person's notifications, newest first (all, or only unread), PER_PAGE at a time; `before` pages back."""
    unread_only = request.args.get("show") == "unread"
    before = int_arg("before")
    page = centre().page(current_user().username, unread_only, before, PER_PAGE)
    return render_template("notifications/index.html", items=page.items, next_before=page.next_before,
                           paged=before is not None, unread_only=unread_only,
                           sees_outbox=policy.may_see_outbox(current_user()))


@bp.post("/notifications/<int:notification_id>/read")
@login_required
def mark_read(notification_id: int):
    """Mark one notification read."""
    centre().mark_read(current_user().username, [notification_id])
    return redirect(url_for(".index", show=request.form.get("show") or None))


@bp.post("/notifications/read-all")
@login_required
def mark_all_read():
    """Mark every unread notification read."""
    count = centre().mark_read(current_user().username)
    flash(ngettext("已将 %(num)s 条通知标为已读。", "已将 %(num)s 条通知标为已读。", count), "success")
    return redirect(url_for(".index"))
