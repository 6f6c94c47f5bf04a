"""`xieshang notifications` and `xieshang outbox`: the notification centre and the outbox from the command line."""

from __future__ import annotations

import copy
import json

import pytest
from click.testing import CliRunner

from cli.main import cli
from domain.consultation.demo import load_demo
from engine.store import db
from tests.conftest import CONSULTATION, make_service
from tests.support.consultation import SCENARIOS, run_through_engine


@pytest.fixture
def run(tmp_path, monkeypatch, clock):
    """The CLI on a SQLite database with demo people, the consultation and a declined topic by m001."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    db.upgrade(url)
    engine = make_service(url, clock)
    with engine.unit_of_work() as session:
        load_demo(session, clock.now())
    engine.deploy([CONSULTATION], actor="owner")
    run_through_engine(engine, copy.deepcopy(SCENARIOS["declined"]), starter="m001")
    engine.sessions.kw["bind"].dispose()
    monkeypatch.setenv("XIESHANG_DATABASE_URL", url)
    monkeypatch.setenv("XIESHANG_INSTANCE_PATH", str(tmp_path))
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(cli, ["--now", clock.now().isoformat(), *args], catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return invoke


def test_cli_lists_notifications_and_the_outbox(run):
    code, out, _ = run("outbox", "--json")
    moment, request, assignment = json.loads(out)    # newest first: the SMS ask, the decline's notice, triage's
    assert (moment["idempotency_key"], moment["channel"], moment["kind"]) == ("1:moment:declined", "dispatch",
                                                                              "declined")
    assert code == 0 and (request["channel"], request["status"], request["attempts"], request["kind"]) == (
        "dispatch", "pending", 0, "declined")
    assert (assignment["channel"], assignment["status"], assignment["kind"]) == ("dispatch", "pending", "assignment")
    assert run("outbox", "deliver", "--json")[1].strip() == '{\n  "sent": 1\n}'     # triage is done: nobody to tell
    code, out, _ = run("outbox", "--json")
    delivery, moment, request, assignment = json.loads(out)
    assert (moment["status"], moment["last_error"]) == ("dispatched", "没有接收人 (no recipients for this message)")
    assert {k: delivery[k] for k in ("channel", "recipient", "status", "attempts", "last_error", "kind")} == {
        "channel": "inapp", "recipient": "m001", "status": "sent", "attempts": 1, "last_error": None,
        "kind": "result"}
    assert (request["channel"], request["status"]) == ("dispatch", "dispatched")
    assert (assignment["status"], assignment["last_error"]) == (
        "dispatched", "任务已办结，无需通知 (the task is done; nobody is told)")
    code, out, _ = run("notifications", "--as", "m001", "--json")
    [notice] = json.loads(out)
    assert code == 0 and set(notice) == {"id", "kind", "level", "task_id", "instance_id", "created_at", "read",
                                         "title", "body"}
    assert (notice["kind"], notice["level"], notice["task_id"], notice["read"]) == ("result", 0, None, False)
    assert notice["created_at"] == "2026-03-02T01:00:00+00:00"
    assert json.loads(run("notifications", "--as", "m014", "--json")[1]) == []
    assert run("notifications", "--as", "m001", "read")[0] == 0
    assert json.loads(run("notifications", "--as", "m001", "--json")[1])[0]["read"] is True
    assert json.loads(run("outbox", "--status", "parked", "--json")[1]) == []


def test_cli_retry_refuses_what_is_not_parked(run):
    run("outbox", "deliver")
    delivery, _moment, request, _ = json.loads(run("outbox", "--json")[1])
    assert (delivery["recipient"], delivery["status"], request["recipient"]) == ("m001", "sent", None)
    code, _, err = run("outbox", "retry", str(delivery["id"]))
    assert code == 1 and "only parked or failed messages" in err
    code, _, err = run("outbox", "retry", str(request["id"]))
    assert code == 1 and "no such delivery" in err                  # a request, not a delivery
    code, _, err = run("outbox", "retry", "99")
    assert code == 1 and "no such delivery" in err and "Traceback" not in err
