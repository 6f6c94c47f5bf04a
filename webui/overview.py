"""Overview: deployed processes, instances by status and step, open and overdue tasks (probes: webui/probes.py)."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, url_for

from domain.people.policy import visible_instances
from engine.store.queries import overview

from . import engine_of
from .security import current_user, login_required

bp = Blueprint("overview", __name__, template_folder="templates")


@bp.get("/")
def home():
    """Signed-in people start at their inbox; everyone else at the sign-in page."""
    if current_user() is None:
        return redirect(url_for("auth.login"))
    target = "inbox.index" if "inbox.index" in current_app.view_functions else "overview.index"
    return redirect(url_for(target))


@bp.get("/overview")
@login_required
def index():
    """The overview page."""
    engine = engine_of(current_app)
    with engine.reading() as session:
        summary = overview(session, engine.clock.now(), visible_instances(current_user()), engine.hooks)
    return render_template("overview/index.html", summary=summary)

