"""/healthz, /readyz and /metrics: anonymous probes that leak no counts, metrics only for loopback or the token,
values that follow what happened (requests by URL rule, sweeps, the backlog)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from engine.settings import Settings
from engine.store.models import OutboxMessage, ProcessInstance
from engine.sweep import run_sweep
from tests.conftest import DATA
from tests.support.redis_server import RedisServer
from webui import create_app

REMOTE = {"REMOTE_ADDR": "203.0.113.9"}


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of an exposition."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def scrape(client, **kwargs) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/plain"
    return samples(response.get_data(as_text=True))


def requests_of(values, route: str, status: str, method: str = "GET") -> float:
    return values.get(("xieshang_http_requests_total", (("method", method), ("route", route), ("status", status))), 0)


def test_healthz_is_tiny_anonymous_and_needs_no_database(client, app, monkeypatch):
    def no_database(*args, **kwargs):
        raise AssertionError("/healthz touched the database")

    monkeypatch.setattr(type(app.extensions["xieshang"].engine), "reading", no_database)
    monkeypatch.setattr(type(app.extensions["xieshang"].accounts), "user", no_database)
    with client.session_transaction() as session:
        session["username"] = "office"         # a signed-in browser: still not looked up
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert len(response.get_data()) < 40


def test_readyz_says_which_dependency_is_down_and_leaks_no_counts(web_engine, web_services, sqlite_url, tmp_path):
    app = create_app({"SETTINGS": Settings(sqlite_url, None, tmp_path, DATA), "SERVICES": web_services,
                      "TESTING": True, "SECRET_KEY": "test"})
    web_engine.start_instance("mini", {"title": "one"})
    answer = app.test_client().get("/readyz")
    assert answer.status_code == 200
    assert answer.get_json() == {"status": "ok", "checks": {"database": "ok", "redis": "not configured"}}
    # Redis configured but nobody listens on that port: 503 naming Redis, the database still fine
    app.extensions["xieshang_settings"] = Settings(sqlite_url, "redis://127.0.0.1:9/0", tmp_path, DATA)
    answer = app.test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.get_json() == {"status": "unavailable", "checks": {"database": "ok", "redis": "unavailable"}}
    assert not re.search(r"\d", answer.get_data(as_text=True))


def test_metrics_are_for_loopback_or_the_token_only(app, client):
    assert client.get("/metrics").status_code == 200                    # the test client calls from 127.0.0.1
    assert client.get("/metrics", environ_base=REMOTE).status_code == 404
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 404   # via a proxy
    assert client.get("/metrics", environ_base=REMOTE, headers={"Authorization": "Bearer guess"}).status_code == 403
    app.config["METRICS_TOKEN"] = "s3cret-scrape-token"
    assert client.get("/metrics", environ_base=REMOTE, headers={"Authorization": "Bearer wrong"}).status_code == 403
    allowed = client.get("/metrics", environ_base=REMOTE, headers={"Authorization": "Bearer s3cret-scrape-token"})
    assert allowed.status_code == 200 and "xieshang_http_requests_total" in allowed.get_data(as_text=True)


def test_requests_are_counted_by_url_rule_and_status(client, login):
    login("office")
    for _ in range(3):
        assert client.get("/instances/1").status_code == 404        # no such instance: one rule, not three paths
    assert client.get("/nowhere/at/all").status_code == 404
    assert client.get("/instances?page=99999999999999999999").status_code == 400
    values = scrape(client)
    assert requests_of(values, "/instances/<int:instance_id>", "404") == 3
    assert requests_of(values, "<unmatched>", "404") == 1
    assert requests_of(values, "/instances", "400") == 1
    assert requests_of(values, "/login", "302", "POST") == 1
    assert not any("/instances/1" in dict(labels).get("route", "") for _, labels in values)
    count = values[("xieshang_http_request_duration_seconds_count",
                    (("method", "GET"), ("route", "/instances/<int:instance_id>")))]
    assert count == 3
    assert values[("xieshang_http_request_duration_seconds_bucket",
                   (("le", "+Inf"), ("method", "GET"), ("route", "/instances/<int:instance_id>")))] == 3


def test_request_ids_are_honoured_or_made(client):
    assert client.get("/healthz", headers={"X-Request-ID": "lb-42.abc"}).headers["X-Request-ID"] == "lb-42.abc"
    made = client.get("/healthz", headers={"X-Request-ID": "<script>" + "x" * 200}).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)


def test_backlog_gauges_follow_the_database(web_engine, client):
    before = scrape(client)
    assert before[("xieshang_database_up", ())] == 1
    assert before[("xieshang_instances_in_error", ())] == 0
    assert before[("xieshang_due_timers", ())] == 0
    ids = [web_engine.start_instance("mini", {"title": f"t{n}"}) for n in range(3)]
    started = scrape(client)         # starting may queue messages of its own
    now = web_engine.clock.now()
    with web_engine.unit_of_work() as session:
        session.execute(update(ProcessInstance).where(ProcessInstance.id == ids[0]).values(status="error"))
        session.execute(update(ProcessInstance).where(ProcessInstance.id.in_(ids[1:]))
                        .values(next_timer_at=now - timedelta(minutes=1)))
        for n, status in enumerate(["pending", "failed", "parked", "parked", "sent"]):
            session.add(OutboxMessage(idempotency_key=f"k{n}", operator="notify", status=status, created_at=now))
    after = scrape(client)
    assert after[("xieshang_instances_in_error", ())] == 1
    assert after[("xieshang_due_timers", ())] == 2
    assert after[("xieshang_outbox_backlog", ())] == started[("xieshang_outbox_backlog", ())] + 2
    assert after[("xieshang_parked_deliveries", ())] == started[("xieshang_parked_deliveries", ())] + 2


def test_sweeps_are_timed(web_engine, client):
    key = ("xieshang_sweep_duration_seconds_count", (("outcome", "ok"),))
    before = scrape(client).get(key, 0)
    run_sweep(web_engine)
    run_sweep(web_engine)
    after = scrape(client)
    assert after[key] == before + 2
    assert after[("xieshang_sweep_duration_seconds_sum", (("outcome", "ok"),))] > 0


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_set_no_session_cookie(client, path):
    assert "Set-Cookie" not in client.get(path).headers


def test_readyz_follows_a_real_redis_going_away(web_services, sqlite_url, tmp_path):
    server = RedisServer()
    url = server.start()
    try:
        app = create_app({"SETTINGS": Settings(sqlite_url, url, tmp_path, DATA), "SERVICES": web_services,
                          "TESTING": True, "SECRET_KEY": "test"})
        client = app.test_client()
        assert client.get("/readyz").get_json()["checks"] == {"database": "ok", "redis": "ok"}
    finally:
        server.stop()
    answer = client.get("/readyz")
    assert answer.status_code == 503 and answer.get_json()["checks"] == {"database": "ok", "redis": "unavailable"}
