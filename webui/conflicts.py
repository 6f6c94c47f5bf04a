"""Someone else was first: the task was completed, cancelled, taken or changed between reading and submitting.

One explanation in the reader's language, saying who finished the task and when where that is known, for the task
page (which keeps what the person typed) and the API's 409 body (an error code plus the same message)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup

from engine.errors import PermissionDenied

from . import services_of
from .casefile import entry_values
from .errors import readable
from .formparse import file_references
from .labels import localtime
from .security import current_user

_ENGLISH_TAIL = re.compile(r"\s*\([^()\n]*[A-Za-z][^()\n]*\)\s*$")     # "中文 (English)": the part in parentheses


def wholly_local(message: str) -> str:
    """An engine message ("中文 (English)") in the reader's language only: the English part on English pages, the
    Chinese part on Chinese ones (never half of each)."""
    if str(get_locale()) == "en":
        return readable(message)
    return _ENGLISH_TAIL.sub("", message or "") or message


@dataclass(frozen=True)
class Conflict:
    """Why a submission was not saved."""

    code: str                      # task_completed | task_cancelled | task_taken | stale_revision
    message: str                   # in the reader's language, without the "what now" part (pages and API add theirs)
    instance_id: int
    completed_by: str | None = None        # username of who finished the task
    completed_by_name: str | None = None   # their display name
    completed_at: datetime | None = None


def conflict_of(detail, task_id: str, username: str) -> Conflict:
    """What happened to `task_id` since the person read it, from the instance page's content as it is now."""
    row = next((t for t in detail.tasks if t.id == task_id), None)
    instance_id = detail.instance.id
    if row is not None and row.status == "completed":
        who, when = row.completed_by, row.completed_at
        name = detail.people.get(who, who) if who else None
        if who == username and when:
            message = _("您已于 %(time)s 提交过此任务，这次的提交没有保存。", time=localtime(when))
        elif name and when:
            message = _("%(name)s 已于 %(time)s 办理了此任务，您这次的提交没有保存。", name=name, time=localtime(when))
        else:
            message = _("此任务已由他人办理完毕，您这次的提交没有保存。")
        return Conflict("task_completed", message, instance_id, who, name, when)
    if row is not None and row.status != "ready":
        return Conflict("task_cancelled", _("此任务已取消（流程已撤销或已改道），您这次的提交没有保存。"), instance_id)
    if row is not None and row.assignee and row.assignee != username:
        name = detail.people.get(row.assignee, row.assignee)
        return Conflict("task_taken", _("此任务已由 %(name)s 认领，您这次的提交没有保存。", name=name), instance_id)
    return Conflict("stale_revision", _("该事项刚被他人更新，您这次的提交没有保存。"), instance_id)


def raced(error: Exception, conflict: Conflict, task, username: str, revision: int | None) -> bool:
    """Whether a refusal is someone else having been first (409), not the person lacking the right to act (403): a
    "not yours" refusal is a race only when the task went to another holder of a role the person holds too after
    they read it (the `revision` they read is no longer the task's)."""
    if not isinstance(error, PermissionDenied):
        return True
    if conflict.code != "task_taken" or revision in (None, task.revision) or not task.role or not task.org_unit:
        return False
    return username in {name for name, _title in services_of(current_app).accounts.eligible(task.role, task.org_unit)}


def kept_values(schema: dict, ui: dict | None, data: dict, detail) -> Markup:
    """What the person typed, read-only as text they can select and copy (labels, chosen titles, names, files)."""
    references = [ref for _path, ref in file_references(schema, ui, data)]
    mine = services_of(current_app).uploads.mine(current_user(), references)
    files = {ref: (upload.filename, upload.size) for ref, upload in mine.items()}
    entry = SimpleNamespace(schema=schema, ui=ui or {}, data=data, hidden=())
    return entry_values(entry, detail.people, detail.org_names, files)
