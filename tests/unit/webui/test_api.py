"""The JSON API /api/v1: every endpoint's answer and error statuses with their messages, and who may do what."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from cli.main import cli
from tests.conftest import DATA
from tests.support.consultation import SCENARIOS

INTAKE = SCENARIOS["township"].intake()
TOPIC = SCENARIOS["township"].answer("define_topic", {})
UNKNOWN_TASK = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def call(client, web_services):
    """call(method, path, user=None, **kw): one request to /api/v1 with that person's token."""
    tokens = {}
    client.application.config["RATE_LIMITS"] = {"intake": "100 per minute"}    # everyone posts from one address

    def request(method: str, path: str, user: str | None = None, **kwargs):
        headers = kwargs.pop("headers", {})
        if user is not None:
            if user not in tokens:
                tokens[user] = web_services.accounts.issue_token(user)
            headers["Authorization"] = f"Bearer {tokens[user]}"
        return client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    return request


def _triaged(engine, township: str) -> SimpleNamespace:
    """A consultation in `township` past triage: its define_topic task waits for that township's organizer."""
    intake = dict(INTAKE, township=township)
    instance_id = engine.start_instance("consultation", intake)
    triage = engine.list_tasks(instance_id=instance_id)[0]
    engine.complete_task(triage.id, {"decision": "accept", "tier": "township", "org_unit": township}, "office")
    task = engine.list_tasks(instance_id=instance_id)[0]
    return SimpleNamespace(instance_id=instance_id, task=task)


@pytest.fixture
def world(web_engine):
    """Two consultations past triage (巡场镇 and 珙泉镇) and a fresh intake whose triage task the office holds."""
    here, there = _triaged(web_engine, "township_xunchang"), _triaged(web_engine, "township_gongquan")
    fresh = web_engine.start_instance("consultation", INTAKE)
    return SimpleNamespace(here=here, there=there, fresh=fresh, triage=web_engine.list_tasks(instance_id=fresh)[0])


def _error(response, status: int, text: str) -> dict:
    """Assert a JSON error with that status whose message contains `text`."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["status"] == status and text in body["message"], body
    return body


# --- tokens and who is signed in ---------------------------------------------------------------------------
def test_signing_in_gives_a_token_that_works(call):
    response = call("POST", "/tokens", json={"username": "office", "password": "xieshang-demo", "label": "手机"})
    assert response.status_code == 201 and response.get_json()["token"].startswith("xs_")
    me = call("GET", "/me", headers={"Authorization": f"Bearer {response.get_json()['token']}"})
    assert me.get_json() == {"username": "office", "display_name": me.get_json()["display_name"], "active": True,
                             "memberships": [{"role": "office", "org_unit": "county"}], "roles": ["office"]}


def test_a_tokens_person_has_the_memberships_a_session_sees_several_or_none(call, web_services):
    """The token, its owner and the owner's memberships are read in one statement (a row per membership)."""
    accounts = web_services.accounts
    people, _total = accounts.users(per_page=200)
    admin = next(p for p in people if p.is_admin)
    people.append(accounts.create_user(admin, "nobody_holds", "无角色者", "a-long-enough-passphrase-7"))
    chosen = [p for p in people if len(p.memberships) > 1][:3] + [p for p in people if len(p.memberships) == 1][:1]
    assert len(chosen) == 4 and not people[-1].memberships
    for person in chosen + people[-1:]:
        me = call("GET", "/me", user=person.username).get_json()
        assert [(m["role"], m["org_unit"]) for m in me["memberships"]] == list(person.memberships), person.username
        assert me["roles"] == sorted(person.roles) and me["display_name"] == person.display_name


def test_wrong_password_and_unknown_user_get_the_same_answer(call):
    wrong = call("POST", "/tokens", json={"username": "office", "password": "nope"})
    ghost = call("POST", "/tokens", json={"username": "ghost", "password": "nope"})
    assert _error(wrong, 401, "用户名或密码不正确") == _error(ghost, 401, "用户名或密码不正确")
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")


def test_token_requests_with_wrong_types_are_400_naming_the_fields(call):
    body = _error(call("POST", "/tokens", json={"username": 7}), 400, "请求内容有误")
    assert sorted(body["field_errors"]) == ["password", "username"]


@pytest.mark.parametrize(("data", "content_type", "message"), [
    ("{", "application/json", "不是有效的 JSON"),
    ("[1, 2]", "application/json", "须为 JSON 对象"),
    ('{"username": "office"}', "text/plain", "请求体须为 JSON"),
    ("", "application/json", "须为 JSON 对象"),
    ('{"username": "a\\u0000", "password": "x"}', "application/json", "空字符"),
    ('{"username": "\\ud800", "password": "x"}', "application/json", "无效的 Unicode"),
    ('{"username": "a", "password": "b", "x": ' + "[" * 5000 + "]" * 5000 + "}", "application/json", "JSON"),
])
def test_malformed_bodies_are_400_never_500(call, data, content_type, message):
    _error(call("POST", "/tokens", data=data, content_type=content_type), 400, message)


def test_deep_nesting_is_400_and_unknown_fields_are_ignored(call, web_engine):
    nested = json.loads("[" * 40 + "]" * 40)
    _error(call("POST", "/intake", json={"data": dict(INTAKE, extra=nested)}), 400, "嵌套过深")
    assert call("POST", "/intake", json={"data": INTAKE, "x\u0000": "\u0000", "deep": nested}).status_code == 201


def test_the_token_command_issues_a_token_for_the_api(call, sqlite_url, monkeypatch):
    monkeypatch.setenv("XIESHANG_DATABASE_URL", sqlite_url)
    result = CliRunner().invoke(cli, ["token", "m001", "--label", "script", "--json"])
    assert result.exit_code == 0, result.output
    token = json.loads(result.output)["token"]
    assert call("GET", "/me", headers={"Authorization": f"Bearer {token}"}).get_json()["username"] == "m001"
    unknown = CliRunner().invoke(cli, ["token", "ghost"])
    assert unknown.exit_code == 1 and "没有用户 ghost" in unknown.output


def test_requests_without_a_valid_token_are_401_with_a_bearer_challenge(call, login):
    missing = call("GET", "/me")
    _error(missing, 401, "请提供 API 令牌")
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="xieshang"'
    _error(call("GET", "/me", headers={"Authorization": "Bearer xs_forged"}), 401, "令牌无效或已停用")
    login("office")     # a browser session is not enough: the API takes tokens only (no CSRF check under /api/)
    _error(call("POST", "/instances", json={"process_id": "consultation", "data": INTAKE}), 401, "请提供 API 令牌")


def test_a_deactivated_persons_token_stops_working(web_services, call, web_engine):
    assert call("GET", "/me", user="m002").status_code == 200
    web_services.accounts.update_user(web_services.accounts.user("admin"), "m002", active=False)
    _error(call("GET", "/me", user="m002"), 401, "令牌无效或已停用")


# --- tasks -------------------------------------------------------------------------------------------------
def test_the_inbox_lists_a_tab_with_counts(call, world):
    body = call("GET", "/tasks?tab=claimable", user="office").get_json()
    assert [item["task_id"] for item in body["items"]] == [world.triage.id]
    assert body["counts"] == {"assigned": 0, "claimable": 1, "involved": 2, "done": 2} and body["total"] == 1
    mine = call("GET", "/tasks?tab=claimable&search=照明&step=1&tier=township", user="organizer_xunchang").get_json()
    assert [item["task_id"] for item in mine["items"]] == [world.here.task.id]
    first = call("GET", "/tasks?tab=done&per_page=1", user="office").get_json()
    second = call("GET", f"/tasks?tab=done&per_page=1&after={first['next']}", user="office").get_json()
    assert [item["status"] for item in first["items"] + second["items"]] == ["completed", "completed"]
    assert first["items"][0]["task_id"] != second["items"][0]["task_id"] and second["next"] is None
    back = call("GET", f"/tasks?tab=done&per_page=1&before={second['prev']}", user="office").get_json()
    assert back["items"] == first["items"] and back["prev"] is None and first["prev"] is None


def test_the_task_list_filters_by_instance(call, world):
    mine = call("GET", f"/tasks?tab=claimable&instance_id={world.here.instance_id}", user="organizer_xunchang")
    assert [item["task_id"] for item in mine.get_json()["items"]] == [world.here.task.id]
    other = call("GET", f"/tasks?tab=claimable&instance_id={world.triage.instance_id}", user="organizer_xunchang")
    assert other.get_json()["items"] == [] and other.get_json()["counts"]["claimable"] == 0


def test_one_case_is_counted_and_listed_as_the_whole_inbox_shows_it(call, world):
    """`?instance_id=` counts and pages that case's rows on their own: the same rows, order and counts as the
    unfiltered tabs give for that case, for people with one membership, several, and none on the case."""
    cases = (world.here.instance_id, world.there.instance_id, world.fresh)
    assert call("POST", f"/tasks/{world.there.task.id}/claim", user="organizer_gongquan").status_code == 200
    seen = set()
    for user in ("office", "organizer_xunchang", "organizer_gongquan", "m001"):
        whole = {tab: call("GET", f"/tasks?tab={tab}&per_page=100", user=user).get_json()["items"]
                 for tab in ("assigned", "claimable", "involved", "done")}
        seen |= {tab for tab, items in whole.items() if items}
        for instance_id in cases:
            expected = {tab: [i for i in items if i["instance_id"] == instance_id] for tab, items in whole.items()}
            for tab, items in expected.items():
                body = call("GET", f"/tasks?tab={tab}&instance_id={instance_id}", user=user).get_json()
                assert body["items"] == items, (user, instance_id, tab)
                assert body["counts"] == {name: len(rows) for name, rows in expected.items()}, (user, instance_id)
                assert body["capped"] == [] and body["total"] == len(items)
    assert seen == {"assigned", "claimable", "involved", "done"}        # every tab had rows to compare


def test_a_member_of_several_units_filters_by_instance(call, world):
    """m001 sits in a committee, a sector group and a township: a filtered count is one capped count per membership
    (SQLite refused the LIMIT inside their UNION: the filtered inbox was a 503 for anyone with two memberships)."""
    for tab in ("assigned", "claimable", "involved", "done"):
        response = call("GET", f"/tasks?tab={tab}&instance_id={world.here.instance_id}", user="m001")
        assert response.status_code == 200, response.get_json()
        assert set(response.get_json()["counts"]) == {"assigned", "claimable", "involved", "done"}


def test_the_task_list_opens_on_the_first_tab_with_work(call, world):
    body = call("GET", "/tasks", user="office").get_json()
    assert body["tab"] == "claimable" and body["counts"]["assigned"] == 0 and body["items"]


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_an_unknown_task_filter_is_a_400_in_the_readers_language(call, world, lang):
    response = call("GET", "/tasks?instance=3&page=2", user="office", headers={"Accept-Language": lang})
    body = response.get_json()
    assert response.status_code == 400 and body["unknown_parameters"] == ["instance", "page"]
    expected = "Unknown parameter(s): instance, page" if lang == "en" else "不认识的参数：instance, page"
    assert expected in body["message"] and "instance_id" in body["message"]


def test_a_forged_task_cursor_is_a_400(call, world):
    response = call("GET", "/tasks?tab=done&after=bm90LWEtY3Vyc29y", user="office")
    assert response.status_code == 400 and "翻页链接无效" in response.get_json()["message"]


@pytest.mark.parametrize(("query", "message"), [
    ("tab=mine", "参数 tab 须为"), ("per_page=101", "参数 per_page"),
    ("step=two", "参数 step"), ("tier=province", "参数 tier"), ("search=" + "x" * 201, "不能超过 200"),
    ("search=%00", "空字符"),
])
def test_bad_inbox_parameters_are_400(call, query, message):
    _error(call("GET", f"/tasks?{query}", user="office"), 400, message)


def test_a_task_comes_with_its_form_ui_instructions_and_whether_i_may_act(call, world):
    body = call("GET", f"/tasks/{world.here.task.id}", user="organizer_xunchang").get_json()
    assert body["task_spec"] == "define_topic" and body["form"]["properties"]["topic"]["type"] == "string"
    assert body["ui"]["ui:order"] == ["topic", "topic_rationale", "expected_outcome"]
    assert body["instructions"].startswith("## 确定协商主题") and body["candidates"] == ["organizer_xunchang"]
    assert body["can_act"] is True and body["revision"] == world.here.task.revision and body["due_at"]
    assert call("GET", f"/tasks/{world.here.task.id.upper()}", user="office").get_json()["can_act"] is False


def test_task_ids_are_checked(call, world):
    _error(call("GET", "/tasks/not-a-uuid", user="office"), 400, "任务编号须为 UUID")
    _error(call("GET", f"/tasks/{UNKNOWN_TASK}", user="office"), 404, f"没有任务 {UNKNOWN_TASK}")
    _error(call("POST", f"/tasks/{UNKNOWN_TASK}/complete", user="office", json={"data": {}}), 404, "没有任务")
    _error(call("GET", f"/tasks/{world.there.task.id}", user="organizer_xunchang"), 403, "您无权查看此协商事项")


def test_completing_a_task_moves_the_instance_on(call, world, web_engine):
    response = call("POST", f"/tasks/{world.here.task.id}/complete", user="organizer_xunchang",
                    json={"data": TOPIC, "revision": world.here.task.revision})
    body = response.get_json()
    assert response.status_code == 200 and body["instance_id"] == world.here.instance_id
    assert [t.task_spec for t in web_engine.list_tasks(instance_id=world.here.instance_id)] == ["draft_plan"]
    (following,) = body["next_tasks"]      # the same organizer drafts the plan: named, with its links
    assert following["task_spec"] == "draft_plan" and following["name"] and following["due_at"]
    assert following["complete_url"] == f"/api/v1/tasks/{following['id']}/complete"
    assert following["form_url"] == f"/tasks/{following['id']}"
    assert following["url"] == f"/api/v1/tasks/{following['id']}"
    assert call("GET", f"/tasks/{following['id']}", user="organizer_xunchang").get_json()["can_act"] is True
    _error(call("POST", f"/tasks/{world.here.task.id}/complete", user="organizer_xunchang", json={"data": TOPIC}),
           409, "提交过此任务")


def test_invalid_form_data_is_422_with_field_errors_and_nothing_changes(call, world, web_engine):
    body = _error(call("POST", f"/tasks/{world.here.task.id}/complete", user="organizer_xunchang",
                       json={"data": {"topic": 5}}), 422, "topic")
    assert body["field_errors"]["topic"][0].startswith("类型不正确") and "topic_rationale" in body["field_errors"]
    assert web_engine.get_task(world.here.task.id).status == "ready"


def test_a_stale_revision_is_409(call, world, web_engine):
    web_engine.claim_task(world.here.task.id, "organizer_xunchang")     # bumps the instance's revision
    _error(call("POST", f"/tasks/{world.here.task.id}/complete", user="organizer_xunchang",
                json={"data": TOPIC, "revision": world.here.task.revision}), 409, "该事项刚被他人更新")
    assert web_engine.get_task(world.here.task.id).status == "ready"


@pytest.mark.parametrize(("body", "field"), [
    ({}, "data"), ({"data": []}, "data"), ({"data": {}, "revision": "3"}, "revision"),
    ({"data": {}, "revision": True}, "revision"), ({"data": {}, "revision": -1}, "revision"),
])
def test_complete_with_wrong_types_is_400(call, world, body, field):
    response = call("POST", f"/tasks/{world.here.task.id}/complete", user="organizer_xunchang", json=body)
    assert list(_error(response, 400, "请求内容有误")["field_errors"]) == [field]


def test_claim_release_and_claimed_by_someone_else(call, world, web_engine):
    claimed = call("POST", f"/tasks/{world.triage.id}/claim", user="office")
    assert claimed.get_json() == {"task_id": world.triage.id, "assignee": "office"}
    _error(call("POST", f"/tasks/{world.triage.id}/claim", user="office2"), 409, "已由 office 认领")
    _error(call("POST", f"/tasks/{world.triage.id}/release", user="m001"), 403, "不能释放")
    assert call("POST", f"/tasks/{world.triage.id}/release", user="office").get_json()["assignee"] is None
    assert web_engine.get_task(world.triage.id).assignee is None


def test_returning_a_task_needs_a_reason_and_the_assignee(call, world, web_engine):
    path = f"/tasks/{world.triage.id}/return"
    call("POST", f"/tasks/{world.triage.id}/claim", user="office")
    _error(call("POST", path, user="office2", json={"reason": "不归我办"}), 403, "只有承办人可以退回")
    _error(call("POST", path, user="office", json={"reason": ""}), 400, "reason")
    _error(call("POST", path, user="office", json={"reason": "   "}), 422, "invalid data")
    assert call("POST", path, user="office", json={"reason": "请二组处理"}).get_json()["assignee"] is None
    comments = call("GET", f"/instances/{world.fresh}", user="office").get_json()["comments"]
    assert [(c["kind"], c["body"]) for c in comments] == [("return", "请二组处理")]


def test_reassigning_hands_the_task_to_another_holder(call, world, web_engine):
    path = f"/tasks/{world.triage.id}/reassign"
    call("POST", f"/tasks/{world.triage.id}/claim", user="office")
    assert call("POST", path, user="office", json={"to": "office2"}).get_json() == \
        {"task_id": world.triage.id, "assignee": "office2"}
    _error(call("POST", path, user="office2", json={"to": "m001"}), 409, "m001 在 county 没有 office 角色")
    _error(call("POST", path, user="m001", json={"to": "office"}), 403, "无权转办")
    _error(call("POST", path, user="office2", json={}), 400, "to")
    assert web_engine.get_task(world.triage.id).assignee == "office2"


# --- instances and intake ----------------------------------------------------------------------------------
def test_starting_an_instance(call, web_engine):
    response = call("POST", "/instances", user="m001", json={"process_id": "consultation", "data": INTAKE})
    instance_id = response.get_json()["instance_id"]
    assert response.status_code == 201 and response.headers["Location"] == f"/api/v1/instances/{instance_id}"
    assert web_engine.show_instance(instance_id).events[0].actor == "m001"
    _error(call("POST", "/instances", user="m001", json={"process_id": "nothing", "data": {}}), 404, "nothing")
    body = _error(call("POST", "/instances", user="m001", json={"process_id": "consultation", "data": {}}), 422,
                  "invalid data")
    assert "title" in body["field_errors"]
    _error(call("POST", "/instances", user="m001", json={"data": INTAKE}), 400, "process_id")


def test_the_instance_list_holds_only_what_i_may_see(call, world):
    def ids(user):
        return sorted(item["id"] for item in call("GET", "/instances", user=user).get_json()["items"])

    assert ids("organizer_xunchang") == sorted([world.here.instance_id, world.fresh])
    assert ids("organizer_gongquan") == [world.there.instance_id]
    assert ids("liaison_housing") == []
    assert ids("office") == sorted([world.here.instance_id, world.there.instance_id, world.fresh])
    page = call("GET", "/instances?page=2&per_page=2&status=running&tier=township", user="office").get_json()
    assert (page["total"], page["pages"], len(page["items"])) == (3, 2, 1)
    _error(call("GET", "/instances?status=lost", user="office"), 400, "参数 status")


def test_an_instance_with_its_data_events_and_suggestions(call, world):
    body = call("GET", f"/instances/{world.here.instance_id}", user="m001").get_json()
    assert (body["status"], body["step"], body["tier"], body["org_unit"]) == \
        ("running", 1, "township", "township_xunchang")
    assert body["org_unit_name"] == "巡场镇" and body["data"]["title"] == INTAKE["title"]
    assert [e["kind"] for e in body["events"]][:2] == ["instance_started", "task_completed"]
    assert body["suggestions"] == [] and body["tracking_code"].startswith("XS-")
    assert [t["task_spec"] for t in body["tasks"]] == ["triage", "define_topic"]


def test_a_plain_instance_has_its_generic_title_and_no_consultation_fields(call, web_engine):
    web_engine.deploy([DATA / "suggestion_box"], actor="owner")
    instance_id = web_engine.start_instance("suggestion_box", {"title": "食堂排队太长", "description": "…"}, "office")
    body = call("GET", f"/instances/{instance_id}", user="office").get_json()
    assert body["title"] == f"意见箱 #{instance_id}" and body["data"]["title"] == "食堂排队太长"
    assert not {"topic", "tracking_code", "suggestions"} & set(body)


def test_instance_ids_are_checked(call, world):
    _error(call("GET", "/instances/abc", user="office"), 400, "实例编号须为")
    _error(call("GET", "/instances/0", user="office"), 400, "实例编号须为")
    _error(call("GET", "/instances/99999999999", user="office"), 400, "实例编号须为")
    _error(call("GET", "/instances/4242", user="office"), 404, "没有实例 4242")
    _error(call("GET", f"/instances/{world.there.instance_id}", user="m001"), 403, "您无权查看此协商事项")


def test_anyone_may_submit_the_public_intake(call, web_engine):
    response = call("POST", "/intake", json={"data": INTAKE})
    body = response.get_json()
    assert response.status_code == 201 and len(body["tracking_code"]) == len("XS-7KQ2-M9TD")
    assert web_engine.show_instance(body["instance_id"]).data["title"] == INTAKE["title"]
    invalid = _error(call("POST", "/intake", json={"data": dict(INTAKE, contact_phone="12")}), 422, "contact_phone")
    assert invalid["field_errors"]["contact_phone"][0].startswith("格式不正确")
    _error(call("POST", "/intake", json=INTAKE), 400, "data")


def test_errors_are_json_for_unknown_paths_and_methods(call):
    _error(call("GET", "/nothing", user="office"), 404, "找不到")
    _error(call("DELETE", "/me", user="office"), 405, "不支持")


def test_the_openapi_document_describes_every_route(app, call):
    spec = call("GET", "/openapi.json").get_json()
    assert spec["openapi"] == "3.1.0" and spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    routes = {(method, rule.rule.removeprefix("/api/v1").replace("<", "{").replace(">", "}"))
              for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    assert routes == documented
    for path, ops in spec["paths"].items():
        for op in ops.values():
            assert op.get("security") == [] or "401" in op["responses"], path
            assert "400" in op["responses"] or not (op.get("parameters") or op.get("requestBody")), path


# --- who may do what ---------------------------------------------------------------------------------------
PEOPLE = (None, "m001", "organizer_gongquan", "liaison_housing", "admin", "office")

# Expected status per person (in PEOPLE order), for a consultation in 巡场镇 whose define_topic task waits for
# organizer_xunchang: m001 is a member there; organizer_gongquan runs another township; the liaison is not
# involved yet; admin and office see everything but act only on their own tasks (office may release/reassign).
MATRIX = [
    ("GET", "/me", None, (401, 200, 200, 200, 200, 200)),
    ("GET", "/tasks", None, (401, 200, 200, 200, 200, 200)),
    ("GET", "/instances", None, (401, 200, 200, 200, 200, 200)),
    ("GET", "/tasks/{task}", None, (401, 200, 403, 403, 200, 200)),
    ("GET", "/instances/{here}", None, (401, 200, 403, 403, 200, 200)),
    ("GET", "/instances/{there}", None, (401, 403, 200, 403, 200, 200)),
    ("POST", "/tasks/{task}/complete", {"data": TOPIC}, (401, 403, 403, 403, 403, 403)),
    ("POST", "/tasks/{task}/claim", None, (401, 403, 403, 403, 403, 403)),
    ("POST", "/tasks/{task}/return", {"reason": "不归我办"}, (401, 403, 403, 403, 403, 403)),
    ("POST", "/tasks/{task}/release", None, (401, 403, 403, 403, 403, 200)),
    ("POST", "/tasks/{task}/reassign", {"to": "organizer_xunchang"}, (401, 403, 403, 403, 403, 200)),
    ("POST", "/instances", {"process_id": "consultation", "data": INTAKE}, (401, 201, 201, 201, 201, 201)),
    ("POST", "/intake", {"data": INTAKE}, (201, 201, 201, 201, 201, 201)),
    ("GET", "/openapi.json", None, (200, 200, 200, 200, 200, 200)),
]


@pytest.mark.parametrize(("method", "path", "body", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, *_ in MATRIX])
def test_authorization_matrix(call, world, web_engine, method, path, body, expected):
    url = path.format(task=world.here.task.id, here=world.here.instance_id, there=world.there.instance_id)
    seen = {}
    for person in PEOPLE:
        response = call(method, url, user=person, **({"json": body} if body is not None else {}))
        assert response.mimetype == "application/json"
        seen[person] = response.status_code
    assert tuple(seen.values()) == expected, seen
    if method == "POST" and "/tasks/" in path:
        assert web_engine.get_task(world.here.task.id).status == "ready"    # nobody but its organizer completed it
