"""Process owners' studio: the deployed versions of each process, a diff between two, and moving open instances
from one version to another (preview with reasons, then the move, each instance on its own)."""

from __future__ import annotations

from itertools import groupby

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext

from domain.people import policy

from . import engine_of
from .security import allowed_if

bp = Blueprint("studio_versions", __name__, url_prefix="/studio", template_folder="templates")
MAX_MOVES = 1000        # instances one confirm may move
PREVIEW_LIMIT = 500     # instances one preview lists (about 10 ms each); move those, then preview the rest
ASPECTS = {"type": lazy_gettext("类型"), "name": lazy_gettext("名称"), "attributes": lazy_gettext("属性"),
           "definition": lazy_gettext("定义（条件、脚本、定时等）"), "extensions": lazy_gettext("扩展属性"),
           "incoming": lazy_gettext("来路"), "outgoing": lazy_gettext("去向"), "form": lazy_gettext("表单内容"),
           "table": lazy_gettext("决策表内容")}


@bp.get("", strict_slashes=False)
@allowed_if(policy.may_use_studio)
def home():
    """`/studio` typed or bookmarked: the studio's first page, the processes."""
    return redirect(url_for(".processes"))


@bp.get("/processes")
@allowed_if(policy.may_use_studio)
def processes():
    """Every process with its versions, newest first: number, author, time, note, open instances."""
    engine = engine_of(current_app)
    names = {p.process_id: p.name for p in engine.startable_processes()}
    grouped = [(pid, names.get(pid, pid), list(rows))
               for pid, rows in groupby(engine.process_versions(), key=lambda r: r.process_id)]
    drafts = engine.open_drafts()
    deployed = {pid for pid, _, _ in grouped}
    return render_template("studio/versions/processes.html", processes=grouped, drafts=drafts,
                           undeployed=[d for pid, d in drafts.items() if pid not in deployed])


@bp.get("/processes/<process_id>/versions/<int:old>/diff/<int:new>")
@allowed_if(policy.may_use_studio)
def diff(process_id: str, old: int, new: int):
    """Elements added, removed and changed from version `old` to `new`, and the files that differ."""
    changes = engine_of(current_app).version_diff(process_id, old, new)
    return render_template("studio/versions/diff.html", process_id=process_id, old=old, new=new, diff=changes,
                           aspect_words=ASPECTS)


def _version_args(source) -> tuple[int | None, int | None, str | None]:
    """(from, to, error): version numbers from a query or form, or why they cannot be read."""
    raw = (source.get("from", ""), source.get("to", ""))
    if not all(raw):
        return None, None, None
    try:
        old, new = (int(value) for value in raw)
    except ValueError:
        return None, None, gettext("版本号须为正整数。")
    if old < 1 or new < 1 or old > 10**6 or new > 10**6:
        return None, None, gettext("版本号须为正整数。")
    if old == new:
        return None, None, gettext("请选择两个不同的版本。")
    return old, new, None


@bp.get("/processes/<process_id>/migrate")
@allowed_if(policy.may_use_studio)
def migrate(process_id: str):
    """Which open instances of version `from` may move to version `to`, and why the others may not."""
    engine = engine_of(current_app)
    versions = engine.process_versions(process_id)
    if not versions:
        abort(404)
    old, new, error = _version_args(request.args)
    checks = engine.preview_migration(process_id, old, new, PREVIEW_LIMIT) if old and new else None
    return render_template("studio/versions/migrate.html", process_id=process_id, versions=versions, old=old,
                           new=new, checks=checks, error=error, limit=PREVIEW_LIMIT), 400 if error else 200


@bp.post("/processes/<process_id>/migrate")
@allowed_if(policy.may_use_studio)
def move(process_id: str):
    """Move the chosen instances (as the preview showed them) and show what happened to each."""
    engine = engine_of(current_app)
    versions = engine.process_versions(process_id)
    old, new, error = _version_args(request.form)
    chosen = request.form.getlist("instance")[:MAX_MOVES + 1]
    try:
        ids = [int(value) for value in chosen]
        revisions = {i: int(request.form.get(f"revision_{i}", "")) for i in ids}
    except ValueError:
        ids, revisions, error = [], {}, error or gettext("所选事项无效，请重新预览后再迁移。")
    if not error and not ids:
        error = gettext("请至少选择一个可迁移的事项。")
    if not error and len(ids) > MAX_MOVES:
        error = gettext("一次最多迁移 %(n)s 个事项。", n=MAX_MOVES)
    if error or not (old and new):
        checks = engine.preview_migration(process_id, old, new, PREVIEW_LIMIT) if old and new else None
        return render_template("studio/versions/migrate.html", process_id=process_id, versions=versions, old=old,
                               new=new, checks=checks, error=error or gettext("请选择两个版本。"),
                               limit=PREVIEW_LIMIT), 400
    results = engine.migrate_instances(process_id, old, new, g.user.username, ids, revisions)
    return render_template("studio/versions/moved.html", process_id=process_id, old=old, new=new, results=results)
