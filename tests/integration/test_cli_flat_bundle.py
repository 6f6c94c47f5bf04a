"""A SpiffArena-style flat folder, drawn without lanes and with lanes from another modeller, deployed and run to its
end through the real `xieshang` executable, one subprocess per command."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from tests.conftest import DATA
from tests.integration.conftest import START

ANSWERS = {"survey": {"report": "走访了 12 户村民"}, "prepare": {"materials": "议程、签到表"}}
NOTICES = {"spiffarena_flat": ["survey", "prepare", "decide"],
           "spiffarena_flat_lanes": ["Lane_0vx3k2a", "Lane_1r8m4pq"]}


@pytest.mark.parametrize("folder", sorted(NOTICES))
def test_a_flat_bundle_runs_to_its_end_through_the_executable(xieshang, folder):
    run = xieshang
    bundle = str(DATA / folder)
    printed = run("validate", bundle, as_json=False)
    assert [line.split(": ", 1)[0].split(" ")[1] for line in printed.splitlines()] == NOTICES[folder]
    if folder.endswith("lanes"):
        assert "泳道 Reviewer" in printed and "lane Reviewer" in printed
    run("deploy", bundle, as_json=False)
    instance_id = run("start", "field_survey", "--as", "m001")["instance_id"]

    tasks = run("tasks", "--instance", str(instance_id))
    assert sorted(t["task_spec"] for t in tasks) == ["prepare", "survey", "survey"]
    assert all(t["candidates"] == ["m001"] for t in tasks)
    for task in (t for t in tasks if t["task_spec"] == "survey"):
        run("complete", task["id"], "--data", json.dumps(ANSWERS["survey"], ensure_ascii=False), "--as", "m001")

    due = datetime.fromisoformat(run("show", str(instance_id))["next_timer_at"])
    assert due == START + timedelta(days=1)
    run("sweep", now=due + timedelta(seconds=1))     # the boundary timer interrupts the preparation
    later = due + timedelta(minutes=1)
    for approved in (False, True):
        [task] = run("tasks", "--instance", str(instance_id), now=later)
        assert (task["task_spec"], task["candidates"]) == ("decide", ["m001"])
        run("complete", task["id"], "--data", json.dumps({"approved": approved}), "--as", "m001", now=later)

    view = run("show", str(instance_id), now=later)
    assert view["status"] == "completed"
    assert (view["data"]["visits"], view["data"]["late"]) == (3, True)
    assert view["data"]["reports"] == [ANSWERS["survey"]["report"]] * 2
