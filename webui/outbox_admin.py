"""Admin page for the outbox: deliveries by status, parked ones with their error and a retry button."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext

from domain.people import audit, policy

from . import engine_of
from .notifications import KIND_NAMES, centre
from .security import allowed_if

bp = Blueprint("outbox_admin", __name__, url_prefix="/admin", template_folder="templates")

FILTERS = {"parked": lazy_gettext("已搁置"), "failed": lazy_gettext("失败待重试"), "pending": lazy_gettext("待发送"),
           "sent": lazy_gettext("已发送"), "all": lazy_gettext("全部")}
STATUS_NAMES = {"pending": lazy_gettext("待发送"), "sending": lazy_gettext("发送中"),
                "failed": lazy_gettext("失败待重试"), "parked": lazy_gettext("已搁置"), "sent": lazy_gettext("已发送"),
                "dispatched": lazy_gettext("已分发")}
CHANNEL_NAMES = {"inapp": lazy_gettext("站内通知"), "email": lazy_gettext("邮件"), "webhook": lazy_gettext("Webhook"),
                 "sms": lazy_gettext("短信"), "dispatch": lazy_gettext("分发")}


@bp.get("/outbox")
@allowed_if(policy.may_see_outbox)
def index():
    """Messages of one status (parked first), newest first."""
    status = request.args.get("status", "parked")
    status = status if status in FILTERS else "parked"
    messages = centre().outbox(None if status == "all" else status)
    return render_template("outbox_admin/index.html", messages=messages, status=status, filters=FILTERS,
                           counts=centre().outbox_counts(), status_names=STATUS_NAMES, channel_names=CHANNEL_NAMES,
                           kind_names=KIND_NAMES)


@bp.post("/outbox/<int:message_id>/retry")
@allowed_if(policy.may_see_outbox)
def retry(message_id: int):
    """Put a parked or failing message back in the queue."""
    centre().retry(message_id)
    audit.log(engine_of(current_app).unit_of_work, g.user.username, "delivery_retried",
              engine_of(current_app).clock.now(), message_id=message_id)
    flash(gettext("消息 %(id)s 已重新排队，将在下一次投递时发送。", id=message_id), "success")
    return redirect(url_for(".index", status=request.form.get("status") or "parked"))
