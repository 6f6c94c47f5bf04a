"""The OpenAPI 3.1 document of the JSON API /api/v1, built as a plain dict (served at /api/v1/openapi.json)."""

from __future__ import annotations

MAX_ID = 2**31 - 1
MAX_PAGE = 10_000
MAX_PER_PAGE = 100
MAX_SEARCH = 200
MAX_TEXT = 2000
MAX_STEP = 1000
TABS = ("assigned", "claimable", "involved", "done")
TIERS = ("county", "committee", "township")
STATUSES = ("running", "waiting", "completed", "cancelled", "error")
UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"

STRING = {"type": "string"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
OBJECT = {"type": "object"}
TIME = {"type": "string", "format": "date-time"}
STRINGS = {"type": "array", "items": STRING}

INTAKE_EXAMPLE = {"title": "老街夜间照明不足", "description": "老街路灯长期损坏，夜间出行不便。",
                  "category": "infrastructure", "scope": "township", "township": "township_xunchang",
                  "contact_name": "张女士", "contact_phone": "13800001234", "source": "online"}

DESCRIPTION = """协商流程的 JSON 接口 (the consultation engine's JSON API).

* 认证 (authentication): `POST /tokens` with a username and password, or `xieshang token USERNAME` on the server,
  gives a token; send it as `Authorization: Bearer <token>`. Browser session cookies are not accepted here.
* 谁可以发起 (who may start an instance): any signed-in person, for now.
* 匿名 (anonymous): only `POST /tokens`, `POST /intake` (the public intake form) and this document.
* 令牌 (tokens) expire (90 days unless the server says otherwise), are listed with `GET /tokens` and revoked with
  `DELETE /tokens/{id}`; signing out of the web, a password reset or a role taken away ends them all.
* 限流 (limits): too many wrong passwords (per account and per address), tokens or public submissions answer 429
  with `Retry-After`; anonymous intake takes the public form's fields with `source` online only.
* 错误 (errors): JSON `{error, message, status}` (+ `field_errors` on 422, `code` where a client may act on it);
  messages are Chinese first with English in parentheses, or wholly in the language asked for (`?lang=en`,
  `Accept-Language: en`); `field_errors` (on 400 and 422) are Chinese unless English is asked for. 400 malformed
  request (`data` missing from startInstance or completeTask gives the same error), 401 no or bad token,
  403 not allowed, 404 unknown id, 409 conflict (stale `revision`, task already claimed or closed), 413 body too
  large, 422 data that fails the task's form.
* 办理 (submit): startInstance and completeTask take the same body, `{"data": {...}}` (the form's fields);
  completeTask answers `next_tasks`, the instance's open tasks you may act on now, with their links.
* 附件 (files): `POST /uploads?task_id=…` (multipart, part `file`) stores one file and answers its `id`; put the id
  into the file field of the data you send to completeTask (or startInstance with `?process_id=…`).
* 文本 (text): JSON in UTF-8; strings must not contain U+0000 or unpaired surrogates (400). Unknown fields and
  query parameters are ignored.
"""


CONFLICT_CODES = ("task_completed", "task_cancelled", "task_taken", "stale_revision")
UPLOAD_RULES = """Name exactly one of `task_id` (a task you may act on now) or `process_id` (a process whose start form
you fill in). Who may, and your quota of files not yet submitted, are checked before the body is read: nothing is
stored on a refusal. One file per request in the part `file`: PDF, JPG, PNG, Word or Excel, at most 10 MB, its
content matching its extension. The reference is accepted only in a form you submit on that same task (or start
form); files never submitted are removed after 7 days. Messages follow `?lang=en` or `Accept-Language`."""


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _null(schema: dict) -> dict:
    """The schema, or null."""
    return {"anyOf": [schema, {"type": "null"}]}


# A process's own fields (the consultation's topic, tracking code, suggestions…) come only from its `details` hook.
INSTANCE_REQUIRED = ("id", "process_id", "version", "status", "step", "tier", "org_unit", "org_unit_name", "data",
                     "events", "next_timer_at", "revision", "error", "title", "tasks", "comments")


def _obj(required: tuple[str, ...] | str = "*", **properties) -> dict:
    """An object schema; `required="*"` means every property."""
    names = list(properties) if required == "*" else list(required)
    return {"type": "object", "properties": properties, "required": names}


def _list(item: str) -> dict:
    return {"type": "array", "items": _ref(item)}


def _token_fields() -> dict:
    return dict(id=INTEGER, username=STRING, label=STRING, created_at=TIME, expires_at=_null(TIME),
                last_used_at=_null(TIME), valid=BOOLEAN)


def _schemas() -> dict:
    text = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT}
    page = dict(total=INTEGER, page=INTEGER, per_page=INTEGER, pages=INTEGER)
    return {
        "Error": _obj(("error", "message", "status"), error=STRING, message=STRING, status=INTEGER,
                      code=STRING, field_errors={"type": "object", "additionalProperties": STRINGS}),
        "Conflict": _obj(("error", "message", "status"), error=STRING, message=STRING, status={"const": 409},
                         code={"enum": list(CONFLICT_CODES)}, instance_id=INTEGER, instance_url=STRING,
                         completed_by=_null(STRING), completed_by_name=_null(STRING), completed_at=_null(TIME)),
        "ValidationError": _obj(("error", "message", "status", "field_errors"), error=STRING, message=STRING,
                                status={"const": 422}, code=STRING,
                                field_errors={"type": "object", "additionalProperties": STRINGS}),
        "TokenRequest": _obj(("username", "password"), username=STRING, password=STRING,
                             label={"type": "string", "maxLength": 100}),
        "Token": _obj(token=STRING, **_token_fields()),
        "TokenInfo": _obj(**_token_fields()),
        "TokenList": _obj(items=_list("TokenInfo")),
        "Membership": _obj(role=STRING, org_unit=STRING),
        "Me": _obj(username=STRING, display_name=STRING, active=BOOLEAN, memberships=_list("Membership"),
                   roles=STRINGS),
        "InboxItem": _obj(task_id=STRING, instance_id=INTEGER, name=STRING, title=STRING, step=_null(INTEGER),
                          tier=_null(STRING), org_unit=_null(STRING), assignee=_null(STRING), status=STRING,
                          due_at=_null(TIME), completed_at=_null(TIME), overdue=BOOLEAN, at_risk=BOOLEAN,
                          read=BOOLEAN),
        "InboxPage": _obj(tab={"enum": list(TABS)}, items=_list("InboxItem"), total=INTEGER, per_page=INTEGER,
                          next=_null(STRING), prev=_null(STRING), counts=_obj(**{tab: INTEGER for tab in TABS}),
                          capped=STRINGS, cap=INTEGER),
        "Task": _obj(id=STRING, instance_id=INTEGER, name=STRING, task_spec=STRING, step=_null(INTEGER),
                     lane=_null(STRING), role=_null(STRING), org_unit=_null(STRING), tier=_null(STRING),
                     candidates=STRINGS, assignee=_null(STRING), due_at=_null(TIME), escalation_level=INTEGER,
                     status=STRING, form=_null(OBJECT), ui=_null(OBJECT), instructions=_null(STRING),
                     revision=INTEGER, to_starter=BOOLEAN, can_act=BOOLEAN),
        "CompleteRequest": _obj(("data",), data=OBJECT, revision={"type": "integer", "minimum": 0, "maximum": MAX_ID}),
        "ReturnRequest": _obj(reason=text),
        "ReassignRequest": _obj(to={"type": "string", "minLength": 1, "maxLength": 64}),
        "TaskAssignment": _obj(task_id=STRING, assignee=_null(STRING)),
        "InstanceRef": _obj(instance_id=INTEGER),
        "StartRequest": _obj(("process_id", "data"), process_id={"type": "string", "minLength": 1, "maxLength": 100},
                             data=OBJECT),
        "NextTask": _obj(("id", "name", "task_spec", "step", "due_at", "url", "complete_url", "form_url"),
                         id=STRING, name=STRING, task_spec=STRING, step=_null(INTEGER), due_at=_null(TIME),
                         url=STRING, complete_url=STRING, form_url=STRING),
        "Completed": _obj(instance_id=INTEGER, next_tasks=_list("NextTask")),
        "InstanceSummary": _obj(id=INTEGER, process_id=STRING, title=_null(STRING), status=STRING,
                                step=_null(INTEGER), tier=_null(STRING), org_unit=_null(STRING), updated_at=TIME),
        "InstancePage": _obj(items=_list("InstanceSummary"), **page),
        "Event": _obj(kind=STRING, at=TIME, actor=_null(STRING), task_id=_null(STRING), detail=OBJECT),
        "Suggestion": _obj(number=INTEGER, text=STRING, department=STRING, department_name=STRING,
                           adoption=_null(STRING), reason=_null(STRING), measures=_null(STRING),
                           promised_date=_null(STRING), answer_round=INTEGER, satisfaction=_null(STRING)),
        "TaskSummary": _obj(id=STRING, name=STRING, task_spec=STRING, status=STRING, assignee=_null(STRING),
                            due_at=_null(TIME), completed_at=_null(TIME), completed_by=_null(STRING)),
        "Comment": _obj(author=STRING, kind=STRING, body=STRING, task_id=_null(STRING), created_at=TIME),
        "Instance": _obj(INSTANCE_REQUIRED, id=INTEGER, process_id=STRING, version=STRING, status=STRING,
                         step=_null(INTEGER),
                         tier=_null(STRING), org_unit=_null(STRING), org_unit_name=_null(STRING), data=OBJECT,
                         events=_list("Event"), next_timer_at=_null(TIME), revision=INTEGER, error=_null(STRING),
                         title=_null(STRING), topic=_null(STRING), tracking_code=_null(STRING),
                         report_title=_null(STRING), instruction=_null(STRING), published_at=_null(TIME),
                         suggestions=_list("Suggestion"), tasks=_list("TaskSummary"), comments=_list("Comment")),
        "Upload": _obj(id=STRING, filename=STRING, content_type=STRING, size=INTEGER, sha256=STRING,
                       task_id=_null(STRING), process_id=_null(STRING)),
        "IntakeRequest": _obj(("data",), data=OBJECT),
        "IntakeReceipt": _obj(tracking_code=STRING, instance_id=INTEGER),
    }


def _error(description: str, schema: str = "Error", headers: dict | None = None) -> dict:
    response = {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}
    if headers:
        response["headers"] = headers
    return response


def _responses() -> dict:
    challenge = {"WWW-Authenticate": {"description": "Bearer", "schema": STRING}}
    return {
        "BadRequest": _error("请求格式有误 (malformed JSON, wrong types, bad id or parameter)"),
        "Unauthorized": _error("缺少或无效的令牌 (no or invalid token)", headers=challenge),
        "Forbidden": _error("没有权限 (not allowed)"),
        "NotFound": _error("找不到 (unknown id)"),
        "Conflict": _error("冲突 (stale revision, task claimed by someone else, or closed); completing a task "
                           "someone else finished says who and when, with `code` task_completed | task_cancelled | "
                           "task_taken | stale_revision", "Conflict"),
        "TooLarge": _error("请求体过大或未注明长度 (body too large, or no Content-Length)"),
        "Unprocessable": _error("数据不符合表单 (data fails the form)", "ValidationError"),
        "TooManyRequests": _error("请求过于频繁 (too many wrong passwords, tokens or submissions); wait as long as "
                                  "Retry-After says", headers={"Retry-After": {"description": "seconds",
                                                                                "schema": INTEGER}}),
    }


def _parameters() -> dict:
    def query(name: str, schema: dict, description: str) -> dict:
        return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}

    return {
        "TaskId": {"name": "task_id", "in": "path", "required": True, "description": "任务编号 (task id, a UUID)",
                   "schema": {"type": "string", "pattern": UUID_PATTERN}},
        "FileId": {"name": "upload_id", "in": "path", "required": True, "description": "文件编号 (upload id)",
                   "schema": {"type": "string", "pattern": "^([0-9a-f]{32}|[0-9a-f]{24}[.][a-z0-9]{1,7})$"}},
        "TokenId": {"name": "token_id", "in": "path", "required": True, "description": "令牌编号 (token id)",
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}},
        "Username": query("username", {"type": "string", "maxLength": 64},
                          "管理员可查看他人的令牌，* 为全部 (admins: another person's tokens, * for everyone's)"),
        "InstanceId": {"name": "instance_id", "in": "path", "required": True, "description": "实例编号 (instance id)",
                       "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}},
        "Page": query("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}, "页码 (page)"),
        "PerPage": query("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 20},
                         "每页条数 (items per page)"),
        "Search": query("search", {"type": "string", "maxLength": MAX_SEARCH}, "按标题搜索 (search titles)"),
        "Tier": query("tier", {"enum": list(TIERS)}, "协商平台层级 (platform tier)"),
        "Tab": query("tab", {"enum": list(TABS)},
                     "assigned 待办 | claimable 可认领 | involved 我参与的 | done 已办；不填时为第一个有待办的 "
                     "(absent: the first of assigned, claimable with work)"),
        "After": query("after", {"type": "string", "maxLength": 600},
                       "下一页：上一页回复中的 next (the previous answer's `next` cursor)"),
        "Before": query("before", {"type": "string", "maxLength": 600},
                        "上一页：回复中的 prev (the answer's `prev` cursor)"),
        "ForInstance": query("instance_id", {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                             "只看某个事项的任务 (only the tasks of one instance)"),
        "Step": query("step", {"type": "integer", "minimum": 0, "maximum": MAX_STEP}, "环节 (step of the method)"),
        "Status": query("status", {"enum": list(STATUSES)}, "状态 (status)"),
        "UploadTask": query("task_id", {"type": "string", "pattern": UUID_PATTERN},
                            "文件用于哪个任务的表单 (the task whose form takes the file)"),
        "UploadProcess": query("process_id", {"type": "string", "minLength": 1, "maxLength": 100},
                               "或：文件用于哪个流程的发起表单 (or: the process whose start form takes it)"),
    }


def _parameter(name: str) -> dict:
    return {"$ref": f"#/components/parameters/{name}"}


def _op(op_id: str, summary: str, ok: tuple[str, str, str | None], errors: tuple[int, ...], *,
        body: str | None = None, params: tuple[str, ...] = (), public: bool = False, example: dict | None = None,
        links: dict | None = None, tag: str = "") -> dict:
    """One operation: `ok` is (status, description, schema name); `links` name operations fed by its answer."""
    status, description, schema = ok
    responses = {status: {"description": description}}
    if schema:
        responses[status]["content"] = {"application/json": {"schema": _ref(schema)}}
    if links:
        responses[status]["links"] = links
    names = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
             413: "TooLarge", 422: "Unprocessable", 429: "TooManyRequests"}
    codes = errors if public else (401, *errors)
    for code in sorted(set(codes)):
        responses[str(code)] = {"$ref": f"#/components/responses/{names[code]}"}
    operation = {"operationId": op_id, "summary": summary, "tags": [tag] if tag else [], "responses": responses,
                 "parameters": [_parameter(p) for p in params]}
    if body:
        media = {"schema": _ref(body)}
        if example is not None:
            media["example"] = example
        operation["requestBody"] = {"required": True, "content": {"application/json": media}}
    if public:
        operation["security"] = []
    return operation


def _upload_op() -> dict:
    """POST /uploads: one file as multipart/form-data, for a task or a start form named in the query."""
    operation = _op("uploadFile", "上传证明材料 (upload one evidence file for a form; put the answer's `id` into "
                    "the form data of completeTask / startInstance)", ("201", "已保存 (stored)", "Upload"),
                    (400, 403, 404, 409, 413, 422), params=("UploadTask", "UploadProcess"), tag="tasks")
    binary = {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}, "required": ["file"]}
    operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": binary}}}
    operation["description"] = UPLOAD_RULES
    return operation


def _links(pointer: str, parameter: str, *operations: str) -> dict:
    """Links from an answer's value at `pointer` to the operations that take it as `parameter`."""
    return {op: {"operationId": op, "parameters": {parameter: f"$response.body#{pointer}"}} for op in operations}


def _paths() -> dict:
    assignment = ("200", "任务的承办人 (the task's assignee now)", "TaskAssignment")
    task = ("TaskId",)
    pages = ("Page", "PerPage", "Search")
    to_instance = _links("/instance_id", "instance_id", "getInstance")
    to_task = _links("/items/0/task_id", "task_id", "getTask", "completeTask", "claimTask", "releaseTask",
                     "returnTask", "reassignTask")
    return {
        "/tokens": {
            "post": _op("issueToken", "登录并获取令牌 (sign in, get a token that expires; shown once)",
                        ("201", "令牌 (the token)", "Token"), (400, 401, 429), body="TokenRequest", public=True,
                        tag="auth"),
            "get": _op("listTokens", "我的令牌 (my tokens, newest first; never the tokens themselves)",
                       ("200", "令牌列表 (the tokens)", "TokenList"), (400, 403, 404), params=("Username",),
                       tag="auth")},
        "/tokens/{token_id}": {"delete": _op(
            "revokeToken", "撤销令牌 (revoke a token: its owner or an admin)", ("204", "已撤销 (revoked)", None),
            (400, 404), params=("TokenId",), tag="auth")},
        "/me": {"get": _op(
            "getMe", "当前用户 (the signed-in person)", ("200", "用户 (the person)", "Me"), (), tag="auth")},
        "/tasks": {"get": _op(
            "listTasks", "我的待办 (my tasks: one inbox tab)", ("200", "一页待办 (a page)", "InboxPage"), (400,),
            params=("Tab", "After", "Before", "PerPage", "Search", "Step", "Tier", "ForInstance"), links=to_task,
            tag="tasks")},
        "/tasks/{task_id}": {"get": _op(
            "getTask", "任务详情与表单 (a task with its form schema)", ("200", "任务 (the task)", "Task"),
            (400, 403, 404), params=task, tag="tasks")},
        "/tasks/{task_id}/complete": {"post": _op(
            "completeTask", "办理 (complete the task with form data; answers the tasks you may act on next)",
            ("200", "已办理，及接下来可办理的任务 (completed; the open tasks you may act on next)", "Completed"),
            (400, 403, 404, 409, 422), body="CompleteRequest", params=task, links=to_instance, tag="tasks")},
        "/tasks/{task_id}/claim": {"post": _op(
            "claimTask", "认领 (claim)", assignment, (400, 403, 404, 409), params=task, tag="tasks")},
        "/tasks/{task_id}/release": {"post": _op(
            "releaseTask", "释放 (release a claimed task)", assignment, (400, 403, 404, 409), params=task,
            tag="tasks")},
        "/tasks/{task_id}/return": {"post": _op(
            "returnTask", "退回 (return with a reason)", assignment, (400, 403, 404, 409, 422),
            body="ReturnRequest", params=task, tag="tasks")},
        "/tasks/{task_id}/reassign": {"post": _op(
            "reassignTask", "转办 (reassign to another holder of the role)", assignment, (400, 403, 404, 409),
            body="ReassignRequest", params=task, tag="tasks")},
        "/instances": {
            "get": _op("listInstances", "我可以查看的事项 (instances I may see)",
                       ("200", "一页事项 (a page)", "InstancePage"), (400,), params=(*pages, "Status", "Tier"),
                       tag="instances"),
            "post": _op("startInstance", "发起 (start an instance; any signed-in person may)",
                        ("201", "已发起 (started)", "InstanceRef"), (400, 404, 422), body="StartRequest",
                        example={"process_id": "consultation", "data": INTAKE_EXAMPLE}, links=to_instance,
                        tag="instances")},
        "/instances/{instance_id}": {"get": _op(
            "getInstance", "事项详情 (an instance: status, step, data, events, suggestions)",
            ("200", "事项 (the instance)", "Instance"), (400, 403, 404), params=("InstanceId",), tag="instances")},
        "/uploads": {"post": _upload_op()},
        "/files/{upload_id}": {"get": _op(
            "getFile", "下载证明材料 (download an evidence file; for those who may see its instance)",
            ("200", "文件，作为附件 (the file, as an attachment)", None), (400, 403, 404), params=("FileId",),
            tag="instances")},
        "/intake": {"post": _op(
            "submitIntake", "提交社情民意 (public intake; anonymous allowed)",
            ("201", "回执 (receipt with tracking code)", "IntakeReceipt"), (400, 422, 429),
            body="IntakeRequest", public=True, example={"data": INTAKE_EXAMPLE}, tag="intake")},
        "/openapi.json": {"get": {
            "operationId": "getOpenApi", "summary": "本文档 (this document)", "tags": ["meta"], "security": [],
            "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": OBJECT}}}}}},
    }


def request_schemas() -> dict[str, dict]:
    """The request body schemas (self-contained, so the API validates bodies with them)."""
    return {name: schema for name, schema in _schemas().items() if name.endswith("Request")}


def query_schemas(*names: str) -> dict[str, dict]:
    """Query parameter name → schema, for the named component parameters."""
    parameters = _parameters()
    return {parameters[name]["name"]: parameters[name]["schema"] for name in names}


def build() -> dict:
    """The OpenAPI document."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "xieshang 协商 API", "version": "1.0.0", "description": DESCRIPTION},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "API 令牌 (token from POST /tokens or `xieshang token`)"}},
            "schemas": _schemas(),
            "responses": _responses(),
            "parameters": _parameters(),
        },
    }
