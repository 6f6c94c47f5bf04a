"""The studio's decision tables: a process draft's DMN files with the decisions inside and the tasks calling them,
and dmn-js's table editor on one decision; a save goes into the draft against its revision, then the engine reads
the whole draft again (review_draft) and the page shows what it refuses."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, jsonify, render_template, request, url_for
from flask_babel import get_locale, gettext

from domain.people import policy
from engine.errors import ConcurrentUpdate, SpecInvalid

from . import engine_of
from .draftfiles import DMN_FILE, dmn_files
from .errors import readable
from .headers import EDITOR_POLICY
from .problems import problem_text
from .security import allowed_if

bp = Blueprint("studio_decisions", __name__, template_folder="templates")


def _dmn_path(draft, file: str) -> str:
    if not DMN_FILE.match(file) or file not in draft.files:
        abort(404)
    return file


@bp.get("/studio/processes/<process_id>/decisions")
@allowed_if(policy.may_use_studio)
def index(process_id: str):
    """The draft's DMN files, each decision with its hit policy, columns, rules and the tasks calling it."""
    draft = engine_of(current_app).draft(process_id, g.user.username)
    return render_template("studio/decisions/index.html", process_id=process_id, draft=draft,
                           files=dmn_files(draft.files))


@bp.get("/studio/processes/<process_id>/decisions/<path:file>")
@allowed_if(policy.may_use_studio)
def edit(process_id: str, file: str):
    """dmn-js's decision-table editor on one decision of the file (`?decision=`, else its first)."""
    draft = engine_of(current_app).draft(process_id, g.user.username)
    path = _dmn_path(draft, file)
    [listed] = [f for f in dmn_files({path: draft.files[path], **{p: t for p, t in draft.files.items()
                                                                  if p.endswith(".bpmn")}}) if f.path == path]
    chosen = request.args.get("decision") or (listed.decisions[0].decision_id if listed.decisions else "")
    data = {"xml": draft.files[path], "decision": chosen, "revision": draft.revision,
            "lang": "en" if str(get_locale()) == "en" else "zh",
            "save_url": url_for(".save", process_id=process_id, file=path)}
    page = render_template("studio/decisions/edit.html", process_id=process_id, file=listed, chosen=chosen,
                           data=data)
    return page, 200, {"Content-Security-Policy": EDITOR_POLICY}


@bp.post("/studio/processes/<process_id>/decisions/<path:file>")
@allowed_if(policy.may_use_studio)
def save(process_id: str, file: str):
    """The edited file into the draft; then every problem the engine finds in the draft, this file's first."""
    engine = engine_of(current_app)
    path = _dmn_path(engine.draft(process_id, g.user.username), file)
    body = request.get_json(silent=True) or {}
    text, revision = body.get("text"), body.get("revision")
    if not isinstance(text, str) or not text.strip():
        return jsonify(ok=False, message=gettext("没有收到决策表内容")), 400
    try:
        draft = engine.save_draft_file(process_id, path, text, g.user.username,
                                       revision if isinstance(revision, int) else None)
    except ConcurrentUpdate as exc:
        return jsonify(ok=False, message=gettext("已被他人修改：保存未成功，您的修改仍在编辑器中。"
                                                 "请复制需要保留的内容后重新打开本页。"),
                       detail=readable(str(exc))), 409
    except SpecInvalid as exc:
        return jsonify(ok=False, message=gettext("决策表文件有问题，未保存"), problems=_problems(exc.problems)), 422
    problems, _notices = engine.review_draft(process_id)
    mine = [p for p in problems if p.file == path]
    others = len(problems) - len(mine)
    if mine:
        message = gettext("已保存到草稿（第 %(n)d 版），但引擎无法使用此决策表：", n=draft.revision)
    else:
        message = gettext("已保存到草稿（第 %(n)d 版），引擎检查通过", n=draft.revision)
    return jsonify(ok=True, revision=draft.revision, message=message, problems=_problems(mine),
                   others=gettext("草稿的其他文件还有 %(n)d 个问题", n=others) if others else "")


def _problems(problems) -> list[dict]:
    return [{"where": " ".join(str(x) for x in (p.file, f"line {p.line}" if p.line else "", p.element_id or "")
                               if x), "message": problem_text(p.message)} for p in problems]
