"""Overview: deployed processes, instances by status and step, open and overdue tasks; plus /healthz."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template

from engine.queries import overview

from . import engine_of

bp = Blueprint("overview", __name__, template_folder="templates")


@bp.get("/")
def index():
    """The overview page."""
    engine = engine_of(current_app)
    with engine.unit_of_work() as session:
        summary = overview(session, engine.clock.now())
    return render_template("overview/index.html", summary=summary)


@bp.get("/healthz")
def healthz():
    """Liveness and database reachability."""
    engine = engine_of(current_app)
    with engine.unit_of_work() as session:
        summary = overview(session, engine.clock.now())
    return jsonify(status="ok", instances=sum(summary.instances_by_status.values()))
