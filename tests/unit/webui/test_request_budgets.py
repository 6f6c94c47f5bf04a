"""The submit path's budgets: SQL statements per API request type, reads that write nothing, complete naming the
next task, one body shape for start and complete, field errors in the reader's language, compact stored state."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select, update

from domain.consultation.demo import load_demo
from engine.bpmn.serialization import state_serializer
from engine.settings import Settings
from engine.store.models import AuditEvent, ProcessInstance
from engine.store.statecodec import MARKER, pack, unpack
from engine.store.submissions import TaskSubmission
from tests.conftest import DATA
from tests.support.open_counts import inbox_kept_and_recounted, kept_and_recounted
from tests.support.sqlcount import counting
from webui import create_app

# Measured on this branch (SQLite); a change that needs more must say why and raise the budget here.
# A complete's 8: the token with its owner and memberships; the task with its instance, the instance's open tasks and
# open deadlines; the case file's submission; the audit event(s, one statement); the instance's state (its versioned
# UPDATE is also the race check and, on SQLite, the write lock); the completed and the next task rows (one upsert);
# the kept inbox counts' upsert; the outbox message telling the next task's people. (PostgreSQL adds the row lock,
# SELECT ... FOR UPDATE.) A start reads no tasks or deadlines of the instance it has just made. An
# instance GET answers from the data snapshot: no state read, no workflow restored. A lookup GET (`?instance_id=`):
# the token; the case's rows in any tab, counted and paged in Python; the process names its titles need. An inbox
# GET whose tab is counted empty reads no page: the token and the counts.
BUDGETS = {"start": 9, "complete": 8, "task GET": 6, "instance GET": 8, "inbox GET": 2, "lookup GET": 3}
ANSWER = {"opinion": "同意办理", "amount": 5}


@pytest.fixture
def six(web_engine, web_services, client):
    """The six-step process deployed; a member's token (already used once, so its last use is recorded)."""
    web_engine.deploy([DATA / "six_step"], actor="owner")
    headers = {"Authorization": f"Bearer {web_services.accounts.issue_token('m001')}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    return headers


def _bind(engine):
    return engine.sessions.kw["bind"]


def _measured(client, engine, headers) -> dict:
    """Statements and writes of each request type over one run of the six steps."""
    seen = {}
    with counting(_bind(engine)) as start:
        response = client.post("/api/v1/instances", json={"process_id": "six_step", "data": {}}, headers=headers)
    assert response.status_code == 201, response.get_json()
    seen["start"] = start
    instance_id = response.get_json()["instance_id"]
    task_id = engine.list_tasks(instance_id=instance_id)[0].id
    for step in range(6):
        with counting(_bind(engine)) as lookup:      # the client: one lookup of the case's tasks per step
            found = client.get(f"/api/v1/tasks?instance_id={instance_id}", headers=headers).get_json()["items"]
        assert [item["task_id"] for item in found] == [task_id]
        seen.setdefault("lookup GET", lookup)
        with counting(_bind(engine)) as read:
            assert client.get(f"/api/v1/tasks/{task_id}", headers=headers).status_code == 200
        with counting(_bind(engine)) as submit:
            response = client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": ANSWER}, headers=headers)
        assert response.status_code == 200, response.get_json()
        seen.setdefault("task GET", read)
        seen[f"complete {step + 1}"] = submit
        following = response.get_json()["next_tasks"]
        if step < 5:       # the starter acts on every step: the answer names the next one, no lookup needed
            assert [t["task_spec"] for t in following] == [f"s{step + 2}_" + NAMES[step + 1]]
            task_id = following[0]["id"]
        else:
            assert following == []
    with counting(_bind(engine)) as detail:
        assert client.get(f"/api/v1/instances/{instance_id}", headers=headers).status_code == 200
    seen["instance GET"] = detail
    with counting(_bind(engine)) as inbox:
        assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    seen["inbox GET"] = inbox
    return seen


NAMES = ["register", "check", "review", "decide", "sign", "archive"]


def _counts(seen: dict) -> dict:
    return {"start": seen["start"].count, "task GET": seen["task GET"].count,
            "complete": max(seen[f"complete {n}"].count for n in range(1, 7)),
            "instance GET": seen["instance GET"].count, "inbox GET": seen["inbox GET"].count,
            "lookup GET": seen["lookup GET"].count}


def test_each_request_type_stays_within_its_statement_budget(client, web_engine, six):
    seen = _measured(client, web_engine, six)
    over = {name: (count, BUDGETS[name]) for name, count in _counts(seen).items() if count > BUDGETS[name]}
    worst = max(range(1, 7), key=lambda n: seen[f"complete {n}"].count)
    assert not over, f"statements over budget (seen, budget): {over}\n" + "\n".join(
        s[:140] for s in seen[f"complete {worst}"].sql)


def test_a_read_request_writes_nothing(client, web_engine, six):
    seen = _measured(client, web_engine, six)
    for name in ("task GET", "instance GET", "inbox GET", "lookup GET"):
        assert seen[name].count and seen[name].writes == [], (name, seen[name].writes)
    assert seen["complete 1"].writes      # the counter does see writes


def test_start_and_complete_refuse_a_missing_data_alike(client, web_engine, six):
    started = client.post("/api/v1/instances", json={"process_id": "six_step"}, headers=six)
    instance_id = web_engine.start_instance("six_step", {}, actor="m001")
    task_id = web_engine.list_tasks(instance_id=instance_id)[0].id
    completed = client.post(f"/api/v1/tasks/{task_id}/complete", json={}, headers=six)
    assert started.status_code == completed.status_code == 400
    assert started.get_json()["field_errors"] == completed.get_json()["field_errors"] == {"data": ["此项为必填项"]}
    english = client.post("/api/v1/instances", json={"process_id": "six_step"},
                          headers={**six, "Accept-Language": "en"}).get_json()
    assert english["field_errors"] == {"data": ["is required"]} and english["message"].startswith("Invalid request")


def test_field_errors_are_chinese_by_default_and_english_when_asked(client, web_engine, six):
    instance_id = web_engine.start_instance("six_step", {}, actor="m001")
    task_id = web_engine.list_tasks(instance_id=instance_id)[0].id
    bad = {"data": {"opinion": "好", "amount": "many"}}
    chinese = client.post(f"/api/v1/tasks/{task_id}/complete", json=bad, headers=six)
    english = client.post(f"/api/v1/tasks/{task_id}/complete", json=bad, headers={**six, "Accept-Language": "en"})
    assert chinese.status_code == english.status_code == 422
    assert chinese.get_json()["field_errors"] == {"amount": ["类型不正确，应为 整数"], "opinion": ["至少需要 2 个字"]}
    assert english.get_json()["field_errors"] == {"amount": ["has the wrong type; expected integer"],
                                                  "opinion": ["must be at least 2 characters"]}
    assert "amount: has the wrong type" in english.get_json()["message"]
    assert web_engine.get_task(task_id).status == "ready"


def test_state_is_stored_compressed_and_old_plain_rows_still_load(client, web_engine, six):
    instance_id = web_engine.start_instance("six_step", {}, actor="m001")
    with web_engine.reading() as session:
        stored = session.scalar(select(ProcessInstance.state).where(ProcessInstance.id == instance_id))
    plain = unpack(stored)
    assert stored.startswith(MARKER) and plain.startswith("{") and len(stored) < len(plain) / 2
    assert unpack(pack(plain)) == plain
    with web_engine.unit_of_work() as session:      # a row written before compression: plain JSON
        session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id).values(state=plain))
    task_id = web_engine.list_tasks(instance_id=instance_id)[0].id
    response = client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": ANSWER}, headers=six)
    assert response.status_code == 200 and response.get_json()["next_tasks"][0]["task_spec"] == "s2_check"
    with web_engine.reading() as session:
        row = session.get(ProcessInstance, instance_id)
        parsed, workflow = web_engine.load(row)
        assert row.state.startswith(MARKER)       # written back compressed
    assert state_serializer().dumps(workflow) == unpack(row.state)


# PostgreSQL, where every statement is a round trip to the database server: a command's writes to several tables are
# one statement (`statements.together`: the extra tables' rows as data-modifying CTEs). A complete's 6: the token; the
# row lock (SELECT ... FOR UPDATE); the task with its instance, open tasks and open deadlines; the instance's UPDATE
# with the case file's submission and the audit events; the task rows with the kept counts; the outbox message (written
# at commit, after the listeners that tell the next task's people). A start's: the token; the process version; the
# instance's INSERT; its UPDATE with the audit events; the task rows with the counts; the outbox message.
POSTGRES_BUDGETS = {"start": 6, "complete": 6, "task GET": 6, "instance GET": 8, "inbox GET": 2, "lookup GET": 3}


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_on_postgresql_a_submit_is_six_statements_and_reads_write_nothing(services, db_url, tmp_path):
    engine = services.engine
    with engine.unit_of_work() as session:
        load_demo(session, engine.clock.now())
    engine.deploy([DATA / "six_step"], actor="owner")
    app = create_app({"SETTINGS": Settings(db_url, None, tmp_path, DATA), "SERVICES": services, "TESTING": True,
                      "SECRET_KEY": "test"})
    client = app.test_client()
    headers = {"Authorization": f"Bearer {services.accounts.issue_token('m001')}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    seen = _measured(client, engine, headers)
    assert _counts(seen) == POSTGRES_BUDGETS, "\n".join(s[:140] for s in seen["complete 1"].sql)
    for name in ("task GET", "instance GET", "inbox GET", "lookup GET"):
        assert seen[name].writes == [], (name, seen[name].writes)
    submit = seen["complete 1"].writes     # the composed statements count as writes
    assert len(submit) == 3 and sum(s.lstrip().startswith("WITH") for s in submit) == 2, submit
    with engine.reading() as session:      # every part of the composed statements was written
        assert session.scalar(select(func.count()).select_from(TaskSubmission)) == 6
        kinds = Counter(session.scalars(select(AuditEvent.kind)))
        assert kinds["task_completed"] == 6 and kinds["instance_started"] == 1 and kinds["instance_completed"] == 1
    started = client.post("/api/v1/instances", json={"process_id": "six_step", "data": {}}, headers=headers)
    assert started.status_code == 201      # one open task again, its counts written with its row
    for kept, recounted in (kept_and_recounted(engine), inbox_kept_and_recounted(engine)):
        assert kept == recounted and kept
