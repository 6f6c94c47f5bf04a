"""Admin page for instances stopped in `error`: where and why each stopped, and a retry once the cause is fixed."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, url_for
from flask_babel import gettext

from domain.people import audit, policy

from . import engine_of
from .security import allowed_if

bp = Blueprint("failures_admin", __name__, url_prefix="/admin", template_folder="templates")


@bp.get("/errors")
@allowed_if(policy.may_handle_failures)
def index():
    """Instances in `error`, most recent failure first, with the element and the cause."""
    return render_template("failures_admin/index.html", failures=engine_of(current_app).list_errors())


@bp.post("/errors/<int:instance_id>/retry")
@allowed_if(policy.may_handle_failures)
def retry(instance_id: int):
    """Run the instance again from its last good state; it stays listed (with the new cause) if it fails again."""
    view = engine_of(current_app).retry_instance(instance_id, g.user.username)
    if view.status == "error":
        # The engine's own audit of the retry went with the failed attempt's transaction: keep who tried, and when.
        audit.log(engine_of(current_app).unit_of_work, g.user.username, "instance_retried",
                  engine_of(current_app).clock.now(), instance_id, error=view.error, succeeded=False)
        flash(gettext("事项 #%(id)s 重试后仍然出错：%(error)s", id=instance_id, error=view.error), "error")
    else:
        flash(gettext("事项 #%(id)s 已恢复运行。", id=instance_id), "success")
    return redirect(url_for(".index"))
