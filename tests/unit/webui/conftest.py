"""Web fixtures: an app on a SQLite database with demo people and the consultation deployed."""

from __future__ import annotations

import re

import pytest

from engine.settings import Settings
from tests.conftest import CONSULTATION, DATA, copy_sqlite, seeded_wanted
from webui import create_app

WEB_BUNDLES = (CONSULTATION, DATA / "mini")


@pytest.fixture
def sqlite_url(request, sqlite_template, tmp_path) -> str:
    """The root's `sqlite_url`; for a test that uses `web_engine`, a copy of a database already seeded as it seeds."""
    if seeded_wanted(request, "web_engine"):
        return request.getfixturevalue("seeded_templates").copy(request, "sqlite", WEB_BUNDLES,
                                                                 tmp_path / "xieshang.db")
    return copy_sqlite(sqlite_template, tmp_path / "xieshang.db")


@pytest.fixture
def web_engine(request, sqlite_service, seeded_templates):
    """The engine with demo people, the consultation and the mini process deployed."""
    seeded_templates.take(request, sqlite_service, WEB_BUNDLES)
    return sqlite_service


@pytest.fixture
def web_services(web_engine, sqlite_services):
    """The services whose engine is `web_engine` (accounts, participation, extensions)."""
    return sqlite_services


@pytest.fixture
def app(web_services, sqlite_url, tmp_path):
    """The Flask app on those services."""
    settings = Settings(sqlite_url, None, tmp_path, DATA)
    return create_app({"SETTINGS": settings, "SERVICES": web_services, "TESTING": True, "SECRET_KEY": "test"})


@pytest.fixture
def client(app):
    """A browser-like client."""
    return app.test_client()


def csrf_of(page: str) -> str:
    """The CSRF token in a rendered page."""
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@pytest.fixture
def login(client):
    """Sign in as a demo user: login("office")."""

    def sign_in(username: str, password: str = "xieshang-demo"):
        token = csrf_of(client.get("/login").get_data(as_text=True))
        response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return sign_in
