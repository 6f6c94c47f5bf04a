"""Real redis-server, real Celery worker and beat processes: every due timer fires exactly once, across racing
sweeps, several workers and a worker killed with SIGKILL; with the default schedule a timer fires within 10 s."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import redis
from celery import Celery
from sqlalchemy import func, select

from domain.services import Services
from engine.clock import CLOCK_OFFSET_ENV, FrozenClock, SystemClock
from engine.service import Engine
from engine.settings import Settings
from engine.store.models import AuditEvent, OutboxMessage, ProcessInstance
from tasks.celery_app import create_celery_app
from tests.conftest import DATA, ROOT, make_service
from tests.support import redis_server as redis_support
from tests.support.poison import POISONS
from tests.support.poison import write_bundle as write_poison

pytestmark = pytest.mark.celery
redis_server = redis_support.redis_server      # the session's redis-server fixture

TIMERS = DATA / "timers"                       # start → timer PT1H → service task `notify` → end
DUE_AT_ONCE = 500
AHEAD = timedelta(hours=2)                     # the workers' clock: past every PT1H timer started "now"
WITHIN = 120.0                                 # seconds any wait may take before the test fails
_redis_db = itertools.count(1)


@dataclass
class Fleet:
    """Celery processes of one test (each in its own process group) and a client app on the same broker."""

    root: Path
    env: dict[str, str]
    client: Celery
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, command: list[str]) -> subprocess.Popen:
        """Run `command` as process `name` in its own process group, its output in `name`.log."""
        log = (self.root / f"{name}.log").open("wb")
        process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        log.close()
        self.processes[name] = process
        return process

    def _start(self, name: str, *args: str) -> subprocess.Popen:
        return self.start(name, [sys.executable, "-m", "celery", "-A", "tasks.celery_app:app", *args])

    def worker(self, name: str, concurrency: int = 2) -> subprocess.Popen:
        """A prefork worker named `name`."""
        return self._start(name, "worker", "--pool=prefork", f"--concurrency={concurrency}", f"--hostname={name}@%h",
                           "--loglevel=info", "--without-gossip", "--without-mingle", "--without-heartbeat")

    def beat(self) -> subprocess.Popen:
        """Celery beat with the default schedule (sweep every 5 s) and a state file of its own."""
        return self._start("beat", "beat", "--loglevel=info", f"--schedule={self.root / 'beat-schedule'}")

    def wait_for_workers(self, count: int) -> None:
        """Until `count` workers answer a ping (their pools are up, so enqueued sweeps start together)."""
        wait_until(lambda: len(self.client.control.ping(timeout=0.5)) >= count, f"{count} workers up", self)

    def wait_for_a_beat(self) -> None:
        """Until beat has sent a sweep and a worker has run it (its result is in Redis): beat is ticking."""
        backend = redis.Redis.from_url(self.client.conf.result_backend)
        try:
            wait_until(lambda: bool(backend.keys("celery-task-meta-*")), "a sweep sent by beat", self)
        finally:
            backend.close()

    def kill(self, name: str) -> None:
        """SIGKILL a whole worker: its main process and every pool process."""
        process = self.processes[name]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def pool_processes(self, name: str) -> list[int]:
        """The pool (child) processes of a worker."""
        pid = self.processes[name].pid
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]

    def logs(self) -> str:
        """The tail of every process's log, for failure messages."""
        return "\n".join(f"--- {path.name}\n" + path.read_text(errors="replace")[-3000:]
                         for path in sorted(self.root.glob("*.log")))

    def close(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.client.close()


def wait_until(predicate: Callable[[], bool], what: str, fleet: Fleet, within: float = WITHIN) -> None:
    """Poll `predicate` (database or broker state) every 50 ms; fail with the processes' logs after `within` s."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"not reached within {within} s: {what}\n{fleet.logs()}")
        time.sleep(0.05)


@pytest.fixture
def fleet(request, db_url, redis_server, tmp_path) -> Iterator[Fleet]:
    """Env for worker/beat processes on this test's database and a Redis database of its own (no leftovers)."""
    broker = f"redis://127.0.0.1:{redis_server.port}/{next(_redis_db) % 15 + 1}"
    offset = getattr(request, "param", AHEAD)
    env = {**os.environ, "XIESHANG_DATABASE_URL": db_url, "XIESHANG_REDIS_URL": broker,
           "XIESHANG_INSTANCE_PATH": str(tmp_path), CLOCK_OFFSET_ENV: str(offset.total_seconds())}
    client = create_celery_app(Settings(db_url, broker, tmp_path, ROOT / "processes"))
    crew = Fleet(tmp_path, env, client)
    yield crew
    crew.close()


@pytest.fixture
def timers(db_url) -> Iterator[Engine]:
    """The test's own engine (clock frozen at the real now) with the timers process deployed."""
    engine = make_service(db_url, FrozenClock(SystemClock().now()))
    engine.deploy([TIMERS], actor="test")
    yield engine
    engine.sessions.kw["bind"].dispose()


def start_many(engine: Engine, count: int) -> list[int]:
    """`count` instances, each waiting on its one-hour timer."""
    return [engine.start_instance("timers", {}) for _ in range(count)]


def completed(engine: Engine) -> int:
    """How many instances have finished."""
    with engine.unit_of_work() as session:
        return session.scalar(select(func.count()).where(ProcessInstance.status == "completed"))


def per_instance(engine: Engine, column, *where) -> dict[int, int]:
    """instance id → number of rows of `column`'s table matching `where`."""
    with engine.unit_of_work() as session:
        return dict(session.execute(select(column, func.count()).where(*where).group_by(column)).all())


def assert_each_fired_exactly_once(engine: Engine, ids: list[int]) -> None:
    """Every instance completed with one timer_fired event, one service call and one outbox request; no more."""
    with engine.unit_of_work() as session:
        rows = session.execute(select(ProcessInstance.id, ProcessInstance.status, ProcessInstance.next_timer_at)).all()
    assert {row.id: (row.status, row.next_timer_at) for row in rows} == {i: ("completed", None) for i in ids}
    once = dict.fromkeys(ids, 1)
    assert per_instance(engine, AuditEvent.instance_id, AuditEvent.kind == "timer_fired") == once
    assert per_instance(engine, AuditEvent.instance_id, AuditEvent.kind == "service_called") == once
    assert per_instance(engine, AuditEvent.instance_id, AuditEvent.kind == "instance_completed") == once
    assert per_instance(engine, OutboxMessage.instance_id, OutboxMessage.recipient.is_(None)) == once


def test_two_workers_and_beat_fire_500_timers_due_at_once_exactly_once(fleet, timers):
    fleet.worker("a")
    fleet.worker("b")              # they boot while the instances are created; nothing sends a sweep yet
    ids = start_many(timers, DUE_AT_ONCE)
    fleet.wait_for_workers(2)
    fleet.beat()
    racing = [fleet.client.send_task("tasks.jobs.sweep") for _ in range(6)]   # beats racing each other
    wait_until(lambda: completed(timers) == DUE_AT_ONCE, "all 500 instances completed", fleet)
    results = [result.get(timeout=WITHIN) for result in racing]
    fired = [i for result in results for i in result["fired"]]
    assert len(fired) == len(set(fired))                          # no two sweeps fired the same instance
    assert sum(1 for result in results if result["fired"]) >= 2   # the sweeps really did race for the work
    assert_each_fired_exactly_once(timers, ids)


@pytest.mark.parametrize("victim", ["whole-worker", "pool-process"])
def test_a_worker_killed_mid_sweep_leaves_every_timer_fired_exactly_once(fleet, timers, victim):
    fleet.worker("first", concurrency=1)
    ids = start_many(timers, DUE_AT_ONCE)
    fleet.client.send_task("tasks.jobs.sweep")
    wait_until(lambda: completed(timers) >= 25, "the sweep under way", fleet)
    if victim == "whole-worker":
        fleet.kill("first")
    else:
        [pool_process] = fleet.pool_processes("first")
        os.kill(pool_process, signal.SIGKILL)
    done_at_kill = completed(timers)
    assert 25 <= done_at_kill < DUE_AT_ONCE, "the kill must land in the middle of the sweep"
    if victim == "whole-worker":   # its unacked sweep waits for Redis's visibility timeout; the next beat sweeps
        fleet.worker("second", concurrency=1)
        fleet.client.send_task("tasks.jobs.sweep")
    else:     # acks_late + reject_on_worker_lost requeue the sweep; the worker's new pool process redoes it
        assert fleet.processes["first"].poll() is None
    wait_until(lambda: completed(timers) == DUE_AT_ONCE, "every instance completed after the kill", fleet)
    assert_each_fired_exactly_once(timers, ids)


@pytest.mark.parametrize("fleet", [timedelta(hours=1)], indirect=True)   # due (for the workers) once started
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_with_the_default_schedule_a_timer_fires_within_10_s_of_being_due(fleet, db_url, timers):
    fleet.worker("a", concurrency=1)
    fleet.beat()
    fleet.wait_for_a_beat()        # from now on beat ticks every 5 s, whatever its start-up took
    real = Services(timers.sessions, SystemClock()).engine
    ids = start_many(real, 20)
    wait_until(lambda: completed(timers) == len(ids), "the 20 timers fired by beat's sweeps", fleet, within=30)
    with timers.unit_of_work() as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.kind == "timer_fired")))
    lateness = sorted((event.at - datetime.fromisoformat(event.detail["due"])).total_seconds() for event in events)
    assert len(lateness) == len(ids)
    assert lateness[0] > 0 and lateness[-1] <= 10.0, lateness       # beat every SWEEP_INTERVAL s, then the sweep


def test_a_poison_instance_fails_alone_and_the_workers_keep_sweeping(fleet, timers, tmp_path):
    """A script value the state cannot store, among healthy timers: it goes to `error`, everyone else fires, every
    later sweep still succeeds (before, every sweep raised until the poison instance was cancelled)."""
    timers.deploy([write_poison(tmp_path / "poison", "poisoned", POISONS["circular-list"])], actor="test")
    ids = start_many(timers, 10)
    bad = timers.start_instance("poisoned", {})
    ids += start_many(timers, 10)
    with timers.unit_of_work() as session:        # a notice waiting for delivery, due for the workers
        session.add(OutboxMessage(idempotency_key="poison-test:inapp:m001", operator="notify", channel="inapp",
                                  recipient="m001", status="pending", attempts=0, params={"kind": "result"},
                                  created_at=timers.clock.now(), next_attempt_at=timers.clock.now()))
    fleet.worker("a", concurrency=1)
    fleet.wait_for_workers(1)
    first = fleet.client.send_task("tasks.jobs.sweep").get(timeout=WITHIN)
    assert sorted(first["fired"]) == ids and first["parts"]["timers"]["failed"] == [bad]
    assert first["parts"]["deliveries"] == {"done": 1, "failed": [], "error": None}
    with timers.unit_of_work() as session:
        row = session.get(ProcessInstance, bad)
        assert (row.status, row.next_timer_at) == ("error", None) and "circular reference" in row.error
    assert_each_fired_exactly_once_but(timers, ids, bad)
    second = fleet.client.send_task("tasks.jobs.sweep").get(timeout=WITHIN)     # the next sweep runs clean
    assert second["fired"] == [] and all(part["error"] is None and not part["failed"]
                                         for part in second["parts"].values())


def assert_each_fired_exactly_once_but(engine: Engine, ids: list[int], bad: int) -> None:
    """Every healthy instance completed once; the poison one is the only other row, in error."""
    with engine.unit_of_work() as session:
        rows = dict(session.execute(select(ProcessInstance.id, ProcessInstance.status)).all())
    assert rows == {**{i: "completed" for i in ids}, bad: "error"}
    assert per_instance(engine, AuditEvent.instance_id, AuditEvent.kind == "timer_fired") == dict.fromkeys(ids, 1)
