"""A request that runs a bomb is refused at its bound and other requests are answered meanwhile."""

from __future__ import annotations

import json
import statistics
import threading
import time
import urllib.error
import urllib.request

import pytest
from werkzeug.serving import make_server

from tests.unit.engine.hostile.support import write_bundle

BOMBS = {
    "issue-power": "greeting = 'hello' if 3 ** (3 * 10 ** 7) > 0 else 'x'",
    "huge-power": "greeting = 'hello' if 3 ** 10 ** 8 else 'x'",
    # each step legal and holding the interpreter for milliseconds in C, until the allocation budget stops it
    "to-the-budget": "while True:\n    n = sum(map(ord, 'a' * 10 ** 6))",
}


@pytest.fixture
def server(app):
    """The app behind a real threaded WSGI server; yields its base URL."""
    wsgi = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=wsgi.serve_forever, name="responsiveness-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{wsgi.server_port}"
    wsgi.shutdown()
    wsgi.server_close()
    thread.join(timeout=10)


def _timed_health(base: str) -> float:
    started = time.monotonic()
    with urllib.request.urlopen(f"{base}/healthz", timeout=30) as answer:
        assert answer.status == 200
    return time.monotonic() - started


def _start(base: str, token: str, outcome: dict) -> None:
    body = json.dumps({"process_id": "hostile", "data": {}}).encode()
    request = urllib.request.Request(f"{base}/api/v1/instances", data=body, method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            outcome.update(status=answer.status, body=json.loads(answer.read()))
    except urllib.error.HTTPError as refused:
        outcome.update(status=refused.code, body=json.loads(refused.read()))


@pytest.mark.parametrize("bomb", list(BOMBS))
def test_health_is_answered_beside_a_bomb(web_services, bomb, server, web_engine, tmp_path):
    web_engine.deploy([write_bundle(tmp_path / "bundle", script=BOMBS[bomb])], actor="owner")
    token = web_services.accounts.issue_token("m001")
    baseline = statistics.median(_timed_health(server) for _ in range(5))
    outcome: dict = {}
    started = time.monotonic()
    request = threading.Thread(target=_start, args=(server, token, outcome))
    request.start()
    beside = [_timed_health(server) for _ in range(3)]
    request.join(timeout=30)
    assert not request.is_alive()
    assert max(beside) <= 5 * baseline + 0.5, (baseline, beside)
    assert time.monotonic() - started < 5
    assert outcome["status"] == 422, outcome
    assert "script_task" in json.dumps(outcome["body"], ensure_ascii=False)
    assert "budget exceeded" in json.dumps(outcome["body"], ensure_ascii=False)
