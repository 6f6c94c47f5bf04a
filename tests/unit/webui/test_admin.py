"""Admin pages: only admins get in; people, memberships and org units change, and open tasks follow at once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.consultation import Scenario
from tests.unit.webui.conftest import csrf_of

ENDPOINTS = [("GET", "/admin/users"), ("GET", "/admin/users/new"), ("POST", "/admin/users/new"),
             ("GET", "/admin/users/m002"), ("POST", "/admin/users/m002"), ("POST", "/admin/users/m002/grant"),
             ("POST", "/admin/users/m002/revoke"), ("GET", "/admin/org-units"), ("GET", "/admin/org-units/new"),
             ("POST", "/admin/org-units/new"), ("GET", "/admin/org-units/county"), ("POST", "/admin/org-units/county")]
HOSTILE_FORM = {"username": "intruder", "display_name": "入侵者", "password": "xieshang-demo", "active": "1",
                "role": "admin", "org_unit": "county", "code": "county", "name": "被改名", "kind": "county"}


def _token(client, path: str = "/login") -> str:
    return csrf_of(client.get(path).get_data(as_text=True))


def _post(client, path: str, data: dict, page: str = "/admin/users"):
    return client.post(path, data={**data, "csrf_token": _token(client, page)})


@pytest.mark.parametrize("who", [None, "office", "m001"])
def test_only_admins_reach_any_admin_page(web_services, web_engine, client, login, who):
    if who:
        login(who)
    token = _token(client, "/overview" if who else "/login")
    for method, path in ENDPOINTS:
        response = client.open(path, method=method, data={**HOSTILE_FORM, "csrf_token": token})
        if who is None:
            assert response.status_code == 302 and response.headers["Location"].startswith("/login"), path
        else:
            assert response.status_code == 403 and "没有权限" in response.get_data(as_text=True), path
    accounts = web_services.accounts
    assert accounts.users("intruder") == ([], 0)
    assert not accounts.user("m002").is_admin
    assert next(u for u in accounts.org_units("county")).name == "珙县政协"


def test_admin_creates_a_user_and_lands_on_their_page(web_services, web_engine, client, login):
    login("admin")
    response = _post(client, "/admin/users/new", {"username": "liaison_new", "display_name": "新联络员",
                                                  "password": "long-enough-1"}, "/admin/users/new")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users/liaison_new"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已创建用户 新联络员" in page and "尚未授予任何角色" in page
    assert web_services.accounts.authenticate("liaison_new", "long-enough-1").display_name == "新联络员"


def _drive_until_answers(engine, scenario: Scenario) -> int:
    """Run a township consultation through the engine until the departments' answer tasks are open."""
    instance_id = engine.start_instance("consultation", scenario.intake(), actor="m001")
    for _ in range(100):
        tasks = engine.list_tasks(instance_id=instance_id)
        answers = [t for t in tasks if t.task_spec == "answer_suggestion"]
        if answers:
            return next(t.id for t in answers if t.org_unit == "dept_housing")
        if not tasks:
            engine.clock.set(engine.show_instance(instance_id).next_timer_at + timedelta(seconds=1))
            engine.fire_due_timers()
            continue
        task = tasks[0]
        data = scenario.answer(task.task_spec, engine.show_instance(instance_id).data)
        engine.complete_task(task.id, data, actor=task.candidates[0], revision=task.revision)
    raise AssertionError("no answer task reached")


def test_granting_department_role_hands_over_open_answer_task_and_revoking_takes_it_back(web_engine, client, login):
    answer_task = _drive_until_answers(web_engine, Scenario("admin"))
    login("admin")
    _post(client, "/admin/users/new", {"username": "liaison_new", "display_name": "新联络员",
                                       "password": "long-enough-1"})
    assert web_engine.list_tasks(actor="liaison_new") == []

    response = _post(client, "/admin/users/liaison_new/grant", {"role": "department", "org_unit": "dept_housing"})
    assert response.status_code == 302
    assert [t.id for t in web_engine.list_tasks(actor="liaison_new")] == [answer_task]
    page = client.get("/admin/users/liaison_new").get_data(as_text=True)
    assert "已授予角色：承办单位联络员" in page and "可办理的待办：1 项" in page

    response = _post(client, "/admin/users/liaison_new/revoke", {"role": "department", "org_unit": "dept_housing"})
    assert response.status_code == 302
    assert web_engine.list_tasks(actor="liaison_new") == []
    assert "已撤销角色：承办单位联络员" in client.get("/admin/users/liaison_new").get_data(as_text=True)


def test_granting_office_role_hands_over_open_mini_review(web_engine, client, login):
    instance_id = web_engine.start_instance("mini", {"title": "路灯维修"}, actor="m001")
    [review] = web_engine.list_tasks(instance_id=instance_id)
    login("admin")
    _post(client, "/admin/users/new", {"username": "office3", "display_name": "办公室三", "password": "long-enough-1"})
    _post(client, "/admin/users/office3/grant", {"role": "office", "org_unit": "county"})
    assert [t.id for t in web_engine.list_tasks(actor="office3")] == [review.id]
    assert "office3" in web_engine.list_tasks(instance_id=instance_id)[0].candidates
    _post(client, "/admin/users/office3/revoke", {"role": "office", "org_unit": "county"})
    assert web_engine.list_tasks(actor="office3") == []


def test_admin_cannot_revoke_their_own_admin_role(web_services, web_engine, client, login):
    login("admin")
    response = _post(client, "/admin/users/admin/revoke", {"role": "admin", "org_unit": "county"})
    assert response.status_code == 302
    assert "不能撤销自己的管理员角色" in client.get("/admin/users/admin").get_data(as_text=True)
    assert web_services.accounts.user("admin").has_role("admin", "county")


def test_deactivated_user_is_signed_out_on_next_request(web_services, web_engine, app, client, login):
    other = app.test_client()
    token = csrf_of(other.get("/login").get_data(as_text=True))
    other.post("/login", data={"username": "m001", "password": "xieshang-demo", "csrf_token": token})
    assert other.get("/overview").status_code == 200
    login("admin")
    unit = web_services.accounts.user("m001").memberships[0][1]
    people = web_services.accounts.people_per_org_unit()[unit]
    response = _post(client, "/admin/users/m001", {"display_name": "委员一"})   # no "active": unchecked
    assert response.status_code == 302
    assert web_services.accounts.people_per_org_unit()[unit] == people - 1
    assert "已保存" in client.get("/admin/users/m001").get_data(as_text=True)
    response = other.get("/overview")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert web_services.accounts.authenticate("m001", "xieshang-demo") is None
    _post(client, "/admin/users/m001", {"display_name": "委员一", "active": "1"})
    assert web_services.accounts.authenticate("m001", "xieshang-demo").display_name == "委员一"


def test_admin_cannot_deactivate_themselves(web_services, web_engine, client, login):
    login("admin")
    response = _post(client, "/admin/users/admin", {"display_name": "管理员改名"})
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "不能停用自己的账号" in page and 'value="管理员改名"' in page
    assert web_services.accounts.user("admin").active


def test_validation_errors_show_beside_fields_and_keep_input(web_services, web_engine, client, login):
    login("admin")
    response = _post(client, "/admin/users/new", {"username": "Bad Name", "display_name": " ", "password": "short"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="Bad Name"' in page and "short" not in page
    assert '<span class="field-error" id="username-error">用户名须为' in page
    assert '<span class="field-error" id="display_name-error">此项为必填项' in page
    assert '<span class="field-error" id="password-error">密码至少 10 位' in page
    assert web_services.accounts.users("bad")[1] == 0

    response = _post(client, "/admin/users/m003", {"display_name": "新名字", "active": "1", "password": "short"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'value="新名字"' in page
    assert '<span class="field-error" id="password-error">密码至少 10 位' in page
    assert web_services.accounts.user("m003").display_name != "新名字"

    response = _post(client, "/admin/users/m003", {"display_name": "  ", "active": "1"})
    assert response.status_code == 422 and 'id="display_name-error">此项为必填项' in response.get_data(as_text=True)

    response = _post(client, "/admin/users/m003/grant", {"role": "", "org_unit": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="org_unit-error">此项为必填项' in page and 'id="role-error">此项为必填项' in page
    response = _post(client, "/admin/users/m003/grant", {"role": "boss", "org_unit": "dept_housing"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="role-error">未知角色 boss' in page
    assert '<option value="dept_housing" selected>' in page
    assert not web_services.accounts.user("m003").has_role("department")


def test_forms_without_csrf_token_are_refused(web_services, web_engine, client, login):
    login("admin")
    response = client.post("/admin/users/new", data={"username": "nocsrf", "display_name": "x", "password": "12345678"})
    assert response.status_code == 400 and "表单已过期" in response.get_data(as_text=True)
    response = client.post("/admin/users/m002/grant", data={"role": "admin", "org_unit": "county"})
    assert response.status_code == 400
    assert web_services.accounts.users("nocsrf")[1] == 0 and not web_services.accounts.user("m002").is_admin


def test_display_names_are_escaped(web_engine, client, login):
    login("admin")
    _post(client, "/admin/users/new", {"username": "xss", "display_name": "<script>alert(1)</script>",
                                       "password": "long-enough-1"})
    for page in (client.get("/admin/users/xss").get_data(as_text=True),
                 client.get("/admin/users?q=xss").get_data(as_text=True)):
        assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_users_list_searches_and_pages(web_services, web_engine, client, login):
    login("admin")
    total = web_services.accounts.users()[1]
    pages = -(-total // 50)
    page = client.get("/admin/users?q=liaison_housing").get_data(as_text=True)
    assert "liaison_housing</code>" in page and "m001</code>" not in page and "承办单位联络员 · " in page
    last = client.get(f"/admin/users?page={pages}").get_data(as_text=True)
    assert f"第 {pages} / {pages} 页" in last and "上一页" in last and "下一页" not in last
    first_name = web_services.accounts.users(page=pages, per_page=50)[0][0].username
    assert f"{first_name}</code>" in last
    assert "没有符合条件的用户" in client.get("/admin/users?q=nobody-at-all").get_data(as_text=True)


def test_org_units_are_grouped_with_people_counts(web_services, web_engine, client, login):
    login("admin")
    page = client.get("/admin/org-units").get_data(as_text=True)
    housing = len({u.username for role in ("department", "organizer") for u in
                   web_services.accounts.holders(role, "dept_housing")})
    assert 'id="kind-department"' in page and 'id="kind-village"' in page
    row = page[page.index("/admin/org-units/dept_housing"):]
    assert f'<td data-label="人数">{housing} 人</td>' in row[:row.index("</tr>")] and housing > 0


def test_org_unit_create_rename_and_refusals(web_services, web_engine, client, login):
    login("admin")
    new = {"code": "dept_archives", "name": "县档案馆", "kind": "department", "parent": "", "tier": ""}
    response = _post(client, "/admin/org-units/new", new, "/admin/org-units/new")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/org-units#kind-department"
    assert "县档案馆" in client.get("/admin/org-units").get_data(as_text=True)

    response = _post(client, "/admin/org-units/new", {**new, "name": "重复"}, "/admin/org-units/new")
    assert response.status_code == 422 and 'id="code-error">编码已存在' in response.get_data(as_text=True)

    response = _post(client, "/admin/org-units/county", {"name": "珙县政协", "kind": "county",
                                                          "parent": "township_xunchang", "tier": "county"})
    assert response.status_code == 422
    assert 'id="parent-error">上级不能是本单位或其下级' in response.get_data(as_text=True)

    response = _post(client, "/admin/org-units/dept_archives", {"name": "县档案局", "kind": "department", "parent": "",
                                                              "tier": ""})
    assert response.status_code == 302
    assert [u.name for u in web_services.accounts.org_units("department") if u.code == "dept_archives"] == ["县档案局"]
    assert client.get("/admin/org-units/nope").status_code == 404


def test_pages_are_available_in_english(web_engine, client, login):
    login("admin")
    page = client.get("/admin/users/m001?lang=en").get_data(as_text=True)
    assert "Grant role" in page and "CPPCC member" in page and "Liaison of a responsible department" in page
    assert "Org units" in client.get("/admin/org-units?lang=en").get_data(as_text=True)


def test_org_unit_placement_messages_read_as_before_in_both_languages(client, login):
    login("admin")
    taken = {"code": "county", "name": "重复", "kind": "county", "parent": "", "tier": ""}
    page = _post(client, "/admin/org-units/new", taken, "/admin/org-units/new").get_data(as_text=True)
    assert 'id="code-error">编码已存在<' in page and "already in use" not in page
    client.get("/lang/en?next=/overview")
    loop = {"name": "珙县政协", "kind": "county", "parent": "township_xunchang", "tier": "county"}
    page = _post(client, "/admin/org-units/county", loop, "/admin/org-units/county").get_data(as_text=True)
    assert 'id="parent-error">The parent cannot be the unit itself or one below it<' in page
    assert "上级不能是本单位" not in page
