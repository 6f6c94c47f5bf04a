"""Many people at once on SQLite and PostgreSQL: pages answer without exhausting the pool, a task is completed once
and claimed by one person, every loser gets a 409 that keeps what they typed; a page is one read and one load."""

from __future__ import annotations

import copy
import time
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest

from domain.consultation.demo import load_demo
from engine.settings import Settings
from tests.conftest import CONSULTATION, DATA
from tests.support.consultation import SCENARIOS
from tests.unit.webui.conftest import csrf_of
from webui import create_app

PASSWORD = "xieshang-demo"


@pytest.fixture
def site(services, service, db_url, tmp_path):
    """The app on `service` (SQLite, then PostgreSQL with its default pool) and one township consultation."""
    with service.unit_of_work() as session:
        load_demo(session, service.clock.now())
    service.deploy([CONSULTATION], actor="owner")
    instance_id = service.start_instance("consultation", copy.deepcopy(SCENARIOS["township"]).intake(), actor="m001")
    [task] = service.list_tasks(instance_id=instance_id)
    app = create_app({"SETTINGS": Settings(db_url, None, tmp_path, DATA), "SERVICES": services, "TESTING": True,
                      "PROPAGATE_EXCEPTIONS": False, "SECRET_KEY": "test"})     # a crash is a 500, as served
    return app, instance_id, task


def signed_in(app, username: str):
    """A test client signed in as `username`, and its CSRF token."""
    client = app.test_client()
    token = csrf_of(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client, csrf_of(client.get("/inbox").get_data(as_text=True))     # signing in starts a new session


def all_at_once(calls: list):
    """Run every call in its own thread, released together by a barrier; returns their results in order."""
    barrier = Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_thirty_concurrent_instance_pages_all_answer(site):
    app, instance_id, _ = site
    clients = [signed_in(app, "office")[0] for _ in range(30)]
    started = time.monotonic()
    responses = all_at_once([lambda c=c: c.get(f"/instances/{instance_id}") for c in clients])
    elapsed = time.monotonic() - started
    assert [r.status_code for r in responses] == [200] * 30
    assert elapsed < 10, elapsed


def test_fifty_concurrent_submits_one_wins_the_rest_get_409_with_their_input(site):
    app, _, task = site
    people = [signed_in(app, "office") for _ in range(50)]
    form = {"revision": str(task.revision), "action": "submit", "decision": "accept", "tier": "township",
            "org_unit": "township_xunchang"}
    responses = all_at_once([lambda c=c, t=t, i=i: c.post(f"/tasks/{task.id}", data={
        **form, "csrf_token": t, "decline_reason": f"第{i}位委员的说明"}) for i, (c, t) in enumerate(people)])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [302] + [409] * 49, statuses
    for i, response in enumerate(responses):
        if response.status_code == 409:
            assert f"第{i}位委员的说明" in response.get_data(as_text=True)     # what this person typed is kept


def test_ten_concurrent_claims_by_two_people_one_is_told_they_have_it(site):
    app, _, task = site
    people = [signed_in(app, name) for name in ("office", "office2") * 5]
    responses = all_at_once([lambda c=c, t=t: c.post(f"/tasks/{task.id}/claim", data={"csrf_token": t})
                             for c, t in people])
    won = {name for (name, response) in zip(("office", "office2") * 5, responses, strict=True)
           if response.status_code == 302}
    assert len(won) == 1, [r.status_code for r in responses]
    assert all(r.status_code in {302, 409} for r in responses)


def test_the_api_answers_racing_completes_and_claims_with_409_json(site):
    app, _, task = site
    services = app.extensions["xieshang"]
    engine = services.engine
    tokens = {name: services.accounts.issue_token(name) for name in ("office", "office2")}
    clients = [(name, app.test_client()) for name in ("office", "office2") * 5]
    claims = all_at_once([lambda n=n, c=c: c.post(f"/api/v1/tasks/{task.id}/claim", headers={
        "Authorization": f"Bearer {tokens[n]}"}) for n, c in clients])
    assert len({n for (n, _), r in zip(clients, claims, strict=True) if r.status_code == 200}) == 1
    assert all(r.status_code == 200 or (r.status_code == 409 and r.get_json()["status"] == 409) for r in claims)
    winner = engine.get_task(task.id).assignee
    data = {"decision": "accept", "tier": "township", "org_unit": "township_xunchang"}
    completes = all_at_once([lambda c=c: c.post(f"/api/v1/tasks/{task.id}/complete", json={"data": data}, headers={
        "Authorization": f"Bearer {tokens[winner]}"}) for _, c in clients])
    assert sorted(r.status_code for r in completes) == [200] + [409] * 9
    assert all(r.get_json()["status"] == 409 for r in completes if r.status_code == 409)


@pytest.fixture
def counted(site, monkeypatch):
    """Counts database transactions begun and workflows deserialized while `counted` is read."""
    from sqlalchemy import event

    from engine.bpmn.serialization import StateSerializer

    counts = {"transactions": 0, "loads": 0}
    app, _, _ = site
    factory = app.extensions["xieshang"].engine.sessions
    event.listen(factory, "after_begin", lambda *_: counts.__setitem__("transactions", counts["transactions"] + 1))
    loads = StateSerializer.loads

    def counting_loads(self, *args):
        counts["loads"] += 1
        return loads(self, *args)

    monkeypatch.setattr(StateSerializer, "loads", counting_loads)
    return counts


@pytest.mark.parametrize("page", ["task", "instance"])
def test_a_page_is_one_read_transaction_and_one_workflow_load(site, counted, page):
    app, instance_id, task = site
    client, _ = signed_in(app, "office")
    counted.update(transactions=0, loads=0)
    response = client.get(f"/tasks/{task.id}" if page == "task" else f"/instances/{instance_id}")
    assert response.status_code == 200
    assert counted == {"transactions": 1, "loads": 1}


def test_a_return_that_lost_a_race_keeps_its_reason(site):
    app, _, task = site
    client, token = signed_in(app, "office")
    engine = app.extensions["xieshang"].engine
    engine.claim_task(task.id, "office")
    client.get(f"/tasks/{task.id}")
    engine.complete_task(task.id, {"decision": "accept", "tier": "township", "org_unit": "township_xunchang"},
                         "office")                          # meanwhile, in another tab
    response = client.post(f"/tasks/{task.id}/return", data={"csrf_token": token, "reason": "材料不全，请补充"})
    assert response.status_code == 409 and "材料不全，请补充" in response.get_data(as_text=True)
