"""Each instance is its own failure domain: a value the state cannot store is refused where it is produced (a
script error naming the element), the instance goes to `error` with its timers and deadlines parked, the sweep
goes on with everyone else, and an admin can list such instances and retry them."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from domain.consultation.demo import load_demo
from domain.notifications.models import Notification
from engine import failures
from engine.bpmn import storable
from engine.errors import InvalidState, ScriptError
from engine.service import Engine
from engine.store.models import AuditEvent, Deadline, ProcessInstance, User
from engine.sweep import run_sweep
from tests.conftest import CONSULTATION, DATA
from tests.support.consultation import SCENARIOS
from tests.support.poison import POISONS, guarded, write_bundle
from tests.unit.engine.hostile.support import write_bundle as write_hostile

# --- the check itself ----------------------------------------------------------------------------------------
_circular: list = []
_circular.append(_circular)
REFUSED = {
    "complex": (complex(1, 2), "data['v']: complex cannot be stored"),
    "bytes": (b"x", "data['v']: bytes cannot be stored"),
    "range": (range(3), "data['v']: range cannot be stored"),
    "generator": ((n for n in []), "data['v']: generator cannot be stored"),
    "exception": (ValueError("x"), "data['v']: ValueError cannot be stored"),
    "frozenset": (frozenset(), "data['v']: frozenset cannot be stored"),
    "big-int": (-(10 ** 4300), "data['v']: an int with more than 4300 digits cannot be read back"),
    "circular": ({"a": [_circular]}, "data['v']['a'][0][0]: refers to itself (a circular reference)"),
    "tuple-key": ({(1, 2): "x"}, "data['v'][(1, 2)]: dict keys must be str, not tuple"),
    "int-key": ({1: "x"}, "data['v'][1]: dict keys must be str, not int"),    # would come back as "1"
    "nan": (float("nan"), "data['v']: nan is not a finite number"),
    "inf": ([float("-inf")], "data['v'][0]: -inf is not a finite number"),
    "nul": ("a\x00b", "data['v']: a string containing NUL"),
}


@pytest.mark.parametrize("name", REFUSED)
def test_the_check_names_the_value_that_cannot_be_stored(name):
    value, message = REFUSED[name]
    with pytest.raises(storable.Unstorable) as caught:
        storable.check({"ok": 1, "v": value})
    assert str(caught.value).startswith(message)


def test_the_check_accepts_what_round_trips_and_drops_callables():
    shared = [1, 2]
    storable.check({"s": "文", "i": 10 ** 4299, "f": 1.5, "b": True, "n": None, "d": date(2026, 3, 2),
                    "t": datetime(2026, 3, 2), "dt": timedelta(days=1), "dec": Decimal("1.10"),
                    "list": [shared, shared], "tuple": (1, "a"), "set": {1, 2}, "fn": len, "cls": ValueError})


def test_the_check_is_bounded_in_depth_and_size():
    deep: list = []
    for _ in range(storable.MAX_DEPTH + 1):
        deep = [deep]
    with pytest.raises(storable.Unstorable, match="nested more than 64 levels deep"):
        storable.check({"deep": deep})
    doubling: list = [0]
    for _ in range(40):          # 2**40 values as JSON would write them: refused after MAX_NODES, not walked
        doubling = [doubling, doubling]
    with pytest.raises(storable.Unstorable, match="too large to store"):
        storable.check({"big": doubling})


# --- after a timer: the sweep ----------------------------------------------------------------------------------
@pytest.fixture
def poisoned(sqlite_service, tmp_path):
    """Deploys a poison-after-timer bundle per call; the healthy one-timer process is deployed too."""
    sqlite_service.deploy([DATA / "timers"], actor="test")

    def deploy(script: str, process_id: str = "poisoned") -> Engine:
        sqlite_service.deploy([write_bundle(tmp_path / process_id, process_id, script)], actor="test")
        return sqlite_service

    return deploy


def _row(engine: Engine, instance_id: int) -> ProcessInstance:
    with engine.unit_of_work() as session:
        return session.get(ProcessInstance, instance_id)


@pytest.mark.parametrize("poison", POISONS)
def test_a_value_that_cannot_be_stored_after_a_timer_fails_that_instance_alone(sqlite_services, poisoned, poison):
    engine = poisoned(POISONS[poison])
    before = engine.start_instance("timers", {})
    bad = engine.start_instance("poisoned", {})
    after = engine.start_instance("timers", {})
    engine.clock.advance(hours=2)
    result = run_sweep(engine, deliveries=sqlite_services.deliveries)
    assert result.fired == (before, after) and result.failed == {"timers": (bad,)} and result.errors == {}
    row = _row(engine, bad)
    assert (row.status, row.next_timer_at) == ("error", None)
    assert row.error.startswith("poison: 无法保存的数据 (a value that cannot be stored): data['value']")
    view = engine.show_instance(bad)
    assert [e.kind for e in view.events] == ["instance_started", "script_error"]
    assert view.events[-1].detail["element"] == "poison"
    assert [engine.show_instance(i).status for i in (before, after)] == ["completed", "completed"]
    later = engine.clock.now() + timedelta(days=1)
    assert run_sweep(engine, later, sqlite_services.deliveries).failed == {}     # parked: not tried again


def test_a_dmn_result_that_cannot_be_stored_is_refused_naming_the_rule_task(sqlite_service, tmp_path):
    sqlite_service.deploy([write_hostile(tmp_path / "b", dmn_output="complex(1, 2)")], actor="owner")
    with pytest.raises(ScriptError) as caught:
        sqlite_service.start_instance("hostile", {"title": "t"})
    assert caught.value.element_id == "rule_task" and "complex cannot be stored" in caught.value.message


# --- after a user task: the submit ------------------------------------------------------------------------------
@pytest.mark.parametrize("poison", POISONS)
def test_a_value_that_cannot_be_stored_after_a_user_task_is_refused_and_the_task_stays_doable(
        sqlite_service, tmp_path, poison):
    bundle = write_bundle(tmp_path / "p", "after_task", guarded(POISONS[poison], "poison"), after="task")
    sqlite_service.deploy([bundle], actor="test")
    with sqlite_service.unit_of_work() as session:      # the task's named assignee is a real, active account
        session.add(User(username="clerk", display_name="办事员", password_hash="-",
                         created_at=sqlite_service.clock.now()))
    instance_id = sqlite_service.start_instance("after_task", {})
    [task] = sqlite_service.list_tasks(instance_id=instance_id)
    revision = _row(sqlite_service, instance_id).revision
    with pytest.raises(ScriptError) as caught:
        sqlite_service.complete_task(task.id, {"poison": True, "note": "n"}, "clerk")
    assert caught.value.element_id == "poison" and "无法保存的数据" in caught.value.message
    assert _row(sqlite_service, instance_id).revision == revision                   # nothing half-saved
    assert [t.id for t in sqlite_service.list_tasks(instance_id=instance_id)] == [task.id]
    sqlite_service.complete_task(task.id, {"poison": False}, "clerk")                # still doable
    assert [t.task_spec for t in sqlite_service.list_tasks(instance_id=instance_id)] == ["after"]


# --- timers, deadlines and deliveries of everyone else, in the same sweep ---------------------------------------
def test_a_poison_instance_does_not_stop_timers_deadlines_or_deliveries_of_others(services, service, tmp_path):
    with service.unit_of_work() as session:
        load_demo(session, service.clock.now())
    service.deploy([CONSULTATION], actor="owner")
    service.deploy([DATA / "timers"], actor="test")
    service.deploy([write_bundle(tmp_path / "p", "poisoned", POISONS["complex"])], actor="test")
    scenario = copy.deepcopy(SCENARIOS["township"])
    township = service.start_instance("consultation", scenario.intake(), actor="m001")
    [triage] = service.list_tasks(instance_id=township)
    service.complete_task(triage.id, scenario.answer("triage", service.show_instance(township).data), "office")
    bad, healthy = service.start_instance("poisoned", {}), service.start_instance("timers", {})
    with service.unit_of_work() as session:
        deadline = session.scalars(select(Deadline).where(Deadline.instance_id == township,
                                                          Deadline.status == "open")).one()
    service.clock.set(deadline.remind_at + timedelta(seconds=1))
    result = run_sweep(service, deliveries=services.deliveries)
    assert result.fired == (healthy,) and result.failed == {"timers": (bad,)}
    assert result.deadlines == 1 and result.delivered > 0 and result.errors == {}
    assert service.show_instance(healthy).status == "completed"
    assert "reminder_sent" in [e.kind for e in service.show_instance(township).events]
    with service.unit_of_work() as session:
        kinds = set(session.scalars(select(Notification.kind).where(Notification.instance_id == township)))
    assert "reminder" in kinds                        # dispatched and delivered in the same sweep
    assert _row(service, bad).status == "error"


# --- a failing deadline action; retry -----------------------------------------------------------------------------
@pytest.fixture
def township(sqlite_service):
    """A triaged township consultation (its step 1 deadline open) on SQLite."""
    with sqlite_service.unit_of_work() as session:
        load_demo(session, sqlite_service.clock.now())
    sqlite_service.deploy([CONSULTATION], actor="owner")
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = sqlite_service.start_instance("consultation", scenario.intake(), actor="m001")
    [triage] = sqlite_service.list_tasks(instance_id=instance_id)
    sqlite_service.complete_task(triage.id, scenario.answer("triage", sqlite_service.show_instance(instance_id).data),
                                 "office")
    with sqlite_service.unit_of_work() as session:
        deadline = session.scalars(select(Deadline).where(Deadline.instance_id == instance_id,
                                                          Deadline.status == "open")).one()
    return sqlite_service, instance_id, deadline


def _deadline(engine: Engine, deadline_id: int) -> Deadline:
    with engine.unit_of_work() as session:
        return session.get(Deadline, deadline_id)


def test_a_failing_deadline_action_parks_the_instance_and_retry_delivers_it(township, monkeypatch):
    engine, instance_id, deadline = township
    real = Engine._fire_deadline

    def broken(self, session, deadline_id, now):
        raise RuntimeError("the mail merge fell over")

    monkeypatch.setattr(Engine, "_fire_deadline", broken)
    engine.clock.set(deadline.remind_at + timedelta(seconds=1))
    assert engine.sweep_deadlines() == failures.Swept((), (instance_id,))
    row, parked = _row(engine, instance_id), _deadline(engine, deadline.id)
    assert (row.status, row.error, parked.next_action_at) == ("error", "RuntimeError: the mail merge fell over", None)
    assert engine.sweep_deadlines() == failures.Swept()                    # parked: the sweep leaves it alone
    [listed] = engine.list_errors()
    assert (listed.id, listed.status, listed.error) == (instance_id, "error", "RuntimeError: the mail merge fell over")
    again = engine.retry_instance(instance_id, actor="admin")               # the cause is still there
    assert (again.status, again.error) == ("error", "RuntimeError: the mail merge fell over")
    monkeypatch.setattr(Engine, "_fire_deadline", real)                     # the cause is fixed
    recovered = engine.retry_instance(instance_id, actor="admin")
    assert (recovered.status, recovered.error) == ("running", None) and engine.list_errors() == []
    assert _deadline(engine, deadline.id).reminded_at == engine.clock.now()   # the due reminder went out on retry
    kinds = [e.kind for e in engine.show_instance(instance_id).events]
    assert kinds[kinds.index("instance_error"):] == ["instance_error", "instance_error", "instance_retried",
                                                     "reminder_sent", "service_called"]
    with pytest.raises(InvalidState, match="not in error"):
        engine.retry_instance(instance_id)


def test_retry_runs_from_the_last_good_state_and_stays_in_error_while_the_cause_lasts(sqlite_services, poisoned):
    engine = poisoned(guarded(POISONS["range"], "today() < '2026-03-10'"), "until_tenth")
    instance_id = engine.start_instance("until_tenth", {})
    engine.clock.advance(hours=2)
    assert run_sweep(engine, deliveries=sqlite_services.deliveries).failed == {"timers": (instance_id,)}
    first = _row(engine, instance_id).error
    engine.clock.advance(days=1)
    still = engine.retry_instance(instance_id, "admin")
    assert still.status == "error" and still.error == first and still.element == "poison"
    engine.clock.set(datetime.fromisoformat("2026-03-10T02:00:00+00:00"))    # the cause has gone away
    assert engine.retry_instance(instance_id, "admin").status == "running"
    assert engine.show_instance(instance_id).data["value"] == "fine"
    with engine.unit_of_work() as session:
        retried = session.scalars(select(AuditEvent.kind).where(AuditEvent.instance_id == instance_id)).all()
    assert retried == ["instance_started", "script_error", "script_error", "instance_retried"]


# --- the real `xieshang` executable, as cron would run it ------------------------------------------------------
def _xieshang(*args: str, env: dict) -> subprocess.CompletedProcess:
    executable = Path(sys.executable).with_name("xieshang")
    return subprocess.run([str(executable), *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def test_xieshang_sweep_runs_timers_deadlines_and_deliveries_and_reports_each(township, poisoned, sqlite_url, tmp_path):
    engine, consultation, deadline = township
    poisoned(POISONS["exception"])
    healthy, bad = engine.start_instance("timers", {}), engine.start_instance("poisoned", {})
    env = {**os.environ, "XIESHANG_DATABASE_URL": sqlite_url, "XIESHANG_INSTANCE_PATH": str(tmp_path / "instance"),
           "XIESHANG_REDIS_URL": ""}
    moment = (deadline.remind_at + timedelta(seconds=1)).isoformat()
    swept = _xieshang("sweep", "--now", moment, "--json", env=env)
    assert swept.returncode == 0, swept.stderr
    report = json.loads(swept.stdout)
    assert report["fired"] == [healthy] and report["now"] == moment
    assert report["parts"]["timers"] == {"done": 1, "failed": [bad], "error": None}
    assert report["parts"]["deadlines"] == {"done": 1, "failed": [], "error": None}
    assert report["parts"]["deliveries"]["done"] > 0 and report["parts"]["deliveries"]["error"] is None
    assert "reminder_sent" in [e.kind for e in engine.show_instance(consultation).events]
    listed = _xieshang("errors", "--json", env=env)
    [row] = json.loads(listed.stdout)
    assert (row["id"], row["element"], row["status"]) == (bad, "poison", "error")
    assert "ValueError cannot be stored" in row["error"]
    retried = _xieshang("retry", str(bad), env=env)
    assert retried.returncode == 1 and "仍然出错 (still in error)" in retried.stderr
    assert "Traceback" not in retried.stderr
