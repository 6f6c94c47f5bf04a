"""The studio's form editor: a process draft's forms (JSON Schema + UI schema), which tasks use each, a field list a
process owner edits with the raw JSON beside it, and a live preview drawn by the renderer participants see.

The page's script posts the field list (or the raw JSON) to `preview`, which answers both JSON files, the field list
and the rendered form, or the problems by JSON path; `save` writes both files into the draft against its revision.
"""

from __future__ import annotations

import json

from flask import Blueprint, abort, current_app, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from markupsafe import Markup

from domain.people import policy
from engine.errors import ConcurrentUpdate, SpecInvalid

from . import engine_of, services_of
from .draftfiles import FORM_NAME, forms_of, schema_path, ui_path
from .errors import readable
from .formcheck import form_problems, parse_texts
from .formdesign import (
    KINDS,
    MAX_FIELDS,
    MAX_HELP,
    MAX_OPTIONS,
    MAX_TITLE,
    FormRefused,
    build,
    fields_of,
    new_form,
    pretty,
)
from .formrender import render_form
from .pickers import ROLE_WORDS, field_context
from .problems import problem_text
from .security import allowed_if

bp = Blueprint("studio_forms", __name__, template_folder="templates")

KIND_NAMES = {"text": lazy_gettext("单行文字"), "textarea": lazy_gettext("多行文字"), "integer": lazy_gettext("整数"),
              "number": lazy_gettext("数字"), "date": lazy_gettext("日期"), "select": lazy_gettext("下拉选择"),
              "radio": lazy_gettext("单选"), "checkboxes": lazy_gettext("多选"), "yesno": lazy_gettext("是/否"),
              "checkbox": lazy_gettext("勾选框"), "file": lazy_gettext("上传文件"), "people": lazy_gettext("选择人员"),
              "orgunit": lazy_gettext("选择单位"), "advanced": lazy_gettext("高级（在 JSON 中编辑）")}
PICKER_ROLES = ("member", "organizer", "department", "supervisor", "office", "platform_lead")
UNIT_KINDS = {"department": lazy_gettext("承办单位"), "township": lazy_gettext("乡镇"),
              "committee": lazy_gettext("专门委员会"), "sector": lazy_gettext("界别小组"),
              "county": lazy_gettext("县政协")}


def _title_of(text: str) -> str:
    try:
        doc = json.loads(text)
    except ValueError:
        return ""
    return str(doc.get("title") or "") if isinstance(doc, dict) else ""


def _revision(text: str | None) -> int | None:
    """The draft revision a form was posted from (None when it carries none a number)."""
    return int(text) if text and text.isdigit() and len(text) < 10 else None


def _form_name(name: str) -> str:
    if not FORM_NAME.match(name):
        abort(404)
    return name


@bp.get("/studio/processes/<process_id>/forms")
@allowed_if(policy.may_use_studio)
def index(process_id: str):
    """The draft's forms, who uses each, and a "new form" box."""
    draft = engine_of(current_app).draft(process_id, g.user.username)
    return render_template("studio/forms/index.html", process_id=process_id, draft=draft,
                           forms=forms_of(draft.files, _title_of), name_pattern=FORM_NAME.pattern)


@bp.post("/studio/processes/<process_id>/forms")
@allowed_if(policy.may_use_studio)
def create(process_id: str):
    """A new form's two files in the draft, then its editor."""
    engine = engine_of(current_app)
    draft = engine.draft(process_id, g.user.username)
    name, title = request.form.get("name", "").strip(), " ".join(request.form.get("title", "").split())
    problem = None
    if not FORM_NAME.match(name):
        problem = gettext("表单名只能用字母、数字、下划线和连字符，以字母、数字或下划线开头，最多 64 个字符")
    elif schema_path(name) in draft.files:
        problem = gettext("已有名为“%(name)s”的表单", name=name)
    elif not title or len(title) > MAX_TITLE:
        problem = gettext("请填写表单标题（最多 %(n)d 个字）", n=MAX_TITLE)
    if problem is None:
        schema, ui = new_form(title)
        try:
            engine.save_draft_files(process_id, {schema_path(name): pretty(schema), ui_path(name): pretty(ui)},
                                    g.user.username, _revision(request.form.get("revision")))
        except ConcurrentUpdate:
            problem = gettext("草稿已被他人修改，请重新提交")
        else:
            return redirect(url_for(".edit", process_id=process_id, name=name))
    draft = engine.draft(process_id, g.user.username)
    return render_template("studio/forms/index.html", process_id=process_id, draft=draft,
                           forms=forms_of(draft.files, _title_of), problem=problem, name=name, title=title,
                           name_pattern=FORM_NAME.pattern), 422


@bp.get("/studio/processes/<process_id>/forms/<name>")
@allowed_if(policy.may_use_studio)
def edit(process_id: str, name: str):
    """The editor: field list, raw JSON of both files, and the preview as the form stands in the draft."""
    draft = engine_of(current_app).draft(process_id, g.user.username)
    path = schema_path(_form_name(name))
    if path not in draft.files:
        abort(404)
    schema_text, ui_text = draft.files[path], draft.files.get(ui_path(name), "{}\n")
    result = _preview({"mode": "json", "schema_text": schema_text, "ui_text": ui_text})
    form = next(f for f in forms_of(draft.files, _title_of) if f.name == name)
    data = {"schema_text": schema_text, "ui_text": ui_text, "fields": result.get("fields") or [],
            "revision": draft.revision, "problems": result.get("problems") or [],
            "preview_url": url_for(".preview", process_id=process_id, name=name),
            "save_url": url_for(".save", process_id=process_id, name=name), "labels": _labels(),
            "limits": {"fields": MAX_FIELDS, "options": MAX_OPTIONS, "title": MAX_TITLE, "help": MAX_HELP}}
    return render_template("studio/forms/edit.html", process_id=process_id, form=form, data=data,
                           preview=Markup(result.get("html") or ""), problems=result.get("problems") or [])


@bp.post("/studio/processes/<process_id>/forms/<name>/preview")
@allowed_if(policy.may_use_studio)
def preview(process_id: str, name: str):
    """The form written from the posted field list or raw JSON, drawn by the server renderer; or its problems."""
    _form_name(name)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify(ok=False, problems=[{"where": "$", "message": gettext("请求格式有误"), "field": None}]), 400
    return jsonify(_preview(body))


@bp.post("/studio/processes/<process_id>/forms/<name>/save")
@allowed_if(policy.may_use_studio)
def save(process_id: str, name: str):
    """Both files into the draft against the revision the editor opened; 409 "已被他人修改" when it moved on."""
    path = schema_path(_form_name(name))
    body = request.get_json(silent=True) or {}
    result = _preview({"mode": "json", "schema_text": body.get("schema_text"), "ui_text": body.get("ui_text")})
    if not result["ok"]:
        return jsonify(ok=False, message=gettext("表单有问题，未保存；请先改正"), problems=result["problems"]), 422
    revision = body.get("revision")
    try:
        draft = engine_of(current_app).save_draft_files(
            process_id, {path: result["schema_text"], ui_path(name): result["ui_text"]}, g.user.username,
            revision if isinstance(revision, int) else None)
    except ConcurrentUpdate as exc:
        return jsonify(ok=False, message=gettext("已被他人修改：保存未成功，您的修改仍在编辑器中。"
                                                 "请复制需要保留的内容后重新打开本页。"),
                       detail=readable(str(exc))), 409
    except SpecInvalid as exc:
        return jsonify(ok=False, message=gettext("表单有问题，未保存；请先改正"),
                       problems=[{"where": p.file, "message": problem_text(p.message), "field": None}
                                 for p in exc.problems]), 422
    return jsonify(ok=True, revision=draft.revision, message=gettext("已保存到草稿（第 %(n)d 版）", n=draft.revision),
                   schema_text=result["schema_text"], ui_text=result["ui_text"])


def _preview(body: dict) -> dict:
    """{ok, schema_text, ui_text, fields, html, notices} for a field list or raw JSON; {ok: False, problems}."""
    try:
        schema, ui = parse_texts(body.get("schema_text"), body.get("ui_text"))
        if body.get("mode") == "fields":
            schema, ui = build(body.get("fields"), schema, ui)
        problems = form_problems(schema, ui)
        if problems:
            raise FormRefused(problems)
    except FormRefused as exc:
        return {"ok": False, "problems": [p.as_json() for p in exc.problems]}
    context = field_context(services_of(current_app).accounts, schema, ui, "county", {})
    html = render_template("studio/forms/_preview.html", schema=schema,
                           form_html=render_form(schema, ui, {}, {}, context))
    return {"ok": True, "schema_text": pretty(schema), "ui_text": pretty(ui), "fields": fields_of(schema, ui),
            "html": html, "problems": []}


def _labels() -> dict:
    """The words the editor's script shows, in the reader's language."""
    return {"kinds": {k: str(KIND_NAMES[k]) for k in KINDS},
            "roles": {"": gettext("（政协委员）"), **{r: str(ROLE_WORDS[r]) for r in PICKER_ROLES}},
            "unit_kinds": {k: str(v) for k, v in UNIT_KINDS.items()}}

