"""Deployment wiring of the web app: static files under content-hashed names with long cache headers, trusted
proxies (XIESHANG_PROXIES) and secure cookies over HTTPS."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from flask import request, url_for

from engine.settings import Settings
from tests.conftest import DATA, ROOT
from webui import create_app
from webui.deployment import DeploymentError, hashed_name

STATIC = ROOT / "webui" / "static"
TEMPLATES = ROOT / "webui" / "templates"
HASHED = re.compile(r"/static/([\w/.-]+)\.([0-9a-f]{12})(\.\w+)?\b")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def fetch(client, url: str, **kwargs):
    """A static file read and closed (WhiteNoise answers with an open file, as gunicorn's sendfile wants)."""
    response = client.get(url, **kwargs)
    response.get_data()
    response.close()
    return response


def make_app(web_services, sqlite_url, tmp_path, **config):
    settings = Settings(sqlite_url, None, tmp_path, DATA)
    app = create_app({"SETTINGS": settings, "SERVICES": web_services, "TESTING": True, "SECRET_KEY": "test",
                      **config})

    @app.route("/probe")
    def probe():
        return f"{request.remote_addr} {request.scheme} {request.host} {url_for('inbox.index', _external=True)}"

    return app


def test_pages_name_static_files_by_content_hash_served_immutable_for_a_year(client):
    page = client.get("/login").get_data(as_text=True)
    found = HASHED.search(page)
    assert found, "no hashed static name on the sign-in page"
    name = found.group(1) + (found.group(3) or "")
    assert name == "css/app.css" and found.group(2) == digest(STATIC / name)
    hashed = fetch(client, found.group(0))
    assert hashed.status_code == 200 and hashed.data == (STATIC / name).read_bytes()
    assert hashed.headers["Cache-Control"] == "max-age=31536000, public, immutable"
    assert hashed.headers["X-Content-Type-Options"] == "nosniff" and hashed.mimetype == "text/css"
    assert "Set-Cookie" not in hashed.headers                  # static files never touch the session
    plain = fetch(client, "/static/css/app.css")
    assert plain.status_code == 200 and plain.data == hashed.data
    assert plain.headers["Cache-Control"] == "max-age=300, public"
    stale = client.get(f"/static/css/app.{'0' * 12}.css")
    assert stale.status_code == 404
    again = fetch(client, found.group(0), headers={"If-None-Match": hashed.headers["ETag"]})
    assert again.status_code == 304


def test_every_static_file_a_template_names_gets_its_hashed_url(app):
    named = set()
    for template in TEMPLATES.rglob("*.html"):
        named |= set(re.findall(r"url_for\('static', filename='([^']+)'\)", template.read_text(encoding="utf-8")))
    assert {"css/app.css", "js/forms.js", "bpmn/viewer.js", "charts/charts.js"} <= named
    with app.test_request_context():
        for name in sorted(named):
            assert (STATIC / name).is_file(), name
            assert url_for("static", filename=name) == f"/static/{hashed_name(name, digest(STATIC / name))}"
        assert url_for("static", filename="no/such.css") == "/static/no/such.css"
    assert hashed_name("bpmn/viewer.min.js", "abc") == "bpmn/viewer.min.abc.js"
    assert hashed_name("LICENSE", "abc") == "LICENSE.abc"


def test_without_trusted_proxies_forwarded_headers_are_ignored(web_services, sqlite_url, tmp_path, monkeypatch):
    monkeypatch.delenv("XIESHANG_PROXIES", raising=False)
    monkeypatch.delenv("XIESHANG_HTTPS", raising=False)
    client = make_app(web_services, sqlite_url, tmp_path).test_client()
    forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}
    assert client.get("/probe", headers=forwarded).get_data(as_text=True) == \
        "127.0.0.1 http localhost http://localhost/inbox"
    cookie = client.get("/login", headers=forwarded).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_behind_one_trusted_proxy_the_client_address_and_https_come_from_it(web_services, sqlite_url, tmp_path,
                                                                            monkeypatch):
    monkeypatch.setenv("XIESHANG_PROXIES", "1")
    monkeypatch.delenv("XIESHANG_HTTPS", raising=False)
    app = make_app(web_services, sqlite_url, tmp_path)
    client = app.test_client()
    forwarded = {"X-Forwarded-For": "198.51.100.1, 203.0.113.9", "X-Forwarded-Proto": "https",
                 "X-Forwarded-Host": "xieshang.example.cn"}
    assert client.get("/probe", headers=forwarded).get_data(as_text=True) == \
        "203.0.113.9 https xieshang.example.cn https://xieshang.example.cn/inbox"   # only the last hop is trusted
    cookies = client.get("/login", headers=forwarded).headers.getlist("Set-Cookie")
    assert cookies and all(re.search(r";\s*Secure\b", c) and "HttpOnly" in c for c in cookies)
    plain = app.test_client().get("/login", headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "http"})
    assert "Secure" not in plain.headers["Set-Cookie"]


def test_xieshang_https_marks_cookies_secure_even_without_a_proxy(web_services, sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("XIESHANG_HTTPS", "true")
    monkeypatch.delenv("XIESHANG_PROXIES", raising=False)
    app = make_app(web_services, sqlite_url, tmp_path)
    assert app.config["SESSION_COOKIE_SECURE"] is True and app.config["PREFERRED_URL_SCHEME"] == "https"
    cookie = app.test_client().get("/login").headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize("bad", ["many", "-1", "11"])
def test_a_bad_proxy_count_is_refused_naming_the_variable(web_services, sqlite_url, tmp_path, monkeypatch, bad):
    monkeypatch.setenv("XIESHANG_PROXIES", bad)
    with pytest.raises(DeploymentError, match="XIESHANG_PROXIES must be the number of reverse proxies"):
        make_app(web_services, sqlite_url, tmp_path)


def test_a_bad_https_flag_is_refused_naming_the_variable(web_services, sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("XIESHANG_HTTPS", "maybe")
    with pytest.raises(DeploymentError, match="XIESHANG_HTTPS must be true or false, not 'maybe'"):
        make_app(web_services, sqlite_url, tmp_path)
