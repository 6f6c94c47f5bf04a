"""A database outage on a throwaway PostgreSQL cluster of this test's own (the session's shared one is untouched):
/readyz goes 503 naming the database and comes back to 200 without a restart; /healthz stays 200; pages answer a
503 page that says the database is unavailable (zh-CN, English on request), the API a JSON 503; /metrics still
answers, with xieshang_database_up 0."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from domain.consultation.demo import load_demo
from domain.services import Services
from engine.clock import FrozenClock
from engine.settings import Settings
from engine.store import db
from tests.conftest import CONSULTATION, ROOT
from tests.support.pg import PostgresServer
from tests.unit.webui.conftest import csrf_of
from webui import create_app

pytestmark = pytest.mark.postgres
OUTAGE_MESSAGE = "数据库暂时无法连接，请稍后再试。"


@pytest.fixture
def own_postgres():
    """A PostgreSQL cluster for this test alone, stopped and removed afterwards."""
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def outage_app(own_postgres, tmp_path):
    url = own_postgres.create_database("outage")
    db.upgrade(url)
    clock = FrozenClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    services = Services.from_url(url, clock)
    with services.engine.unit_of_work() as session:
        load_demo(session, clock.now())
    services.engine.deploy([CONSULTATION], actor="owner")
    app = create_app({"SETTINGS": Settings(url, None, tmp_path, ROOT / "processes"), "SERVICES": services,
                      "TESTING": True, "SECRET_KEY": "outage"})
    yield app
    services.close()


def timed(call):
    """The answer and how long it took (seconds)."""
    started = time.monotonic()
    answer = call()
    return answer, time.monotonic() - started


def test_an_outage_is_a_503_everywhere_and_readiness_comes_back_without_a_restart(own_postgres, outage_app):
    browser, api = outage_app.test_client(), outage_app.test_client()
    token = csrf_of(browser.get("/login").get_data(as_text=True))
    assert browser.post("/login", data={"username": "office", "password": "xieshang-demo",
                                        "csrf_token": token}).status_code == 302
    api_token = api.post("/api/v1/tokens", json={"username": "office", "password": "xieshang-demo"}).get_json()
    bearer = {"Authorization": f"Bearer {api_token['token']}"}
    assert browser.get("/inbox").status_code == 200
    assert browser.get("/readyz").get_json() == {"status": "ok", "checks": {"database": "ok",
                                                                              "redis": "not configured"}}

    own_postgres.halt()
    ready, seconds = timed(lambda: browser.get("/readyz"))
    assert ready.status_code == 503 and seconds < 10
    assert ready.get_json() == {"status": "unavailable", "checks": {"database": "unavailable",
                                                                     "redis": "not configured"}}
    assert browser.get("/healthz").status_code == 200           # alive: nobody restarts the web for this
    for path in ["/inbox", "/instances", "/overview", "/ledger"]:
        page = browser.get(path)
        body = page.get_data(as_text=True)
        assert page.status_code == 503, path
        assert OUTAGE_MESSAGE in body and "服务暂不可用" in body and "Traceback" not in body, path
        assert page.headers["Retry-After"] == "30"
    english = browser.get("/instances?lang=en").get_data(as_text=True)
    assert "The database cannot be reached right now" in english and "Service unavailable" in english
    answer = api.get("/api/v1/instances", headers=bearer)
    assert answer.status_code == 503
    assert answer.get_json()["status"] == 503 and answer.get_json()["message"] == OUTAGE_MESSAGE
    intake = api.post("/api/v1/intake", json={"data": {"title": "路灯不亮"}})
    assert intake.status_code == 503 and intake.is_json
    metrics = browser.get("/metrics").get_data(as_text=True)
    assert "xieshang_database_up 0.0" in metrics and "xieshang_http_requests_total" in metrics
    assert "xieshang_instances_in_error" not in metrics

    own_postgres.resume()
    assert browser.get("/readyz").status_code == 200              # the same app, the same pool: no restart
    assert browser.get("/inbox").status_code == 200               # still signed in
    assert api.get("/api/v1/instances", headers=bearer).status_code == 200
    assert "xieshang_database_up 1.0" in browser.get("/metrics").get_data(as_text=True)
