"""Request bodies and submissions have a bounded cost at the web layer: 413 and 422 with a message a person reads."""

from __future__ import annotations

import time

from tests.support.consultation import SCENARIOS
from tests.unit.webui.test_api import TOPIC, _error, _triaged, call  # noqa: F401 - `call` is a fixture

PLAN = SCENARIOS["township"].answer("draft_plan", {})
TOO_BIG = "提交的内容超过 1024 KB 上限，请删减后再提交 (the request is larger than the limit of 1024 KB)"


def test_an_api_body_over_the_cap_is_413_json_and_nothing_changes(call, web_engine):  # noqa: F811
    here = _triaged(web_engine, "township_xunchang")
    big = {"data": dict(TOPIC, topic_rationale="x" * 2_000_000), "revision": here.task.revision}
    body = _error(call("POST", f"/tasks/{here.task.id}/complete", user="organizer_xunchang", json=big), 413, TOO_BIG)
    assert body["error"] == "提交的内容太大"
    assert web_engine.get_task(here.task.id).status == "ready"


def test_a_20000_item_researchers_submit_is_422_at_once(call, web_engine):  # noqa: F811
    """Measured: a 159 KB submit of draft_plan burned 69.6 s of CPU."""
    here = _triaged(web_engine, "township_xunchang")
    web_engine.complete_task(here.task.id, TOPIC, "organizer_xunchang")
    [plan] = web_engine.list_tasks(instance_id=here.instance_id)
    data = dict(PLAN, researchers=[i if i % 2 else str(i) for i in range(20_000)])
    started = time.process_time()
    body = _error(call("POST", f"/tasks/{plan.id}/complete", user="organizer_xunchang", json={"data": data}),
                  422, "researchers")
    assert time.process_time() - started < 2.0
    assert body["field_errors"] == {"researchers": ["最多 1000 项 (at most 1000 items)"]}
    assert web_engine.get_task(plan.id).status == "ready"


def test_a_page_post_over_the_cap_is_413_with_a_page(client):
    response = client.post("/intake", data={"title": "x" * 2_000_000})
    assert response.status_code == 413 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "提交的内容太大" in page and "提交的内容超过 1024 KB 上限，请删减后再提交" in page
