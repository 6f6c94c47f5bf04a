"""GET /api/v1/instances/{id} answers from the instance's data snapshot: no workflow restored (who sees the proposer's
contact in it: test_casefile.py)."""

from __future__ import annotations

import copy

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
