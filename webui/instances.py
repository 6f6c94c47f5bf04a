"""Instances: the list a person may see, and the instance page (diagram with markers, timeline, records)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from domain.people import policy

from . import services_of
from .casefile import render_case
from .params import page_arg
from .security import current_user, login_required

bp = Blueprint("instances", __name__, template_folder="templates")


@bp.get("/instances")
@login_required
def index():
    """Consultations the person may see, most recently updated first."""
    page = services_of(current_app).participation.instances(
        current_user(), search=request.args.get("q", "").strip()[:100], status=request.args.get("status") or None,
        tier=request.args.get("tier") or None, page=page_arg())
    return render_template("instances/index.html", page=page, query=request.args)


@bp.get("/instances/<int:instance_id>")
@login_required
def detail(instance_id: int):
    """The instance page."""
    detail = services_of(current_app).participation.instance_detail(instance_id, current_user())
    row = detail.instance
    deciding = policy.may_decide_extension(current_user(), row.org_unit)
    return render_template("instances/detail.html", detail=detail, view=row, deciding=deciding,
                           extensions=detail.extensions, case_html=render_case(detail.casefile, detail.org_names))


@bp.post("/instances/<int:instance_id>/comment")
@login_required
def comment(instance_id: int):
    """Comment on the instance."""
    services_of(current_app).participation.comment(instance_id, current_user(), request.form.get("body", ""))
    flash(_("评论已发布。"), "success")
    return redirect(url_for("instances.detail", instance_id=instance_id))
