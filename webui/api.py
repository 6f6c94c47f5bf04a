"""JSON API /api/v1: token sign-in, my tasks and the actions on them, instances I may see, the public intake, and
the OpenAPI document. Views parse the request, call one service method and return JSON; engine errors are mapped
in webui/errors.py."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import asdict

from flask import Blueprint, abort, current_app, g, jsonify, request, url_for
from flask_babel import get_locale, gettext
from werkzeug.datastructures import MultiDict

from domain.consultation import hooks as consultation_hooks
from domain.consultation.records import tracking_code
from domain.work import inbox
from domain.work.uploads import NewFile, QuotaExceeded, new_id
from engine.bpmn.forms import field_errors
from engine.errors import ConcurrentUpdate, InvalidState, PermissionDenied, ValidationFailed
from engine.views import plain_data

from . import engine_of, gates, intake, openapi, services_of
from .api_results import next_tasks
from .conflicts import conflict_of, raced
from .errors import error_response, localized
from .files import download_response, has_file_field, quota_message
from .formparse import check_upload, file_references

bp = Blueprint("api", __name__, url_prefix="/api/v1")

PUBLIC = {"api.issue_token", "api.submit_intake", "api.document"}
MAX_DEPTH = 32
TASK_ID = re.compile(openapi.UUID_PATTERN)
DIGITS = re.compile(r"[0-9]{1,10}")
REQUESTS = openapi.request_schemas()
BAD_LOGIN = "用户名或密码不正确 (wrong username or password)"
PART_HEADERS = 8 * 1024    # a multipart body holds at least its length less this of file: the quota's early check


# --- request parsing ----------------------------------------------------------------------------------
def _fail(status: int, message: str, details: dict | None = None):
    """Stop the request with a JSON error (401s carry the Bearer challenge)."""
    response, status = error_response(status, message, details)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="xieshang"'
    abort(response)


def _clean_text(value: str, where: str) -> None:
    if "\x00" in value or _has_surrogate(value):
        _fail(400, f"{where} 含有空字符或无效的 Unicode (NUL or unpaired surrogate characters are not allowed)")


def _has_surrogate(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_tree(body) -> None:
    """Refuse nesting deeper than MAX_DEPTH and text the database cannot store (walked without recursion)."""
    stack = [(body, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            _fail(400, f"JSON 嵌套过深 (nesting deeper than {MAX_DEPTH} levels)")
        if isinstance(value, str):
            _clean_text(value, "文本")
        elif isinstance(value, dict):
            for key, item in value.items():
                _clean_text(key, "字段名")
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


def _payload(schema: str) -> dict:
    """The request's JSON object, checked against the named request schema of the OpenAPI document."""
    if not request.is_json:
        _fail(400, "请求体须为 JSON (send Content-Type: application/json)")
    try:
        body = json.loads(request.get_data(cache=False) or b"null")
    except (ValueError, RecursionError):
        _fail(400, "请求体不是有效的 JSON (the body is not valid JSON)")
    if not isinstance(body, dict):
        _fail(400, "请求体须为 JSON 对象 (the body must be a JSON object)")
    body = {key: value for key, value in body.items() if key in REQUESTS[schema]["properties"]}   # the rest is unused
    _check_tree(body)
    found = field_errors(REQUESTS[schema], body)
    if found:                # the reader's language is settled only for an answer that has words in it
        errors = {field: [_short(m) for m in messages] for field, messages in localized(found).items()}
        lines = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in sorted(errors.items()))
        head = "Invalid request" if str(get_locale()) == "en" else "请求内容有误 (invalid request)"
        _fail(400, f"{head}: {lines}", {"field_errors": errors})
    return body


def _short(message: str, limit: int = 200) -> str:
    """Messages quote the offending value; keep them readable."""
    return message if len(message) <= limit else message[:limit] + "…"


def _query(args: MultiDict, schema: dict) -> dict:
    """Query parameters checked against their OpenAPI schemas; absent ones are left out."""
    values = {}
    for name, spec in schema.items():
        raw = args.get(name)
        if raw is None:
            continue
        _clean_text(raw, name)
        if spec.get("type") == "integer":
            if not DIGITS.fullmatch(raw) or not spec["minimum"] <= int(raw) <= spec["maximum"]:
                _fail(400, f"参数 {name} 须为 {spec['minimum']}–{spec['maximum']} 的整数 "
                           f"({name} must be an integer {spec['minimum']}–{spec['maximum']})")
            values[name] = int(raw)
        elif "enum" in spec and raw not in spec["enum"]:
            _fail(400, f"参数 {name} 须为 {' | '.join(spec['enum'])} 之一 ({name} must be one of them)")
        elif len(raw) > spec.get("maxLength", len(raw)):
            _fail(400, f"参数 {name} 不能超过 {spec['maxLength']} 个字 ({name} is too long)")
        else:
            values[name] = raw
    return values


@bp.before_request
def require_token():
    """Every endpoint but the public ones needs `Authorization: Bearer <token>`; ids in paths are checked."""
    if request.endpoint not in PUBLIC and not (g.get("token_auth") and g.user is not None):
        sent = request.headers.get("Authorization", "").startswith("Bearer ")
        _fail(401, "令牌无效或已停用 (invalid or revoked token)" if sent else
              "请提供 API 令牌 (send Authorization: Bearer <token>)")
    args = request.view_args or {}
    if "task_id" in args:
        if not TASK_ID.fullmatch(args["task_id"]):
            _fail(400, "任务编号须为 UUID (task id must be a UUID)")
        args["task_id"] = args["task_id"].lower()
    if "token_id" in args:
        raw = args["token_id"]
        if not DIGITS.fullmatch(raw) or not 1 <= int(raw) <= openapi.MAX_ID:
            _fail(400, f"令牌编号须为 1–{openapi.MAX_ID} 的整数 (token id must be an integer)")
        args["token_id"] = int(raw)
    if "instance_id" in args:
        raw = args["instance_id"]
        if not DIGITS.fullmatch(raw) or not 1 <= int(raw) <= openapi.MAX_ID:
            _fail(400, f"实例编号须为 1–{openapi.MAX_ID} 的整数 (instance id must be an integer)")
        args["instance_id"] = int(raw)


# --- responses ----------------------------------------------------------------------------------------
def _instance(detail) -> dict:
    body = detail.instance.as_dict()
    body.update(org_unit_name=detail.org_unit_name, title=detail.title,
                comments=[plain_data(asdict(c)) for c in detail.comments])
    if hasattr(detail.section, "as_dict"):      # the process's own fields (the consultation's topic, suggestions…)
        body.update(plain_data(detail.section.as_dict()))
    body["tasks"] = [plain_data({"id": t.id, "name": t.name, "task_spec": t.task_spec, "status": t.status,
                             "assignee": t.assignee, "due_at": t.due_at, "completed_at": t.completed_at,
                             "completed_by": t.completed_by}) for t in detail.tasks]
    return body


def _page(page, **extra) -> dict:
    return {"items": [item.as_dict() for item in page.items], "total": page.total, "page": page.page,
            "per_page": page.per_page, "pages": page.pages, **extra}


def _assignment(task_id: str, assignee: str | None):
    return jsonify(task_id=task_id, assignee=assignee)


# --- endpoints ----------------------------------------------------------------------------------------
@bp.get("/openapi.json")
def document():
    """The OpenAPI 3.1 document (public)."""
    return jsonify(openapi.build())


@bp.post("/tokens")
def issue_token():
    """Sign in with username and password; 201 with a new token (the same 401 for any wrong credentials; 429 after
    too many wrong passwords for the account or from the address, as on /login, or too many tokens issued)."""
    body = _payload("TokenRequest")
    refusal = gates.sign_in_refused(body["username"]) or gates.token_issue_refused(body["username"])
    if refusal is not None:
        abort(gates.too_many(refusal, api=True))
    accounts = services_of(current_app).accounts
    user = accounts.authenticate(body["username"], body["password"])
    if user is None:
        gates.sign_in_failed(body["username"])
        _fail(401, BAD_LOGIN)
    gates.sign_in_succeeded(body["username"])
    gates.token_issued(body["username"])
    token, view = accounts.new_token(user.username, body.get("label") or "api")
    return jsonify(token=token, **_token(view)), 201


@bp.get("/tokens")
def list_tokens():
    """The caller's API tokens (an admin may ask for another person's with `username`), newest first."""
    filters = _query(request.args, openapi.query_schemas("Username"))
    views = services_of(current_app).accounts.tokens_of(g.user, filters.get("username") or None)
    return jsonify(items=[_token(view) for view in views])


@bp.delete("/tokens/<token_id>")
def revoke_token(token_id: int):
    """Revoke one token (its owner or an admin); 204, and it stops working at once."""
    services_of(current_app).accounts.revoke_token(g.user, token_id)
    return "", 204


def _token(view) -> dict:
    return plain_data({"id": view.id, "username": view.username, "label": view.label, "created_at": view.created_at,
                       "expires_at": view.expires_at, "last_used_at": view.last_used_at, "valid": view.valid})


@bp.get("/me")
def me():
    """The signed-in person and their memberships."""
    user = g.user
    return jsonify(username=user.username, display_name=user.display_name, active=user.active,
                   memberships=[{"role": r, "org_unit": o} for r, o in user.memberships], roles=sorted(user.roles))


TASK_FILTERS = openapi.query_schemas("Tab", "After", "Before", "PerPage", "Search", "Step", "Tier", "ForInstance")


@bp.get("/tasks")
def tasks():
    """One page of one inbox tab (by default the first with work), paged by the `next`/`prev` cursors; every
    parameter is one this endpoint reads (an unknown one is a 400, not silently ignored)."""
    unknown = sorted(set(request.args) - set(TASK_FILTERS) - {"lang"})
    if unknown:
        _fail(400, gettext("不认识的参数：%(names)s。可用的参数：%(known)s", names=", ".join(unknown)[:200],
                           known=", ".join(TASK_FILTERS)), {"unknown_parameters": unknown[:20]})
    filters = _query(request.args, TASK_FILTERS)
    if "search" in filters:
        filters["search"] = filters["search"].strip()
    try:
        page = services_of(current_app).participation.inbox(g.user, **filters)
    except inbox.BadCursor:
        _fail(400, gettext("翻页链接无效或已过期（可能被改动过），请从第一页重新翻页"))
    return jsonify({"items": [item.as_dict() for item in page.items], "total": page.total,
                    "per_page": page.per_page, "next": page.next, "prev": page.prev, "tab": page.tab,
                    "counts": page.counts, "capped": sorted(page.capped), "cap": page.cap})


@bp.get("/tasks/<task_id>")
def task(task_id: str):
    """A task the person may see, with its form (JSON schema), UI schema and whether they may act on it."""
    view = services_of(current_app).participation.task_for(task_id, g.user)
    return jsonify({**view.as_dict(), "can_act": view.status == "ready" and g.user.username in view.candidates})


@bp.post("/tasks/<task_id>/complete")
def complete(task_id: str):
    """Complete the task with form data; 422 with field errors, 409 on a stale revision."""
    body = _payload("CompleteRequest")
    references: list[tuple[str, str]] = []

    def check_files(schema: dict | None, ui: dict | None) -> None:
        """Run by the engine with the form of the task it read: file references must be the person's own."""
        references[:] = file_references(schema or {}, ui, body["data"])
        if references:
            services_of(current_app).participation.task_for(task_id, g.user)   # 403 before naming anyone's files
            _require_own_files(references, task_id)

    engine = engine_of(current_app)
    try:
        with engine.vouched(g.user.username, g.user.memberships):     # read with the token in this request
            instance_id, following = engine.complete_and_follow(task_id, body["data"], g.user.username,
                                                                body.get("revision"), check_form=check_files)
    except (ConcurrentUpdate, InvalidState, PermissionDenied) as exc:
        view = services_of(current_app).participation.task_for(task_id, g.user)     # 404/403 as before
        return _conflict(view, exc, body.get("revision"))
    services_of(current_app).uploads.attach(g.user, task_id, instance_id, [ref for _path, ref in references])
    return jsonify(instance_id=instance_id, next_tasks=next_tasks(following))


def _conflict(view, error, revision: int | None):
    """409 when someone else was first: an error code, who finished the task and when, in the asked-for language."""
    detail = services_of(current_app).participation.instance_detail(view.instance_id, g.user)
    conflict = conflict_of(detail, view.id, g.user.username)
    if not raced(error, conflict, view, g.user.username, revision):
        raise error             # not a race: the person may simply not act on this task (403)
    response, status = error_response(409, conflict.message, {
        "code": conflict.code, "instance_id": conflict.instance_id, "completed_by": conflict.completed_by,
        "completed_by_name": conflict.completed_by_name,
        "completed_at": conflict.completed_at.isoformat() if conflict.completed_at else None,
        "instance_url": url_for("instances.detail", instance_id=conflict.instance_id)})
    return response, status


def _require_own_files(references: list[tuple[str, str]], task_id: str) -> None:
    """A form names only uploads its submitter made for this task (422 with the fields otherwise)."""
    foreign = services_of(current_app).uploads.foreign(g.user, task_id, [ref for _path, ref in references])
    if foreign:
        message = "文件引用无效：只能使用您本人为此任务上传的文件 (not a file you uploaded for this task)"
        raise ValidationFailed({path: [message] for path, ref in references if ref in foreign})


@bp.post("/uploads")
def upload():
    """Store one evidence file for a task (`task_id`) or a start form (`process_id`) the person may fill in; 201 with
    the reference to put into the form data. Who may, and the quota, are checked before the body is read."""
    target = _query(request.args, openapi.query_schemas("UploadTask", "UploadProcess"))
    task_id, process_id = target.get("task_id"), target.get("process_id")
    if (task_id is None) == (process_id is None):
        _fail(400, gettext("请用 task_id 或 process_id（二者选一）指明文件用于哪个表单"))
    if task_id is not None:
        if not TASK_ID.fullmatch(task_id):
            _fail(400, gettext("任务编号须为 UUID"))
        task_id = task_id.lower()
        form = services_of(current_app).participation.task_for(task_id, g.user)    # 404/403 before anything else
    else:
        form = engine_of(current_app).startable_process(process_id)                 # 404 for an unknown process
    if not has_file_field(form.form or {}, form.ui):
        _refuse_file(gettext("此表单没有附件字段，不能上传文件"), "no_file_field")
    if request.mimetype != "multipart/form-data":
        _fail(400, gettext("请以 multipart/form-data 上传，文件放在 file 字段"))
    length = request.content_length
    if length is None or length > (request.max_content_length or 0):
        _fail(413, gettext("请求须注明 Content-Length，且不超过 %(limit)d MB",
                           limit=(request.max_content_length or 0) // (1024 * 1024)))
    uploads = services_of(current_app).uploads
    try:
        uploads.check_room(g.user, task_id, max(0, length - PART_HEADERS))   # may act, room left: nothing read yet
    except QuotaExceeded as exc:
        _refuse_file(quota_message(exc), "quota_exceeded")
    files = request.files.getlist("file")
    if len(files) != 1 or len(request.files) != 1 or not files[0].filename:
        _fail(400, gettext("请在 file 字段中上传一个文件（一次一个）"))
    problem = check_upload(files[0])
    if problem:
        _refuse_file(problem, "bad_file")
    try:
        (stored,) = uploads.store(g.user, task_id, [NewFile(new_id(), files[0].filename, files[0].stream)])
    except QuotaExceeded as exc:
        _refuse_file(quota_message(exc), "quota_exceeded")
    return jsonify(id=stored.id, filename=stored.filename, content_type=stored.content_type, size=stored.size,
                   sha256=stored.sha256, task_id=task_id, process_id=process_id), 201


def _refuse_file(message: str, code: str) -> None:
    _fail(422, message, {"code": code, "field_errors": {"file": [message]}})


@bp.get("/files/<upload_id>")
def download(upload_id: str):
    """An evidence file, for those who may see its instance."""
    return download_response(upload_id)


@bp.post("/tasks/<task_id>/claim")
def claim(task_id: str):
    """Claim a task of one of the person's roles."""
    services_of(current_app).participation.task_for(task_id, g.user)   # 403 before revealing its state
    engine_of(current_app).claim_task(task_id, g.user.username)
    return _assignment(task_id, g.user.username)


@bp.post("/tasks/<task_id>/release")
def release(task_id: str):
    """Give a claimed task back to everyone with its role."""
    services_of(current_app).participation.task_for(task_id, g.user)   # 403 before revealing its state
    engine_of(current_app).release_task(task_id, g.user.username)
    return _assignment(task_id, None)


@bp.post("/tasks/<task_id>/return")
def give_back(task_id: str):
    """退回: the assignee returns the task, saying why."""
    services_of(current_app).participation.task_for(task_id, g.user)   # 403 before revealing its state
    body = _payload("ReturnRequest")
    services_of(current_app).participation.return_task(task_id, g.user, body["reason"])
    return _assignment(task_id, None)


@bp.post("/tasks/<task_id>/reassign")
def reassign(task_id: str):
    """转办: hand the task to another holder of its role."""
    services_of(current_app).participation.task_for(task_id, g.user)   # 403 before revealing its state
    body = _payload("ReassignRequest")
    engine_of(current_app).reassign_task(task_id, body["to"], g.user.username)
    return _assignment(task_id, body["to"])


@bp.post("/instances")
def start():
    """Start an instance of the latest version of a process (any signed-in person may, for now)."""
    body = _payload("StartRequest")
    references: list[tuple[str, str]] = []

    def check_files(schema: dict | None, ui: dict | None) -> None:
        """Run by the engine with the start form of the version it starts: file references must be one's own."""
        references[:] = file_references(schema or {}, ui, body["data"])
        _require_own_files(references, None)

    instance_id = engine_of(current_app).start_instance(body["process_id"], body["data"], g.user.username,
                                                        check_form=check_files)
    services_of(current_app).uploads.attach(g.user, None, instance_id, [ref for _path, ref in references])
    return jsonify(instance_id=instance_id), 201, {"Location": f"{bp.url_prefix}/instances/{instance_id}"}


@bp.get("/instances")
def instances():
    """One page of the instances the person may see."""
    filters = _query(request.args, openapi.query_schemas("Page", "PerPage", "Search", "Status", "Tier"))
    return jsonify(_page(services_of(current_app).participation.instances(g.user, **filters)))


@bp.get("/instances/<instance_id>")
def instance(instance_id: int):
    """An instance: status, step, tier, org unit, data, events, suggestions, tasks and comments."""
    return jsonify(_instance(services_of(current_app).participation.instance_summary(instance_id, g.user)))


@bp.post("/intake")
def submit_intake():
    """The public intake form (anonymous allowed): 201 with the tracking code."""
    body = _payload("IntakeRequest")
    refusal = gates.gates_of().pass_through("intake", gates.address())     # the HTML form's bucket
    if refusal is not None:
        abort(gates.too_many(refusal, api=True))
    if body["data"].get(intake.HONEYPOT):        # only robots fill the hidden field: pretend, store nothing
        return jsonify(tracking_code=tracking_code(), instance_id=secrets.randbelow(10**6) + 1), 201
    user = g.user if g.get("token_auth") else None
    data, refused = intake.api_submission(body["data"], user)
    if refused:
        raise ValidationFailed(intake.api_messages(refused))
    actor = user.username if user is not None and data["source"] != "online" else None     # as the forms do
    receipt = consultation_hooks.submit_intake(engine_of(current_app), data, actor)
    return jsonify(tracking_code=receipt.tracking_code, instance_id=receipt.instance_id), 201
