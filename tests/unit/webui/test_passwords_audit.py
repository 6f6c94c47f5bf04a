"""The password policy at creation and change (length, not the username, not a common password), changing one's own
password, and the admin audit: who created, changed, granted, revoked, edited the calendar or retried, and when."""

from __future__ import annotations

import pytest

from domain.people.passwords import common_passwords, password_problems
from engine.errors import ValidationFailed
from tests.unit.webui.conftest import csrf_of
from tests.unit.webui.test_failures_admin import failed  # noqa: F401 - the fixture of an instance in error
from tests.unit.webui.test_gates import bearer, web_login


@pytest.mark.parametrize(("password", "problem"), [
    ("short-pw", "至少 10 位"), ("x" * 129, "不能超过 128 位"), ("zhangsan-2026!", "用户名"),
    ("Password123", "常见密码"), ("1234567890", "常见密码"), ("qwertyuiop", "常见密码"), ("aaaaaaaaaaaa", "常见密码"),
    ("ababababab", "常见密码")])
def test_weak_passwords_are_refused_with_the_reason(password, problem):
    (message,) = password_problems(password, "zhangsan")
    assert problem in message and "(" in message           # Chinese first, English in parentheses


def test_a_good_password_passes_and_the_common_list_ships():
    assert password_problems("river-lamp-winter-42", "zhangsan") == []
    common = common_passwords()
    assert 1000 <= len(common) <= 2000 and "123456" in common and "password1" in common
    assert all(word == word.lower() and word.strip() == word for word in common)


def test_admins_create_and_reset_only_with_a_good_password(web_services):
    accounts, admin = web_services.accounts, web_services.accounts.user("admin")
    with pytest.raises(ValidationFailed) as refused:
        accounts.create_user(admin, "wangwu", "王五", "password123")
    assert "常见密码" in refused.value.field_errors["password"][0]
    with pytest.raises(ValidationFailed) as refused:
        accounts.update_user(admin, "m001", password="m001-and-more")
    assert "用户名" in refused.value.field_errors["password"][0]
    accounts.create_user(admin, "wangwu", "王五", "river-lamp-winter-42")
    assert accounts.authenticate("wangwu", "river-lamp-winter-42").username == "wangwu"


def test_people_change_their_own_password_and_other_sessions_end(app, client, web_services):
    elsewhere = app.test_client()
    web_login(elsewhere, "m001")
    token = web_services.accounts.issue_token("m001")
    web_login(client, "m001")
    form = csrf_of(client.get("/account/password").get_data(as_text=True))

    def change(current, new, confirm=None):
        return client.post("/account/password", data={"current_password": current, "new_password": new,
                                                      "confirm_password": new if confirm is None else confirm,
                                                      "csrf_token": form})

    wrong = change("not-my-password", "river-lamp-winter-42")
    assert wrong.status_code == 422 and "当前密码不正确" in wrong.get_data(as_text=True)
    assert "两次输入的新密码不一致" in change("xieshang-demo", "river-lamp-winter-42", "river-lamp-winter-43").get_data(
        as_text=True)
    common = change("xieshang-demo", "iloveyou123")
    assert common.status_code == 422 and "常见密码" in common.get_data(as_text=True)
    done = change("xieshang-demo", "river-lamp-winter-42")
    assert done.status_code == 302
    assert "密码已修改" in client.get("/account/tokens").get_data(as_text=True)       # this session goes on
    assert elsewhere.get("/inbox").headers["Location"].startswith("/login")           # the others end
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert web_services.accounts.authenticate("m001", "river-lamp-winter-42") is not None


def test_admin_actions_are_audited_with_who_and_when(app, client, web_services, clock):
    web_login(client, "admin")
    form = csrf_of(client.get("/admin/users/new").get_data(as_text=True))
    client.post("/admin/users/new", data={"username": "wangwu", "display_name": "王五",
                                          "password": "river-lamp-winter-42", "csrf_token": form})
    client.post("/admin/users/wangwu/grant", data={"role": "office", "org_unit": "county", "csrf_token": form})
    client.post("/admin/users/wangwu/revoke", data={"role": "office", "org_unit": "county", "csrf_token": form})
    client.post("/admin/users/wangwu", data={"display_name": "王五五", "password": "lamp-river-summer-7",
                                             "csrf_token": form})      # renamed, reset and (unchecked) deactivated
    client.post("/admin/calendar", data={"days": "2031-02-05 holiday 春节", "year": "2031", "csrf_token": form})
    page = client.get("/admin/audit").get_data(as_text=True)
    rows = page.split('<tr class="audit-action">')[1:]
    names = ("录入节假日安排", "重置密码", "停用账号", "修改姓名", "撤销角色", "授予角色", "新建用户")
    assert sorted(next(name for name in names if name in row) for row in rows) == sorted(names)
    assert all("<code>admin</code>" in row and "2026-03-02 09:00" in row for row in rows)
    assert "username: wangwu" in page and "display_name: 王五 → 王五五" in page and "days: 2031-02-05" in page
    only = client.get("/admin/audit?kind=role_granted").get_data(as_text=True)
    assert only.count('<tr class="audit-action">') == 1 and "role: office" in only
    assert client.get("/admin/audit?page=99999999999999999999").status_code == 200
    web_login(client, "m001")
    assert client.get("/admin/audit").status_code == 403


def test_retries_are_audited(client, failed):  # noqa: F811 - the fixture imported above
    web_login(client, "admin")
    page = client.get("/admin/errors").get_data(as_text=True)
    client.post(f"/admin/errors/{failed}/retry", data={"csrf_token": csrf_of(page)})
    audit = client.get("/admin/audit").get_data(as_text=True)
    assert "重试出错事项" in audit and f"#{failed}</a>" in audit and "<code>admin</code>" in audit
