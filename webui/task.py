"""The task page: the form rendered from the task's JSON Schema, drafts, submit with field errors kept, and the
task actions (claim, release, reassign 转办, return 退回, comment, mark read 已阅)."""

from __future__ import annotations

from functools import wraps

import nh3
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markdown_it import MarkdownIt
from markupsafe import Markup

from domain.people import policy
from domain.work.deadline_rules import field_title
from engine.bpmn.formrules import keep_read_only
from engine.errors import ConcurrentUpdate, HookFailed, InvalidState, PermissionDenied, ScriptError, ValidationFailed

from . import engine_of, services_of
from .casefile import render_case, submitted_values
from .conflicts import conflict_of, kept_values, raced, wholly_local
from .errors import log_fault, readable
from .files import FormConflict, attach, my_files, read_form
from .formparse import file_references, without_values
from .formrender import FieldContext, UploadRejected, apply_row_action, render_form, row_action
from .pickers import field_context, labelled
from .security import current_user, login_required

bp = Blueprint("task", __name__, template_folder="templates")
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False})


def render_markdown(text: str | None) -> Markup:
    """Instructions for the person, as sanitized HTML."""
    return Markup(nh3.clean(_markdown.render(text or ""))) if text else Markup("")


def _context(page, data: dict | None = None) -> FieldContext:
    """Pickers for the instance's org unit (webui/pickers.py); the person's uploads the form names, as links."""
    task = page.task
    return field_context(services_of(current_app).accounts, task.form, task.ui, task.org_unit,
                         my_files(task.form, task.ui, data))


def _page(task_id: str, data: dict | None = None, errors: dict | None = None, message: str | None = None,
          status: int = 200, typed: str = "", refused: Exception | None = None):
    """The task page from one engine read; a refused submission (409) shows what was typed even if the task is gone,
    and why (`refused`: the engine's error, explained from the task as it is now)."""
    kept = status == 409 and data is not None
    user = current_user()
    page = services_of(current_app).participation.task_page(task_id, user)
    task, detail = page.task, page.detail
    conflict = conflict_of(detail, task_id, user.username) if refused is not None else None
    posted = request.form.get("revision", "")
    if refused is not None and not raced(refused, conflict, task, user.username,
                                         int(posted) if posted.isdigit() else None):
        raise refused           # not a race: the person may simply not act on this task (403)
    if data is None:
        fields = (task.form or {}).get("properties", {})
        data = page.draft or _earlier(task, {k: v for k, v in detail.instance.data.items() if k in fields})
    elif task.form:      # read-only fields show what the task holds, never what a post claimed
        data = keep_read_only(task.form, data, detail.instance.data)
    form_html = render_form(task.form, task.ui, data, errors or {}, _context(page, data)) if task.form else Markup("")
    return render_template("task/show.html", task=task, detail=detail, form_html=form_html, message=message,
                           item=page.item, instructions=render_markdown(task.instructions),
                           due_from_title=field_title(engine_of(current_app), task.due_from.split("=")[0])
                           if task.due_from else None,
                           can_act=user.username in task.candidates and task.status == "ready",
                           kept=kept and bool(task.form), typed=typed, conflict=conflict,
                           kept_html=kept_values(task.form, task.ui, data, detail) if kept and task.form else None,
                           reassign_to=_reassign_choices(task, user),
                           case_html=render_case(detail.casefile, detail.org_names, task.id),     # the case file
                           submitted=detail.casefile.entry_of(task.id) if detail.casefile else None,
                           submitted_html=submitted_values(detail.casefile, detail.org_names, task.id)), status


def _earlier(task, data: dict) -> dict:
    """Values an earlier step left, to start the form with; not its files (a form names only its own uploads)."""
    return without_values(data, {ref for _path, ref in file_references(task.form or {}, task.ui, data)})


def _reassign_choices(task, user) -> list[tuple[str, str]]:
    """Who the task may go to, as "name · unit · role": holders of its role; for a task with no role (it went to
    the starter), admins may hand it to anyone active."""
    accounts = services_of(current_app).accounts
    if not task.role:
        return labelled(accounts.described(accounts.active_people())) \
            if policy.may_hand_roleless_task_to_anyone(user) else []
    if not task.org_unit or task.assignee != user.username:
        return []
    return labelled(accounts.offered(task.role, task.org_unit))


def _keeps_input(view):
    """A task action that loses a race answers 409 on the task page, with the text the person typed."""

    @wraps(view)
    def wrapper(task_id: str):
        try:
            return view(task_id)
        except (ConcurrentUpdate, InvalidState) as exc:
            typed = request.form.get("reason") or request.form.get("body") or ""
            return _page(task_id, message=wholly_local(exc.message), status=409, typed=typed)

    return wrapper


@bp.get("/tasks/<task_id>")
@login_required
def show(task_id: str):
    """The task with its form, instructions, comments and history."""
    return _page(task_id)


@bp.post("/tasks/<task_id>")
@login_required
def submit(task_id: str):
    """Submit, save a draft, or add/remove a row; invalid input comes back with its messages."""
    services, user = services_of(current_app), current_user()
    task = services.participation.task_for(task_id, user)
    try:
        data = read_form(task.form or {}, task.ui, task_id)      # files stored only for those who may act
    except UploadRejected as exc:
        return _page(task_id, exc.data, exc.errors, status=422)
    except FormConflict as exc:        # closed or taken since the page was read: nothing stored, the input kept
        return _page(task_id, exc.data, status=409, refused=exc.error)
    action = row_action(request.form)
    if action is not None:
        return _page(task_id, apply_row_action(task.form or {}, data, action))
    revision = request.form.get("revision", "")
    try:
        if request.form.get("action") == "draft":
            services.participation.save_draft(task_id, user, data)
            return _page(task_id, data, message=_("草稿已保存。"))
        instance_id = services.engine.complete_task(task_id, data, user.username,
                                                    int(revision) if revision.isdigit() else None)
    except ValidationFailed as exc:
        return _page(task_id, data, exc.field_errors, _("请修改标出的内容后重新提交。"), 422)
    except (ConcurrentUpdate, InvalidState, PermissionDenied) as exc:     # someone else was first
        return _page(task_id, data, status=409, refused=exc)
    except HookFailed as exc:     # our own bug: nothing was saved; say so plainly and keep what was typed
        log_fault(exc)
        return _page(task_id, data, message=readable(exc.message), status=500)
    except ScriptError as exc:      # nothing was saved: the person keeps what they typed and may try again
        log_fault(exc)
        failed = _("提交未成功：流程处理您提交的内容时出错（%(error)s）。"
                   "您填写的内容仍在下方，可修改后重新提交，或联系流程管理员。", error=exc.message)
        return _page(task_id, data, message=failed, status=422)
    attach(task.form or {}, task.ui, task_id, instance_id, data)
    flash(_("已提交：%(name)s", name=task.name), "success")
    return redirect(url_for("inbox.index"))


def _back(task_id: str):
    target = request.form.get("next", "")
    return redirect(target if target.startswith("/") and not target.startswith("//")
                    else url_for("task.show", task_id=task_id))


@bp.post("/tasks/<task_id>/claim")
@login_required
@_keeps_input
def claim(task_id: str):
    """Take the task."""
    services_of(current_app).participation.task_for(task_id, current_user())   # 403 before any detail
    engine_of(current_app).claim_task(task_id, current_user().username)
    flash(_("已认领。"), "success")
    return _back(task_id)


@bp.post("/tasks/<task_id>/release")
@login_required
@_keeps_input
def release(task_id: str):
    """Give the task back to everyone with its role."""
    services_of(current_app).participation.task_for(task_id, current_user())   # 403 before any detail
    engine_of(current_app).release_task(task_id, current_user().username)
    flash(_("已释放。"), "success")
    return _back(task_id)


@bp.post("/tasks/<task_id>/reassign")
@login_required
@_keeps_input
def reassign(task_id: str):
    """转办 to another person with the role."""
    services_of(current_app).participation.task_for(task_id, current_user())   # 403 before any detail
    engine_of(current_app).reassign_task(task_id, request.form.get("to", ""), current_user().username)
    flash(_("已转办。"), "success")
    return _back(task_id)


@bp.post("/tasks/<task_id>/return")
@login_required
@_keeps_input
def give_back(task_id: str):
    """退回 with a reason."""
    services_of(current_app).participation.task_for(task_id, current_user())   # 403 before any detail
    services_of(current_app).participation.return_task(task_id, current_user(), request.form.get("reason", ""))
    flash(_("已退回。"), "success")
    return redirect(url_for("inbox.index"))


@bp.post("/tasks/<task_id>/extend")
@login_required
@_keeps_input
def extend(task_id: str):
    """申请延期: ask the supervisor for more days, with a reason."""
    days = request.form.get("days", "")
    services_of(current_app).extensions.request(task_id, current_user(), int(days) if days.isdigit() else 0,
                                              request.form.get("reason", ""))
    flash(_("延期申请已提交，等待督办人员审批。"), "success")
    return _back(task_id)


@bp.post("/extensions/<int:request_id>/decide")
@login_required
def decide_extension(request_id: int):
    """A supervisor approves or rejects an extension."""
    decided = services_of(current_app).extensions.decide(request_id, current_user(),
                                                       request.form.get("decision") == "approve")
    flash(_("已批准延期。") if decided.status == "approved" else _("已驳回延期申请。"), "success")
    return redirect(url_for("instances.detail", instance_id=decided.instance_id))


@bp.post("/tasks/<task_id>/read")
@login_required
def mark_read(task_id: str):
    """已阅."""
    services_of(current_app).participation.mark_read(task_id, current_user())
    return _back(task_id)


@bp.post("/tasks/<task_id>/comment")
@login_required
@_keeps_input
def comment(task_id: str):
    """Comment on the task's instance."""
    participation = services_of(current_app).participation
    task = participation.task_for(task_id, current_user())
    participation.comment(task.instance_id, current_user(), request.form.get("body", ""), task_id)
    flash(_("评论已发布。"), "success")
    return _back(task_id)
