"""Sign-in, sign-out, session cookie flags, CSRF on every form, safe redirects, language switch."""

from __future__ import annotations

from tests.unit.webui.conftest import csrf_of


def test_wrong_password_is_refused_plainly(client):
    token = csrf_of(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": "office", "password": "nope", "csrf_token": token})
    assert response.status_code == 401 and "用户名或密码不正确" in response.get_data(as_text=True)
    response = client.post("/login", data={"username": "ghost", "password": "nope", "csrf_token": token})
    assert response.status_code == 401 and "用户名或密码不正确" in response.get_data(as_text=True)


def test_session_cookie_is_httponly_and_samesite(client):
    token = csrf_of(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": "office", "password": "xieshang-demo", "csrf_token": token})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_forms_without_the_csrf_token_are_refused(client):
    response = client.post("/login", data={"username": "office", "password": "xieshang-demo"})
    assert response.status_code == 400 and "表单已过期" in response.get_data(as_text=True)


def test_next_only_goes_to_this_site(client):
    token = csrf_of(client.get("/login").get_data(as_text=True))
    response = client.post("/login?next=//evil.example/x", data={
        "username": "office", "password": "xieshang-demo", "csrf_token": token})
    assert response.headers["Location"] == "/overview"


def test_logout_and_language_switch(client, login):
    login("office")
    page = client.get("/overview").get_data(as_text=True)
    client.get("/lang/en?next=/overview")
    token = csrf_of(page)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/overview").status_code == 302
    assert 'lang="en"' in client.get("/login").get_data(as_text=True)


def test_errors_are_pages_not_tracebacks(client, login):
    login("office")
    response = client.get("/no/such/page")
    assert response.status_code == 404 and "找不到" in response.get_data(as_text=True)
