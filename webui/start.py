"""Start new (发起): the deployed processes a signed-in person may start, each with its start form."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from domain.people import policy
from engine.errors import ValidationFailed

from . import engine_of, services_of
from .files import attach, my_files, read_form
from .formrender import FieldContext, UploadRejected, apply_row_action, render_form, row_action
from .pickers import field_context
from .security import current_user, login_required

bp = Blueprint("start", __name__, template_folder="templates")
# Processes with pages of their own for starting: the consultation comes in by one of its intake forms (a member's
# own topic, one recorded for a resident, or the public's), which fix its source and credit the right person.
OWN_PAGES = {"consultation": "intake"}


def _own_page(process_id: str) -> str | None:
    """Where the signed-in person starts a process that has its own pages; None for the generic start form."""
    if OWN_PAGES.get(process_id) != "intake":
        return None
    user = current_user()
    if policy.may_record_for_residents(user.memberships):
        return url_for("intake.record")
    if policy.may_propose_topic(user.memberships):
        return url_for("intake.propose")
    return url_for("intake.submit")


@bp.get("/start")
@login_required
def index():
    """Every deployed process at its latest version (a process with pages of its own links there)."""
    processes = engine_of(current_app).startable_processes()
    links = {p.process_id: _own_page(p.process_id) or url_for("start.form", process_id=p.process_id)
             for p in processes}
    return render_template("start/index.html", processes=processes, links=links)


def _context(process, data: dict | None = None) -> FieldContext:
    """Pickers for the county as a whole (webui/pickers.py): its members by default, the platform units."""
    return field_context(services_of(current_app).accounts, process.form, process.ui, "county",
                         my_files(process.form, process.ui, data))


def _page(process, data: dict | None = None, errors: dict | None = None, message: str | None = None,
          status: int = 200):
    form_html = render_form(process.form, process.ui, data or {}, errors or {}, _context(process, data)) \
        if process.form else Markup("")
    return render_template("start/form.html", process=process, form_html=form_html, message=message), status


@bp.get("/start/<process_id>")
@login_required
def form(process_id: str):
    """The process's start form (just a 发起 button when its start event has none); its own page if it has one."""
    own = _own_page(process_id)
    return redirect(own) if own else _page(engine_of(current_app).startable_process(process_id))


@bp.post("/start/<process_id>")
@login_required
def start(process_id: str):
    """Start the process; then the person's first task of it, if any, else the instance page. A process with pages of
    its own starts only there: nothing is started here, the person is sent to that page's form."""
    own = _own_page(process_id)
    if own:
        return redirect(own, code=303)
    engine, user = engine_of(current_app), current_user()
    process = engine.startable_process(process_id)
    try:
        data = read_form(process.form or {}, process.ui, None)
    except UploadRejected as exc:
        return _page(process, exc.data, exc.errors, status=422)
    action = row_action(request.form)
    if action is not None:
        return _page(process, apply_row_action(process.form or {}, data, action))
    try:
        instance_id = engine.start_instance(process_id, data if process.form else {}, user.username)
    except ValidationFailed as exc:
        return _page(process, data, exc.field_errors, _("请修改标出的内容后重新提交。"), 422)
    attach(process.form or {}, process.ui, None, instance_id, data)
    flash(_("已发起：%(name)s", name=process.name), "success")
    mine = engine.list_tasks(user.username, instance_id)
    if mine:
        return redirect(url_for("task.show", task_id=mine[0].id))
    return redirect(url_for("instances.detail", instance_id=instance_id))
