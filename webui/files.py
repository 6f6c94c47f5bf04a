"""Evidence files on the web: reading a form's uploads (stored only after the permission check, within the quota,
references checked against their submitter and task) and the authorized download `/files/<id>`."""

from __future__ import annotations

from flask import Blueprint, current_app, request, send_file, url_for
from flask_babel import gettext

from domain.work.uploads import NewFile, QuotaExceeded, UploadView, new_id
from engine.errors import EngineError, InvalidState, PermissionDenied

from . import services_of
from .formparse import UploadRejected, field_kind, file_references, parse_form, without_values
from .security import current_user, login_required

bp = Blueprint("files", __name__)
_MB = 1024 * 1024


class FormConflict(Exception):
    """The task closed or went to someone else after the page was read: nothing was stored; `data` is what the person
    typed (without the files just sent), `error` the engine's reason."""

    def __init__(self, data: dict, error: EngineError):
        super().__init__(error.message)
        self.data, self.error = data, error


def read_form(schema: dict, ui: dict | None, task_id: str | None) -> dict:
    """The posted form as data, its new files stored for the signed-in person and `task_id` (None: a start form).

    Raises UploadRejected (nothing stored) for a bad file, a reference that is not the person's upload for this task,
    or a full quota; FormConflict (nothing stored) when the task is no longer open to the person."""
    pending: list[tuple[str, NewFile]] = []

    def collect(path: str, storage) -> str:
        pending.append((path, NewFile(new_id(), storage.filename or "", storage.stream)))
        return pending[-1][1].id

    data = parse_form(schema, ui, request.form, request.files, collect)
    new = {upload.id for _path, upload in pending}
    services, user = services_of(current_app), current_user()
    kept = [(path, ref) for path, ref in file_references(schema, ui, data) if ref not in new]
    foreign = services.uploads.foreign(user, task_id, [ref for _path, ref in kept])
    if foreign:
        message = gettext("文件引用无效：只能使用您本人为此任务上传的文件，请重新上传")
        _refuse({path: [message] for path, ref in kept if ref in foreign}, without_values(data, foreign | new))
    try:
        services.uploads.store(user, task_id, [upload for _path, upload in pending])
    except (InvalidState, PermissionDenied) as exc:
        raise FormConflict(without_values(data, new), exc) from exc
    except QuotaExceeded as exc:
        message = quota_message(exc)
        _refuse({path: [message] for path, _upload in pending}, without_values(data, new))
    return data


def quota_message(exc: QuotaExceeded) -> str:
    """Why the files were refused for the quota, in the reader's language."""
    return gettext("您尚未提交的附件共 %(used).1f MB，加上本次 %(size).1f MB 将超过 %(limit)d MB 上限。"
                   "请先提交已填写的表单；未提交的文件 7 天后自动清除。",
                   used=exc.used / _MB, size=exc.adding / _MB, limit=exc.quota // _MB)


def has_file_field(schema: dict, ui: dict | None) -> bool:
    """Whether a form takes files anywhere (rows and nested objects included)."""
    ui = ui or {}
    for name, prop in (schema.get("properties") or {}).items():
        options = ui.get(name) or {}
        kind = field_kind(prop, options)
        if kind == "file" or (kind == "object" and has_file_field(prop, options)) or (
                kind == "rows" and has_file_field(prop.get("items") or {}, options.get("items") or {})):
            return True
    return False


def _refuse(errors: dict, data: dict) -> None:
    path = next(iter(errors))
    raise UploadRejected(path, errors[path][0], data, errors)


def attach(schema: dict, ui: dict | None, task_id: str | None, instance_id: int, data: dict) -> None:
    """After a successful submit: the person's uploads the form names belong to the case now."""
    references = [ref for _path, ref in file_references(schema, ui, data)]
    services_of(current_app).uploads.attach(current_user(), task_id, instance_id, references)


def describe(upload: UploadView) -> tuple[str, str, str]:
    """(original name, size as text, download URL) of a stored file, for forms and case files."""
    return upload.filename, size_text(upload.size), url_for("files.download", upload_id=upload.id)


def size_text(size: int) -> str:
    """A file size as people read it."""
    if size >= _MB:
        return f"{size / _MB:.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


def my_files(schema: dict | None, ui: dict | None, data: dict | None) -> dict[str, tuple[str, str, str]]:
    """The signed-in person's uploads a form being filled in names, by reference."""
    references = [ref for _path, ref in file_references(schema or {}, ui, data or {})]
    found = services_of(current_app).uploads.mine(current_user(), references)
    return {ref: describe(upload) for ref, upload in found.items()}


def download_response(upload_id: str):
    """The file as an attachment with its original name, for someone who may see it (403/404 otherwise)."""
    upload, path = services_of(current_app).uploads.download(current_user(), upload_id)
    response = send_file(path, mimetype=upload.content_type, as_attachment=True, download_name=upload.filename,
                         max_age=0, conditional=False, etag=False)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/files/<upload_id>")
@login_required
def download(upload_id: str):
    """Download an evidence file."""
    return download_response(upload_id)
