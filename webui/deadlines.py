"""The deadline rules, read-only: for each step and tier, what the days are counted from, how many, when the reminder
goes out and whom the escalations reach; the same table the engine applies. Process owners, supervisors and the
office read it (domain/people/policy.py)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask_babel import lazy_gettext

from domain.people import policy
from domain.work.deadline_rules import all_rules

from . import engine_of
from .security import allowed_if

bp = Blueprint("deadlines", __name__, template_folder="templates")

AUDIENCE_NAMES = {"assignee": lazy_gettext("任务办理人"), "supervisor": lazy_gettext("本级督办人员"),
                  "county_leadership": lazy_gettext("县政协领导和督办人员")}


@bp.get("/deadlines")
@allowed_if(policy.may_see_deadline_rules)
def index():
    """Every deployed process's deadline rules, step by step, one row per tier."""
    processes = all_rules(engine_of(current_app))
    steps = [[(step, [r for r in p.rows if r.step == step]) for step in sorted({r.step for r in p.rows})]
             for p in processes]
    return render_template("deadlines/index.html", processes=list(zip(processes, steps, strict=True)),
                           audience_names=AUDIENCE_NAMES)
