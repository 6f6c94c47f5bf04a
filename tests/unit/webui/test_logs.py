"""Logs: one JSON object per line in production (request id, user, route, status, duration), plain text in
development; an engine error turned into a message for a person is logged with its cause and traceback."""

from __future__ import annotations

import io
import json
import logging

import pytest

from engine.errors import ScriptError
from engine.settings import Settings
from tests.conftest import DATA
from tests.unit.engine.hostile.support import write_bundle
from tests.unit.webui.conftest import csrf_of
from webui import create_app, observability


@pytest.fixture
def log_app(web_services, sqlite_url, tmp_path):
    """An app whose logs go, formatted as the test asks, to a StringIO; the root handler is removed afterwards."""
    made = []

    def build(fmt: str):
        stream = io.StringIO()
        app = create_app({"SETTINGS": Settings(sqlite_url, None, tmp_path, DATA), "SERVICES": web_services,
                          "TESTING": True, "SECRET_KEY": "test", "LOG_FORMAT": fmt, "LOG_STREAM": stream})
        made.append(stream)
        return app, stream

    yield build
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "xieshang", False)]:
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)


def sign_in(client, username: str) -> None:
    token = csrf_of(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"username": username, "password": "xieshang-demo",
                                       "csrf_token": token}).status_code == 302


def test_production_logs_are_json_lines_with_the_request_fields(log_app):
    app, stream = log_app("json")
    client = app.test_client()
    sign_in(client, "office")
    stream.truncate(0)
    stream.seek(0)
    response = client.get("/instances/424242", headers={"X-Request-ID": "edge-7f3c"})
    assert response.status_code == 404 and response.headers["X-Request-ID"] == "edge-7f3c"
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]      # every line parses alone
    [access] = [line for line in lines if line["logger"] == "xieshang.access"]
    assert access["request_id"] == "edge-7f3c"
    assert access["user"] == "office"
    assert access["route"] == "/instances/<int:instance_id>"
    assert access["path"] == "/instances/424242" and access["method"] == "GET"
    assert access["status"] == 404
    assert isinstance(access["duration_ms"], float) and access["duration_ms"] >= 0
    assert access["level"] == "INFO" and access["time"].endswith("+00:00")


def test_a_server_error_is_logged_as_json_with_its_traceback_and_request_id(log_app, monkeypatch):
    app, stream = log_app("json")

    def broken():
        raise RuntimeError("the sign-in page broke")

    monkeypatch.setitem(app.view_functions, "auth.login", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False        # as in production: the 500 page, not the test's exception
    response = app.test_client().get("/login", headers={"X-Request-ID": "req-500"})
    assert response.status_code == 500 and "the sign-in page broke" not in response.get_data(as_text=True)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    [failure] = [line for line in lines if "exception" in line]
    assert failure["request_id"] == "req-500" and failure["level"] == "ERROR"
    assert "RuntimeError: the sign-in page broke" in failure["exception"]
    assert "Traceback" in failure["exception"]
    [access] = [line for line in lines if line["logger"] == "xieshang.access"]
    assert access["status"] == 500 and access["level"] == "ERROR"


def test_development_logs_are_plain_text(log_app):
    app, stream = log_app("plain")
    app.test_client().get("/healthz", headers={"X-Request-ID": "dev-1"})
    [line] = [line for line in stream.getvalue().splitlines() if "xieshang.access" in line]
    assert "INFO xieshang.access: GET /healthz 200" in line and line.endswith("[dev-1]")
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


@pytest.mark.parametrize("level, chatter", [("INFO", False), ("DEBUG", True)])
def test_spiffworkflow_task_chatter_only_at_debug(level, chatter):
    stream, root, spiff = io.StringIO(), logging.getLogger(), logging.getLogger("spiff")
    levels = root.level, spiff.level
    handler = observability.configure_logging("plain", stream, level)
    try:
        logging.getLogger("spiff.task").info("State changed to READY")
        logging.getLogger("spiff.workflow").warning("a workflow warning")
        logging.getLogger("xieshang.access").info("GET /healthz 200")
    finally:
        root.removeHandler(handler)
        root.setLevel(levels[0])
        spiff.setLevel(levels[1])
    text = stream.getvalue()
    assert ("State changed to READY" in text) == chatter
    assert "a workflow warning" in text and "GET /healthz 200" in text


def test_an_unknown_log_format_is_refused_clearly():
    with pytest.raises(ValueError, match="XIESHANG_LOG_FORMAT must be json or plain"):
        observability.configure_logging("yaml")


def test_a_script_error_shown_to_a_person_is_logged_with_its_cause(web_engine, tmp_path, caplog):
    web_engine.deploy([write_bundle(tmp_path / "bundle", script="ratio = 1 / (len(title) - 5)")], actor="owner")
    with caplog.at_level(logging.INFO), pytest.raises(ScriptError) as refused:
        web_engine.start_instance("hostile", {"title": "hello"})
    assert "division by zero" in refused.value.message
    [record] = [r for r in caplog.records if r.name == "engine.bpmn.runtime"]
    assert record.exc_info is not None and "script_task" in record.getMessage()
    assert "ZeroDivisionError" in caplog.text and "Traceback" in caplog.text
    formatted = json.loads(observability.JsonFormatter().format(record))
    assert "ZeroDivisionError" in formatted["exception"]
