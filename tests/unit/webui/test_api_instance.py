"""GET /api/v1/instances/{id} answers from the instance's data snapshot: no workflow restored (who sees the proposer's
contact in it: test_casefile.py); a statement the database refuses is a 500, an unreachable database a 503."""

from __future__ import annotations

import copy
import sqlite3

import pytest
from sqlalchemy.exc import OperationalError

from tests.support.consultation import SCENARIOS


def test_the_api_instance_answer_restores_no_workflow(web_engine, client, web_services, monkeypatch):
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = web_engine.start_instance("consultation", scenario.intake(), actor="m001")
    phone = scenario.intake()["contact_phone"]

    def answer(username: str) -> dict:
        token = web_services.accounts.issue_token(username)
        response = client.get(f"/api/v1/instances/{instance_id}", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def refused(row):
        raise AssertionError(f"instance {row.id} restored to be answered")

    monkeypatch.setattr(web_engine, "load", refused)
    office = answer("office")
    assert office["data"]["contact_phone"] == phone and office["data"]["title"] == scenario.intake()["title"]
    assert [t["task_spec"] for t in office["tasks"]] == ["triage"] and office["status"] == "running"
    assert [e["kind"] for e in office["events"]] == ["instance_started"]


@pytest.mark.parametrize("cause, status", [('near "UNION": syntax error', 500), ("no such column: x", 500),
                                           ("database is locked", 503), ("unable to open database file", 503)])
def test_a_refused_statement_is_a_500_and_an_unreachable_database_a_503(web_engine, client, web_services,
                                                                          monkeypatch, caplog, cause, status):
    def failing(*_args, **_kwargs):
        raise OperationalError("SELECT 1", {}, sqlite3.OperationalError(cause))

    monkeypatch.setattr(web_services.participation, "instance_summary", failing)
    token = web_services.accounts.issue_token("office")
    response = client.get("/api/v1/instances/1", headers={"Authorization": f"Bearer {token}"})
    body = response.get_json()
    assert response.status_code == status and body["status"] == status
    assert body["message"] == ("服务器出错了，请稍后再试。" if status == 500 else "数据库暂时无法连接，请稍后再试。")
    assert ("Retry-After" in response.headers) == (status == 503)
    assert cause.lower() in caplog.text.lower() or status == 503
