"""The one place that maps engine errors and HTTP errors to statuses and messages (HTML or JSON)."""

from __future__ import annotations

import logging
import re

from flask import g, jsonify, make_response, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from engine.bpmn.forms import in_english
from engine.errors import (
    ConcurrentUpdate,
    EngineError,
    HookFailed,
    InvalidState,
    NotFound,
    PermissionDenied,
    ScriptError,
    SpecInvalid,
    ValidationFailed,
)

log = logging.getLogger(__name__)
DATABASE_DOWN = (OperationalError, InterfaceError)     # the engine's transient errors: the server, not the request
STATUS = [(HookFailed, 500), (NotFound, 404), (PermissionDenied, 403), (ConcurrentUpdate, 409), (InvalidState, 409),
          (ValidationFailed, 422), (SpecInvalid, 422), (ScriptError, 422), (EngineError, 400)]


# Engine messages read "中文 (English)": one line, the English in the closing parentheses.
_BILINGUAL = re.compile(r"([^\n]*\S)\s*\(([^()\n]*[A-Za-z][^()\n]*)\)")
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


def readable(message: str) -> str:
    """An engine message for this page's reader: on English pages, the English part of a bilingual message."""
    match = _BILINGUAL.fullmatch(message or "")
    if match is None or str(get_locale()) != "en" or not _CJK.search(match[1]) or _CJK.search(match[2]):
        return message
    return match[2][:1].upper() + match[2][1:]


def localized(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """Field errors for this reader: as the engine words them (Chinese first), or wholly English when asked for."""
    if str(get_locale()) != "en":
        return errors
    return {field: [in_english(readable(message)) for message in messages] for field, messages in errors.items()}


def status_of(error: EngineError) -> int:
    """HTTP status for an engine error."""
    return next(code for kind, code in STATUS if isinstance(error, kind))


def _titles() -> dict[int, str]:
    return {400: _("请求有误"), 401: _("请先登录"), 403: _("没有权限"), 404: _("找不到该页面或对象"),
            405: _("不支持该操作"), 409: _("操作冲突"), 413: _("提交的内容太大"), 422: _("提交的内容有误"),
            429: _("操作过于频繁，请稍后再试"), 500: _("服务器出错了"),
            503: _("服务暂不可用")}


def wants_json() -> bool:
    """API requests get JSON errors; pages get HTML."""
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_response(status: int, message: str, details: dict | None = None):
    """A JSON or HTML error response."""
    if wants_json():
        body = {"error": _titles().get(status, "error"), "message": message, "status": status}
        if details:
            body.update(details)
        return jsonify(body), status
    return render_template("errors/error.html", status=status, title=_titles().get(status, _("出错了")),
                           message=readable(message)), status


def log_fault(error: EngineError) -> None:
    """Log an engine fault turned into a message for a person: the message, the cause and its traceback (our bug, a
    HookFailed, as an error; a diagram's, a ScriptError, as a warning)."""
    level = logging.ERROR if isinstance(error, HookFailed) else logging.WARNING
    log.log(level, "%s shown to a person: %s", type(error).__name__, error.message, exc_info=error)


def engine_error(error: EngineError):
    """Map an engine error that a view did not handle itself (a fault, not a refusal, is logged with its cause)."""
    if isinstance(error, HookFailed | ScriptError):
        log_fault(error)
    details = None
    if isinstance(error, ValidationFailed):
        details = {"field_errors": localized(error.field_errors)}
        if str(get_locale()) == "en":
            return error_response(422, "Invalid data\n" + "\n".join(
                f"{field}: {'; '.join(messages)}" for field, messages in sorted(details["field_errors"].items())),
                details)
    elif isinstance(error, SpecInvalid):
        details = {"problems": [str(p) for p in error.problems]}
    return error_response(status_of(error), error.message, details)


def http_error(error: HTTPException):
    """Map aborts (404, 403, CSRF 400, 413 …) to our pages or JSON."""
    message = error.description or ""
    if error.code == 400 and message == "csrf":
        message = _("表单已过期或来源不明，请刷新页面后重新提交。")
    elif error.code == 413:
        limit = request.max_content_length or 0
        message = (f"提交的内容超过 {limit // 1024} KB 上限，请删减后再提交 "
                   f"(the request is larger than the limit of {limit // 1024} KB)")
    elif error.code in {403, 404, 405, 429}:
        message = _titles()[error.code]
    response, status = error_response(error.code or 500, message)
    response = make_response(response, status)
    for name, value in error.get_headers():
        if name.lower() in {"allow", "retry-after", "www-authenticate"}:
            response.headers[name] = value
    return response


def internal_error(error):
    """Never show a traceback."""
    return error_response(500, _("服务器出错了，请稍后再试。"))


# sqlite3 raises OperationalError for a statement it cannot run as well as for a database it cannot reach
_STATEMENT_FAULTS = ("syntax error", "no such table", "no such column", "has no column named", "no such function")


def database_unavailable(error):
    """The database does not answer (stopped, unreachable, out of connections): 503, said plainly, retry later. A
    statement the database refused is the product's fault, not the database's: a 500 (with its request id)."""
    cause = str(getattr(error, "orig", error)).lower()
    if isinstance(error, OperationalError) and any(fault in cause for fault in _STATEMENT_FAULTS):
        log.error("the database refused a statement: %s", cause, exc_info=error)
        return internal_error(error)
    log.error("the database is unavailable: %s", type(error).__name__, exc_info=error)
    g.user = None       # the page must not ask the database who is signed in or what is unread
    response, status = error_response(503, _("数据库暂时无法连接，请稍后再试。"))
    response = make_response(response, status)
    response.headers["Retry-After"] = "30"
    return response


def init_app(app) -> None:
    """Register the handlers."""
    for kind in DATABASE_DOWN:
        app.register_error_handler(kind, database_unavailable)
    app.register_error_handler(EngineError, engine_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(500, internal_error)
