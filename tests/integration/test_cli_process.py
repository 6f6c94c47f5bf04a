"""All three tiers through the real `xieshang` executable, one subprocess per command, as an operator or another
tool drives it: nothing is shared between steps but the database. The three walks run side by side."""

from __future__ import annotations

import copy
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest

from tests.integration.conftest import START
from tests.processes.test_consultation import EXPECTED_PATHS, TIERS
from tests.support.consultation import SCENARIOS, Scenario


def walk(run, scenario: Scenario) -> tuple[int, list[str]]:
    """Start the scenario's topic and finish it, one command per process; returns (instance id, task path)."""
    now = START
    instance_id = run("start", "consultation", "--data", json.dumps(scenario.intake(), ensure_ascii=False),
                      "--as", "m001", now=now)["instance_id"]
    path = []
    for _ in range(60):
        tasks = run("tasks", "--instance", str(instance_id), now=now)
        if not tasks:
            view = run("show", str(instance_id), now=now)
            if view["status"] in {"completed", "error"}:
                assert view["status"] == "completed", view.get("error")
                return instance_id, path
            if view["status"] == "running":
                continue    # a sweep of another walk, further on in time, fired our timer meanwhile
            assert view["next_timer_at"], f"stuck in {view['status']} at step {view['step']}: {view['events'][-6:]}"
            now = max(now, datetime.fromisoformat(view["next_timer_at"]) + timedelta(seconds=1))
            run("sweep", now=now)   # fires ours, unless another walk's sweep just did
            continue
        task = tasks[0]
        assert task["candidates"], f"nobody may act on {task['name']}"
        spec = task["task_spec"]
        data = run("show", str(instance_id), now=now)["data"] if spec == "triage" else {}
        path.append(spec)
        run("complete", task["id"], "--data", json.dumps(scenario.answer(spec, data), ensure_ascii=False),
            "--as", task["candidates"][0], now=now)
        now += timedelta(hours=1)
    raise AssertionError(f"did not finish: {path}")


@pytest.mark.slow
def test_three_tiers_through_the_executable_side_by_side(xieshang):
    names = ["county", "committee", "township"]
    with ThreadPoolExecutor(len(names)) as pool:
        results = dict(zip(names, pool.map(lambda n: walk(xieshang, copy.deepcopy(SCENARIOS[n])), names),
                           strict=True))
    for name, (instance_id, path) in results.items():
        assert path == EXPECTED_PATHS[name]
        view = xieshang("show", str(instance_id), now=START + timedelta(days=400))
        assert (view["status"], view["tier"], view["org_unit"]) == ("completed", *TIERS[name])
        # every researcher's report, in the order they were handed in (the walk takes whichever task is listed first)
        assert sorted(r["researcher"] for r in view["data"]["research_reports"]) == \
            sorted(SCENARIOS[name].researchers)
