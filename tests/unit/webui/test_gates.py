"""The gates: sign-in and token limits (per account and per address), the API twin of the public form (same limit,
honeypot and sources), sessions and tokens that end together (session generation), token lifetime, listing and
revocation, and sign-in that takes as long for an unknown account as for a known one."""

from __future__ import annotations

import time_machine
from sqlalchemy import func, select

from domain.consultation.models import IntakeItem
from domain.people import accounts as accounts_module
from domain.people.models import ApiToken
from tests.unit.webui.conftest import csrf_of
from tests.unit.webui.test_intake import VALID, post_intake
from webui.gates import gates_of

PASSWORD = "xieshang-demo"
START = 1_772_413_200.0
API_INTAKE = {k: v for k, v in VALID.items()} | {"contact_phone": "13800001234"}


def web_login(client, username: str, password: str = PASSWORD):
    token = csrf_of(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def api_login(client, username: str, password: str = PASSWORD, address: str = "127.0.0.1"):
    return client.post("/api/v1/tokens", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def count(engine, model) -> int:
    with engine.unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(model))


# --- sign-in limits -------------------------------------------------------------------------------------
def test_wrong_passwords_lock_the_account_until_the_window_ends(app, client):
    with time_machine.travel(START, tick=False) as traveller:
        assert [web_login(client, "m001", "wrong-guess").status_code for _ in range(5)] == [401] * 5
        refused = web_login(client, "m001")                      # even the right password waits
        page = refused.get_data(as_text=True)
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "900"
        assert "登录失败次数过多" in page and "请在 15 分钟后再试" in page and 'value="m001"' in page
        assert api_login(client, "m001").status_code == 429     # the API shares the account's count
        assert web_login(app.test_client(), "m002").status_code == 302    # other accounts are not locked
        traveller.shift(900)
        assert web_login(client, "m001").status_code == 302      # the legitimate user gets in after the window


def test_the_right_password_clears_the_accounts_wrong_tries(client):
    for _ in range(4):
        web_login(client, "m001", "wrong-guess")
    assert web_login(client, "m001").status_code == 302
    assert [web_login(client, "m001", "wrong-guess").status_code for _ in range(5)] == [401] * 5


def test_wrong_passwords_from_one_address_are_limited_across_accounts(app, client):
    app.config["RATE_LIMITS"] = {"login_address": "3 per 15 minutes"}
    assert [web_login(client, name, "wrong-guess").status_code for name in ("m001", "m002", "m003")] == [401] * 3
    assert web_login(client, "m004").status_code == 429
    other = app.test_client()
    token = csrf_of(other.get("/login").get_data(as_text=True))
    elsewhere = other.post("/login", data={"username": "m004", "password": PASSWORD, "csrf_token": token},
                           environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert elsewhere.status_code == 302                            # another address is not affected
    gates_of(app).reset()                                          # the window has passed
    assert web_login(client, "m004").status_code == 302


def test_the_token_endpoint_is_limited_per_account_with_a_json_answer(app, client):
    assert [api_login(client, "office", "wrong-guess").status_code for _ in range(5)] == [401] * 5
    refused = api_login(client, "office")
    body = refused.get_json()
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) == body["retry_after"] > 0
    assert body["error"] == "too_many_requests" and "请在 15 分钟后再试" in body["message"]
    assert web_login(client, "office").status_code == 429            # and the web page shares it
    gates_of(app).reset()
    assert api_login(client, "office").status_code == 201


def test_token_issue_is_limited_per_account(app, client):
    app.config["RATE_LIMITS"] = {"token_issue": "2 per hour"}
    assert [api_login(client, "office").status_code for _ in range(3)] == [201, 201, 429]
    assert "签发令牌过于频繁" in api_login(client, "office").get_json()["message"]
    assert api_login(client, "m001").status_code == 201
    gates_of(app).reset()
    assert api_login(client, "office").status_code == 201


def test_unknown_and_known_accounts_check_a_password_hash_alike(web_services, monkeypatch):
    checked = []
    real = accounts_module.verify_password
    monkeypatch.setattr(accounts_module, "verify_password", lambda p, h: checked.append(h) or real(p, h))
    accounts = web_services.accounts
    assert accounts.authenticate("nobody-here", "wrong-guess") is None
    assert accounts.authenticate("m001", "wrong-guess") is None
    assert len(checked) == 2 and all(h.startswith("scrypt$") for h in checked)     # a real scrypt check each time
    assert checked[0] != checked[1]


# --- the API twin of the public form ----------------------------------------------------------------------
def test_the_api_intake_shares_the_forms_limit(app, client, web_engine):
    app.config["RATE_LIMITS"] = {"intake": "2 per 10 minutes"}
    assert post_intake(client).status_code == 302
    assert post_intake(client).status_code == 302
    assert post_intake(client).status_code == 429
    refused = client.post("/api/v1/intake", json={"data": API_INTAKE})
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    assert "提交过于频繁" in refused.get_json()["message"]
    assert count(web_engine, IntakeItem) == 2
    gates_of(app).reset()
    assert client.post("/api/v1/intake", json={"data": API_INTAKE}).status_code == 201
    assert count(web_engine, IntakeItem) == 3


def test_the_api_intake_has_the_forms_honeypot(client, web_engine):
    response = client.post("/api/v1/intake", json={"data": API_INTAKE | {"website": "http://spam.example"}})
    assert response.status_code == 201 and response.get_json()["tracking_code"]
    assert count(web_engine, IntakeItem) == 0


def test_anonymous_api_callers_may_only_use_the_public_source(client, web_engine):
    for source in ("member", "hall", "phone"):
        response = client.post("/api/v1/intake", json={"data": API_INTAKE | {"source": source}})
        assert response.status_code == 422, source
        assert "线上直通车" in response.get_json()["field_errors"]["source"][0]
    response = client.post("/api/v1/intake", json={"data": API_INTAKE | {"proposer": "m001"}})
    assert response.status_code == 422 and "proposer" in response.get_json()["field_errors"]
    assert count(web_engine, IntakeItem) == 0
    created = client.post("/api/v1/intake", json={"data": API_INTAKE | {"source": "online"}})
    assert created.status_code == 201
    data = web_engine.show_instance(created.get_json()["instance_id"]).data
    assert data["source"] == "online" and "proposer" not in data


def test_a_member_with_a_token_proposes_as_themselves(client, web_services, web_engine):
    token = web_services.accounts.issue_token("m001")
    topic = {k: v for k, v in API_INTAKE.items() if not k.startswith("contact")}
    response = client.post("/api/v1/intake", json={"data": topic | {"source": "member", "proposer": "m002"}},
                           headers=bearer(token))
    assert response.status_code == 201
    assert web_engine.show_instance(response.get_json()["instance_id"]).data["proposer"] == "m001"
    office = web_services.accounts.issue_token("m002")
    hall = client.post("/api/v1/intake", json={"data": API_INTAKE | {"source": "hall"}}, headers=bearer(office))
    assert hall.status_code == 422                                   # a member records nothing for residents
    plain = client.post("/api/v1/intake", json={"data": {k: v for k, v in API_INTAKE.items() if k != "source"}},
                        headers=bearer(office))
    assert plain.status_code == 201                                  # no source: the public's, online
    assert web_engine.show_instance(plain.get_json()["instance_id"]).data["source"] == "online"
    recorded = client.post("/api/v1/intake", json={"data": API_INTAKE | {"source": "phone", "recorded_by": "m009"}},
                           headers=bearer(web_services.accounts.issue_token("office")))
    assert recorded.status_code == 201
    assert web_engine.show_instance(recorded.get_json()["instance_id"]).data["recorded_by"] == "office"


# --- sessions and tokens end together -------------------------------------------------------------------
def test_a_cookie_copied_before_logout_no_longer_opens_the_inbox(app, client):
    assert web_login(client, "m001").status_code == 302
    copied = client.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/inbox").status_code == 200
    token = csrf_of(client.get("/inbox").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    refused = thief.get("/inbox")
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/login")
    assert web_login(client, "m001").status_code == 302 and client.get("/inbox").status_code == 200


def test_an_admin_password_reset_ends_the_old_session_and_the_old_token(app, client, web_services):
    person = app.test_client()
    web_login(person, "m003")
    token = web_services.accounts.issue_token("m003")
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    admin = app.test_client()
    web_login(admin, "admin")
    form = csrf_of(admin.get("/admin/users/m003").get_data(as_text=True))
    saved = admin.post("/admin/users/m003", data={"display_name": "委员三", "active": "1",
                                                  "password": "a-fresh-long-secret", "csrf_token": form})
    assert saved.status_code == 302
    assert person.get("/inbox").headers["Location"].startswith("/login")
    refused = client.get("/api/v1/me", headers=bearer(token))
    assert refused.status_code == 401 and "令牌无效" in refused.get_json()["message"]
    assert web_login(person, "m003", "a-fresh-long-secret").status_code == 302
    assert admin.get("/admin/users").status_code == 200               # the admin's own session goes on


def test_revoking_a_role_or_deactivating_ends_sessions_and_tokens(client, web_services):
    accounts, admin = web_services.accounts, web_services.accounts.user("admin")
    token = accounts.issue_token("office")
    role, unit = next((r, o) for r, o in accounts.user("office").memberships)
    accounts.revoke(admin, "office", role, unit)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    token = accounts.issue_token("m005")
    accounts.update_user(admin, "m005", active=False)
    accounts.update_user(admin, "m005", active=True)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(accounts.issue_token("m005"))).status_code == 200


def test_an_admin_who_resets_their_own_password_stays_signed_in(app, client):
    web_login(client, "admin")
    form = csrf_of(client.get("/admin/users/admin").get_data(as_text=True))
    assert client.post("/admin/users/admin", data={"display_name": "管理员", "active": "1",
                                                   "password": "boss-fresh-secret-77", "csrf_token": form}
                       ).status_code == 302
    assert client.get("/admin/users").status_code == 200


# --- tokens: lifetime, list, revoke, last use ----------------------------------------------------------------
def test_tokens_expire_after_their_lifetime(client, web_services, clock):
    token = web_services.accounts.issue_token("m001")
    (listed,) = web_services.accounts.tokens_of(web_services.accounts.user("m001"))
    assert listed.expires_at == clock.now().replace(microsecond=0) + (listed.expires_at - listed.created_at)
    assert (listed.expires_at - listed.created_at).days == 90
    clock.advance(days=89, hours=23)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    clock.advance(hours=1)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_the_token_lifetime_is_configurable(web_services, sqlite_url, tmp_path):
    from engine.settings import Settings
    from tests.conftest import DATA
    from webui import create_app

    create_app({"SETTINGS": Settings(sqlite_url, None, tmp_path, DATA), "SERVICES": web_services, "TESTING": True,
                "SECRET_KEY": "test", "TOKEN_LIFETIME_DAYS": 7})
    web_services.accounts.issue_token("m001")
    (listed,) = web_services.accounts.tokens_of(web_services.accounts.user("m001"))
    assert (listed.expires_at - listed.created_at).days == 7


def test_owners_list_and_revoke_their_tokens_through_the_api(client, web_services):
    issued = api_login(client, "m001").get_json()
    assert issued["token"].startswith("xs_") and issued["username"] == "m001" and issued["valid"] is True
    other = web_services.accounts.issue_token("m001", "script")
    listed = client.get("/api/v1/tokens", headers=bearer(issued["token"])).get_json()["items"]
    assert [t["label"] for t in listed] == ["script", "api"] and all("token" not in t for t in listed)
    assert listed[1]["id"] == issued["id"] and listed[1]["expires_at"]
    stranger = web_services.accounts.issue_token("m002")
    assert client.delete(f"/api/v1/tokens/{issued['id']}", headers=bearer(stranger)).status_code == 404
    assert client.get("/api/v1/tokens?username=m001", headers=bearer(stranger)).status_code == 403
    assert client.delete(f"/api/v1/tokens/{issued['id']}", headers=bearer(other)).status_code == 204
    assert client.get("/api/v1/me", headers=bearer(issued["token"])).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(other)).status_code == 200
    assert client.delete("/api/v1/tokens/0", headers=bearer(other)).status_code == 400


def test_admins_list_and_revoke_anyones_token_and_it_is_audited(app, client, web_services):
    token = web_services.accounts.issue_token("m001", "导出脚本")
    admin = web_services.accounts.issue_token("admin")
    listed = client.get("/api/v1/tokens?username=m001", headers=bearer(admin)).get_json()["items"]
    assert [t["label"] for t in listed] == ["导出脚本"]
    assert client.delete(f"/api/v1/tokens/{listed[0]['id']}", headers=bearer(admin)).status_code == 204
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    web_login(client, "admin")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "撤销他人令牌" in page and "导出脚本" in page and "<code>admin</code>" in page


def test_last_use_is_written_at_most_every_five_minutes(client, web_services, web_engine, clock):
    token = web_services.accounts.issue_token("m001")

    def last_used():
        with web_engine.unit_of_work() as session:
            return session.scalars(select(ApiToken.last_used_at)).one()

    assert last_used() is None
    client.get("/api/v1/me", headers=bearer(token))
    first = last_used()
    assert first == clock.now().replace(microsecond=0) or first == clock.now()
    clock.advance(minutes=4)
    client.get("/api/v1/me", headers=bearer(token))
    assert last_used() == first                     # a read within five minutes writes nothing
    clock.advance(minutes=1)
    client.get("/api/v1/me", headers=bearer(token))
    assert last_used() > first


def test_the_account_page_issues_shows_once_and_revokes_tokens(client, web_services):
    web_login(client, "m001")
    page = client.get("/account/tokens")
    assert page.status_code == 200 and "没有 API 令牌" in page.get_data(as_text=True)
    form = csrf_of(page.get_data(as_text=True))
    issued = client.post("/account/tokens", data={"label": "我的脚本", "csrf_token": form})
    text = issued.get_data(as_text=True)
    assert issued.headers["Cache-Control"] == "no-store" and "只显示这一次" in text
    token = text.split('class="token-value">')[1].split("<")[0]
    assert client.get("/api/v1/me", headers=bearer(token)).get_json()["username"] == "m001"
    again = client.get("/account/tokens").get_data(as_text=True)
    assert "我的脚本" in again and token not in again and "从未使用" not in again
    (listed,) = web_services.accounts.tokens_of(web_services.accounts.user("m001"))
    assert client.post(f"/account/tokens/{listed.id}/revoke", data={"csrf_token": form}).status_code == 302
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert "已撤销令牌“我的脚本”" in client.get("/account/tokens").get_data(as_text=True)
    empty = client.post("/account/tokens", data={"label": "", "csrf_token": form})
    assert empty.status_code == 422 and "请填写用途" in empty.get_data(as_text=True)


def test_an_admin_sees_and_revokes_a_persons_tokens_on_their_page(client, web_services):
    web_services.accounts.issue_token("m001", "巡查脚本")
    web_login(client, "admin")
    page = client.get("/admin/users/m001").get_data(as_text=True)
    assert "巡查脚本" in page and 'id="tokens"' in page
    (listed,) = web_services.accounts.tokens_of(web_services.accounts.user("m001"))
    form = csrf_of(page)
    response = client.post(f"/account/tokens/{listed.id}/revoke", data={"csrf_token": form})
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/users/m001")
    assert web_services.accounts.tokens_of(web_services.accounts.user("m001")) == []
    other = web_services.accounts.issue_token("admin")
    (mine,) = web_services.accounts.tokens_of(web_services.accounts.user("admin"))
    web_login(client, "m002")
    form = csrf_of(client.get("/account/tokens").get_data(as_text=True))
    assert client.post(f"/account/tokens/{mine.id}/revoke", data={"csrf_token": form}).status_code == 404
    assert client.get("/api/v1/me", headers=bearer(other)).status_code == 200
