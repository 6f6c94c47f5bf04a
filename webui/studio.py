"""The process studio's modeler (流程设计): process owners edit a process's draft in a bpmn-js modeler, save it,
validate it on the server (each problem marked on its element), deploy it as a version or throw it away, upload or
download the diagram, and start new processes of their own.

Pages under /studio/… and the modeler's JSON endpoints under /studio/api/…; only people `may_use_studio` reach
either (a 403 page, or 403 JSON for the endpoints). Every save goes through the engine's `save_draft_file`: the same
hardened XML loader as deploying, and the draft's revision, so a second editor's save never silently overwrites.
"""

from __future__ import annotations

import posixpath
from functools import wraps

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _

from domain.operators import catalogue
from domain.people import policy
from engine.bpmn.xmlsafe import MAX_XML_BYTES, UnsafeXml, load_xml
from engine.drafting import DraftDeployed
from engine.errors import ConcurrentUpdate, InvalidState, NotFound, Problem, SpecInvalid
from engine.store import versions
from engine.store.drafts import DraftView

from . import engine_of
from .errors import readable
from .headers import EDITOR_POLICY
from .problems import problem_text
from .security import csrf_token

bp = Blueprint("studio", __name__, template_folder="templates")
DMN = "{https://www.omg.org/spec/DMN/20191111/MODEL/}"
MAX_NOTE = versions.MAX_NOTE      # the engine keeps the note; one limit
MAX_UPLOAD = MAX_XML_BYTES
# A diagram is saved as JSON ({"text", "revision"}); the app's 1 MiB cap for bodies without files is too small.
MAX_SAVE_BODY = 2 * MAX_XML_BYTES + 64 * 1024


def _is_api() -> bool:
    return request.path.startswith("/studio/api/")


def studio_required(view):
    """Only process owners and admins (policy.may_use_studio); others get 403, the signed-out the sign-in page (or
    401 JSON from the endpoints)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if g.get("user") is None:
            if _is_api():
                return jsonify({"error": _("请先登录"), "message": _("请先登录"), "status": 401}), 401
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if not policy.may_use_studio(g.user):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


@bp.before_request
def _allow_diagram_bodies() -> None:
    """A saved diagram may be up to the engine's XML limit (2 MB), sent as JSON."""
    if request.method == "PUT" and _is_api():
        request.max_content_length = MAX_SAVE_BODY


def problem_json(problem: Problem) -> dict:
    """A problem as the modeler shows it: marked on `element_id` when the diagram has it, else listed beside."""
    return {"file": problem.file, "line": problem.line, "element_id": problem.element_id,
            "message": problem_text(problem.message)}


def _refused(exc: SpecInvalid, status: int = 422):
    return jsonify({"message": _("内容有误，未保存。"), "problems": [problem_json(p) for p in exc.problems],
                    "status": status}), status


def bpmn_path(draft: DraftView, wanted: str | None = None) -> str:
    """The draft's diagram to edit: `wanted` if it is one of its .bpmn files, else the first .bpmn file."""
    paths = sorted(p for p in draft.files if p.endswith(".bpmn"))
    if wanted in paths:
        return wanted
    if not paths:
        raise NotFound(f"the draft of {draft.process_id!r} has no .bpmn file")
    own = f"{draft.process_id}.bpmn"
    return own if own in paths else paths[0]


def decision_ids(draft: DraftView) -> list[str]:
    """The ids of the decisions in the draft's DMN files (what a business-rule task may call), sorted."""
    found: set[str] = set()
    for path, text in draft.files.items():
        if not path.endswith(".dmn"):
            continue
        try:
            root = load_xml(text.encode(), path)
        except UnsafeXml:
            continue            # the validator reports it; the modeler just offers no decision from it
        for node in root.iter():
            if isinstance(node.tag, str) and node.tag.endswith("}decision") and node.get("id"):
                found.add(node.get("id"))
    return sorted(found)


def roles() -> list[dict]:
    """The directory's roles (what a lane `lane_<role>` gives its tasks to), with their names."""
    rules = engine_of(current_app).directory_rules
    names = getattr(rules, "role_names", None) or {}
    return [{"name": role, "label": names.get(role, role)} for role in rules.roles]


def _texts() -> dict[str, str]:
    """Every message the modeler's script shows, in the page's language."""
    return {
        "group": _("协商引擎"), "none": _("（无）"), "missing": _("（不在草稿中）"),
        "formSchema": _("表单 JSON Schema"), "formUi": _("表单界面（UI Schema）"),
        "newForm": _("新建表单"), "create": _("新建"),
        "newFormHelp": _("输入英文名称（字母、数字、_、-）后点“新建”：在草稿中新建 forms/名称.schema.json 和 .ui.json"),
        "newFormInvalid": _("只能用字母、数字、_ 和 -，最多 60 个字符"),
        "formCreated": _("已在草稿中新建表单 %s"),
        "instructions": _("办理说明（显示给办理人）"), "operator": _("服务操作"),
        "expression": _("（Python 表达式，文字加引号）"),
        "timerKind": _("定时类型"), "timeDuration": _("时长（timeDuration）"), "timeDate": _("日期（timeDate）"),
        "timeCycle": _("周期（timeCycle）"), "timerExpression": _("定时表达式"),
        "timerHelp": _("带引号的 ISO-8601 值，如 'P3D'，或流程变量名"),
        "laneRole": _("泳道角色"), "laneRoleHelp": _("泳道中的任务交给持有该角色的人办理（泳道 id 为 lane_角色）"),
        "decision": _("决策表（DMN 决策 id）"),
        "orgUnit": _("承办单位（orgUnit 表达式）"),
        "orgUnitHelp": _("如 \"county\"，或流程变量名；省略时为事项的承办单位"),
        "assignee": _("指定办理人（assignee 表达式）"), "assigneeHelp": _("用户名的表达式；省略时交给泳道角色"),
        "dueDate": _("到期日（dueDate 表达式）"), "dueDateHelp": _("日期字段名；省略时按时限规则"),
        "step": _("方法步骤"),
        "unsaved": _("有未保存的修改。"), "saving": _("正在保存…"), "saved": _("已保存。"),
        "conflict": _("已被他人修改：草稿在您打开后被保存过。您的修改仍在编辑器中，可先下载副本，再重新载入。"),
        "reload": _("重新载入"), "keepCopy": _("下载我的修改"),
        "validating": _("正在校验…"), "valid": _("校验通过，可以发布。"),
        "invalid": _("发现 %s 个问题，已在图中标出。"),
        "problems": _("问题"), "deploying": _("正在发布…"), "deployed": _("已发布为版本 %s。"),
        "startIt": _("发起该流程"), "failed": _("操作失败。"), "opened": _("已打开草稿。"),
        "openedWithWarnings": _("已打开草稿（有 %s 处无法识别的内容，保存时不会保留）。"),
    }


def _config(draft: DraftView, path: str) -> dict:
    process_id = draft.process_id
    return {
        "process_id": process_id, "bpmn_path": path, "revision": draft.revision, "files": sorted(draft.files),
        "decisions": decision_ids(draft), "roles": roles(), "texts": _texts(), "lang": str(get_locale()),
        "csrf": csrf_token(),
        "urls": {
            "draft": url_for("studio.draft_json", process_id=process_id, file=path),
            "file": url_for("studio.save_file", process_id=process_id, path="__path__"),
            "review": url_for("studio.review", process_id=process_id),
            "deploy": url_for("studio.deploy", process_id=process_id),
            "operators": url_for("studio.operators"),
        },
    }


def _actor() -> str:
    return g.user.username


# --- pages ---------------------------------------------------------------------------------------------------------

@bp.get("/studio/new")
@studio_required
def new():
    """Start a new process: its id and name."""
    return render_template("studio/new.html", form={}, problem=None)


@bp.post("/studio/new")
@studio_required
def create():
    """Create the new process's draft (a blank start → end diagram) and open it in the modeler."""
    form = {"process_id": request.form.get("process_id", "").strip()[:64],
            "name": request.form.get("name", "").strip()[:100]}
    try:
        engine_of(current_app).create_process(form["process_id"], form["name"], _actor())
    except SpecInvalid:
        problem = _("流程 id 须以字母或 _ 开头，只含字母、数字、_ 或 -，最多 64 个字符。")
        return render_template("studio/new.html", form=form, problem=problem), 422
    except InvalidState:
        problem = _("已有 id 为 %(id)s 的流程或草稿，请换一个 id。", id=form["process_id"])
        return render_template("studio/new.html", form=form, problem=problem), 409
    flash(_("已新建流程草稿：%(name)s", name=form["name"] or form["process_id"]), "success")
    return redirect(url_for("studio.edit", process_id=form["process_id"]))


@bp.get("/studio/processes/<process_id>/edit")
@studio_required
def edit(process_id: str):
    """The modeler on the process's draft (started from its newest version on first open)."""
    draft = engine_of(current_app).draft(process_id, _actor())
    path = bpmn_path(draft, request.args.get("file"))
    diagrams = sorted(p for p in draft.files if p.endswith(".bpmn"))
    page = render_template("studio/edit.html", draft=draft, path=path, diagrams=diagrams,
                           config=_config(draft, path), max_note=MAX_NOTE)
    return page, 200, {"Content-Security-Policy": EDITOR_POLICY}


@bp.post("/studio/processes/<process_id>/upload")
@studio_required
def upload(process_id: str):
    """Replace the draft's diagram with an uploaded .bpmn file (checked by the engine's hardened loader)."""
    engine = engine_of(current_app)
    draft = engine.draft(process_id, _actor())
    path = bpmn_path(draft, request.form.get("file"))
    back = redirect(url_for("studio.edit", process_id=process_id, file=path))
    sent = request.files.get("diagram")
    if sent is None or not sent.filename:
        flash(_("请选择一个 .bpmn 文件。"), "error")
        return back
    if not sent.filename.lower().endswith(".bpmn"):
        flash(_("只能上传 .bpmn 文件：%(name)s", name=sent.filename[:100]), "error")
        return back
    data = sent.stream.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        flash(_("文件超过 %(size)s KB 上限。", size=MAX_UPLOAD // 1024), "error")
        return back
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        flash(_("文件不是 UTF-8 编码的文本。"), "error")
        return back
    try:
        engine.save_draft_file(process_id, path, text, _actor(), _revision(request.form.get("revision")))
    except SpecInvalid as exc:
        flash(_("上传的文件未采用：%(reason)s", reason="; ".join(problem_text(p.message) for p in exc.problems)[:500]),
              "error")
        return back
    except ConcurrentUpdate:
        flash(_("已被他人修改：草稿在您打开后被保存过，请重新载入后再上传。"), "error")
        return back
    flash(_("已上传 %(name)s 到草稿。", name=sent.filename[:100]), "success")
    return back


@bp.get("/studio/processes/<process_id>/files/<path:path>")
@studio_required
def download(process_id: str, path: str):
    """One of the draft's files as saved, to download."""
    draft = engine_of(current_app).existing_draft(process_id)
    if draft is None or path not in draft.files:
        abort(404)
    kind = "application/json" if path.endswith(".json") else "application/xml"
    name = posixpath.basename(path)
    return Response(draft.files[path], mimetype=kind,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.post("/studio/processes/<process_id>/discard")
@studio_required
def discard(process_id: str):
    """Throw the draft away; the deployed versions are untouched."""
    if request.form.get("confirm") != "yes":
        flash(_("请勾选确认后再放弃草稿。"), "error")
        return redirect(url_for("studio.edit", process_id=process_id))
    try:
        engine_of(current_app).discard_draft(process_id, _actor())
    except NotFound:
        flash(_("该流程没有草稿。"), "info")
    else:
        flash(_("已放弃草稿。"), "success")
    target = "studio_versions.index" if "studio_versions.index" in current_app.view_functions else "studio.new"
    return redirect(url_for(target))


# --- the modeler's JSON endpoints ----------------------------------------------------------------------------------

@bp.get("/studio/api/operators")
@studio_required
def operators():
    """The service-task operators the engine registers, with the parameters each reads."""
    registered = engine_of(current_app).cache.operators
    return jsonify({"operators": [
        {"name": op.name, "label": _(op.label),
         "parameters": [{"name": p.name, "description": _(p.description), "required": p.required}
                        for p in op.parameters]}
        for op in catalogue(registered)]})


@bp.get("/studio/api/processes/<process_id>/draft")
@studio_required
def draft_json(process_id: str):
    """The draft's diagram text and revision, the names of its files and its DMN decisions."""
    draft = engine_of(current_app).draft(process_id, _actor())
    path = bpmn_path(draft, request.args.get("file"))
    return jsonify({"process_id": process_id, "revision": draft.revision, "path": path, "text": draft.files[path],
                    "files": sorted(draft.files), "decisions": decision_ids(draft)})


def _revision(raw) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        abort(400, description=_("revision 须为整数"))


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, description=_("请求须为 JSON 对象"))
    return body


@bp.put("/studio/api/processes/<process_id>/files/<path:path>")
@studio_required
def save_file(process_id: str, path: str):
    """Save one file of the draft against the revision the editor opened (409 when someone saved since)."""
    body = _body()
    text = body.get("text")
    if not isinstance(text, str):
        abort(400, description=_("text 须为字符串"))
    try:
        draft = engine_of(current_app).save_draft_file(process_id, path, text, _actor(),
                                                       _revision(body.get("revision")))
    except SpecInvalid as exc:
        return _refused(exc)
    except ConcurrentUpdate as exc:
        return jsonify({"message": _("已被他人修改"), "detail": readable(exc.message), "status": 409}), 409
    return jsonify({"revision": draft.revision, "files": sorted(draft.files)})


@bp.post("/studio/api/processes/<process_id>/review")
@studio_required
def review(process_id: str):
    """The engine's review of the draft: the problems that block deploying, and notices."""
    problems, notices = engine_of(current_app).review_draft(process_id)
    return jsonify({"problems": [problem_json(p) for p in problems],
                    "notices": [problem_json(p) for p in notices]})


@bp.post("/studio/api/processes/<process_id>/deploy")
@studio_required
def deploy(process_id: str):
    """Deploy the draft as a version (with the owner's note); 422 with every problem when it would not run."""
    body = _body()
    note = body.get("note") or ""
    if not isinstance(note, str) or len(note) > MAX_NOTE:
        return jsonify({"message": _("版本说明最多 %(n)s 个字。", n=MAX_NOTE), "problems": [], "status": 422}), 422
    engine = engine_of(current_app)
    if engine.existing_draft(process_id) is None:
        return jsonify({"message": _("该流程没有草稿。"), "problems": [], "status": 404}), 404
    try:
        made: DraftDeployed = engine.deploy_draft(process_id, _actor(), _revision(body.get("revision")), note)
    except SpecInvalid as exc:
        return _refused(exc)
    except InvalidState as exc:
        return jsonify({"message": _("已被他人修改"), "detail": readable(exc.message), "status": 409}), 409
    return jsonify({"process_id": made.process_id, "version_id": made.version_id, "version": made.version,
                    "created": made.created, "note": " ".join(note.split()), "number": made.number,
                    "start_url": url_for("start.form", process_id=made.process_id)})
