"""The sweep without Celery processes: one code path for both run modes, the tasks in eager mode, the Celery
configuration, the CLI guard, and concurrent sweeps firing each timer once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from cli.main import cli
from engine import sweep as engine_sweep
from engine.clock import FrozenClock
from engine.failures import Swept
from engine.settings import Settings
from engine.store.models import AuditEvent
from tasks import jobs, scheduler
from tasks.celery_app import create_celery_app
from tests.conftest import DATA, ROOT, make_service, make_services

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


class RecordingEngine:
    """Stands in for Engine: records what a sweep asks of it, in order."""

    def __init__(self):
        self.clock = FrozenClock(NOW)
        self.calls: list[tuple[str, datetime]] = []

    def sweep_timers(self, now):
        self.calls.append(("timers", now))
        return Swept((7,))

    def sweep_deadlines(self, now):
        self.calls.append(("deadlines", now))
        return Swept((1, 2))


def embedded_celery(tmp_path, services):
    """The Celery app as `xieshang serve` would have it without Redis: every task runs in process."""
    return create_celery_app(Settings(f"sqlite:///{tmp_path / 'x.db'}", None, tmp_path, ROOT / "processes"),
                             services_factory=lambda: services)


class RecordedDeliveries(list):
    """The product's deliveries replaced by a callable that records each call (and "delivers" three messages)."""

    def __call__(self, engine, now):
        self.append(("deliver", now))
        return Swept((11, 12, 13))


@pytest.fixture
def recorded_notify():
    """The deliveries the sweep is given: they record their calls."""
    return RecordedDeliveries()


def test_embedded_mode_and_celery_mode_run_the_same_sweep(tmp_path, recorded_notify):
    assert scheduler.run_sweep is jobs.run_sweep is engine_sweep.run_sweep
    in_thread, in_celery = RecordingEngine(), RecordingEngine()
    assert scheduler.SweepThread(in_thread, deliveries=recorded_notify).run_once() == [7]
    app = embedded_celery(tmp_path, SimpleNamespace(engine=in_celery, deliveries=recorded_notify))
    assert app.conf.task_always_eager
    result = app.tasks["tasks.jobs.sweep"].delay().get()
    assert result == {"now": NOW.isoformat(), "fired": [7], "deadlines": 2, "delivered": 3, "parts": {
        "timers": {"done": 1, "failed": [], "error": None}, "deadlines": {"done": 2, "failed": [], "error": None},
        "deliveries": {"done": 3, "failed": [], "error": None}}}
    assert in_thread.calls == in_celery.calls == [("timers", NOW), ("deadlines", NOW)]
    assert recorded_notify == [("deliver", NOW)] * 2


def test_a_sweep_skips_what_is_not_installed():
    bare = SimpleNamespace(clock=FrozenClock(NOW), sweep_timers=lambda now: Swept(),
                           sweep_deadlines=lambda now: Swept())
    assert engine_sweep.run_sweep(bare) == engine_sweep.SweepResult(NOW, (), 0, 0)    # no deliveries given: skipped


def test_a_broken_deliveries_part_is_reported_not_skipped():
    def broken(engine, now):
        raise ImportError("the notifications package is broken")

    bare = SimpleNamespace(clock=FrozenClock(NOW), sweep_timers=lambda now: Swept(),
                           sweep_deadlines=lambda now: Swept())
    result = engine_sweep.run_sweep(bare, deliveries=broken)
    assert result.errors == {"deliveries": "ImportError: the notifications package is broken"}


@pytest.fixture
def timed_services(sqlite_url):
    """The product's services on SQLite with the one-timer process deployed."""
    services = make_services(sqlite_url, FrozenClock(NOW))
    services.engine.deploy([DATA / "timers"], actor="test")
    yield services
    services.close()


@pytest.fixture
def timed(timed_services):
    """The engine of `timed_services`."""
    return timed_services.engine


def test_both_modes_fire_real_timers_and_fire_instance_fires_only_its_own(tmp_path, timed_services, timed):
    app = embedded_celery(tmp_path, timed_services)
    first = timed.start_instance("timers", {})
    timed.clock.advance(hours=2)
    assert scheduler.SweepThread(timed, deliveries=timed_services.deliveries).run_once() == [first]
    second = timed.start_instance("timers", {})
    timed.clock.advance(hours=2)
    assert app.tasks["tasks.jobs.sweep"].delay().get()["fired"] == [second]
    third, fourth = timed.start_instance("timers", {}), timed.start_instance("timers", {})
    timed.clock.advance(hours=2)
    assert app.tasks["tasks.jobs.fire_instance"].delay(fourth).get() is True
    assert app.tasks["tasks.jobs.fire_instance"].delay(fourth).get() is False      # once
    assert [timed.show_instance(i).status for i in (third, fourth)] == ["waiting", "completed"]
    assert isinstance(app.tasks["tasks.jobs.deliver_outbox"].delay().get(), int)


def test_the_celery_app_is_configured_for_redelivery_and_a_5_second_sweep(tmp_path):
    app = create_celery_app(Settings("sqlite://", "redis://127.0.0.1:1/3", tmp_path, ROOT / "processes"))
    conf = app.conf
    assert (conf.broker_url, conf.result_backend) == ("redis://127.0.0.1:1/3",) * 2
    assert (conf.task_acks_late, conf.task_reject_on_worker_lost, conf.worker_prefetch_multiplier) == (True, True, 1)
    assert 0 < conf.task_soft_time_limit < conf.task_time_limit
    assert not conf.task_always_eager
    assert conf.beat_schedule["sweep"]["task"] == "tasks.jobs.sweep"
    assert conf.beat_schedule["sweep"]["schedule"] == 5.0


@pytest.mark.parametrize("command", ["worker", "beat"])
def test_worker_and_beat_refuse_to_start_without_redis(command, sqlite_url, tmp_path):
    env = {"XIESHANG_DATABASE_URL": sqlite_url, "XIESHANG_REDIS_URL": "", "XIESHANG_INSTANCE_PATH": str(tmp_path)}
    result = CliRunner().invoke(cli, [command], env=env)
    assert result.exit_code == 2
    assert "XIESHANG_REDIS_URL" in result.output and "xieshang serve" in result.output


@pytest.fixture
def engines(db_url):
    """Engines on one database, each with its own connection pool (as separate workers have); disposed after."""
    made = []

    def make(clock: FrozenClock):
        made.append(make_service(db_url, clock))
        return made[-1]

    yield make
    for engine in made:
        engine.sessions.kw["bind"].dispose()


def test_racing_sweeps_fire_each_due_timer_once(engines):
    """Four sweeps at once on one database (PostgreSQL: SKIP LOCKED; SQLite: the write-lock claim)."""
    engine = engines(FrozenClock(NOW))
    engine.deploy([DATA / "timers"], actor="test")
    ids = [engine.start_instance("timers", {}) for _ in range(60)]
    sweeps = [engines(FrozenClock(NOW + timedelta(hours=2))) for _ in range(4)]
    fired: list[list[int]] = [[] for _ in sweeps]
    barrier = threading.Barrier(len(sweeps))

    def run(i):
        barrier.wait()
        fired[i] = sweeps[i].fire_due_timers()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(sweeps))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(i for batch in fired for i in batch) == ids
    with engine.unit_of_work() as session:
        counts = dict(session.execute(select(AuditEvent.instance_id, func.count())
                                      .where(AuditEvent.kind == "timer_fired").group_by(AuditEvent.instance_id)).all())
    assert counts == dict.fromkeys(ids, 1)


# --- failure domains: a crash in one part, one instance or one sweep never stops the others ---------------------
class CrashingTimers(RecordingEngine):
    """The timers part crashes outright (say, a bug in the claim query)."""

    def sweep_timers(self, now):
        self.calls.append(("timers", now))
        raise RuntimeError("claim query broke")


def test_a_crashing_part_is_reported_and_the_next_parts_still_run(recorded_notify):
    engine = CrashingTimers()
    result = engine_sweep.run_sweep(engine, deliveries=recorded_notify)
    assert engine.calls == [("timers", NOW), ("deadlines", NOW)] and recorded_notify == [("deliver", NOW)]
    assert result.errors == {"timers": "RuntimeError: claim query broke"}
    crashed = {"done": 0, "failed": [], "error": "RuntimeError: claim query broke"}
    assert result.as_dict()["parts"] == {"timers": crashed, "deadlines": {"done": 2, "failed": [], "error": None},
                                         "deliveries": {"done": 3, "failed": [], "error": None}}


def test_the_scheduler_thread_survives_any_exception_and_keeps_sweeping(monkeypatch):
    swept = threading.Event()
    calls = []

    def flaky(engine, deliveries=None):
        calls.append(engine)
        if len(calls) == 1:
            raise KeyError("anything at all")
        if len(calls) == 3:
            swept.set()
        return engine_sweep.SweepResult(NOW, (), 0, 0)

    monkeypatch.setattr(scheduler, "run_sweep", flaky)
    thread = scheduler.SweepThread(RecordingEngine(), interval=0.001)
    thread.start()
    try:
        assert swept.wait(timeout=30), "the thread stopped sweeping after the exception"
    finally:
        thread.stop()
        thread.join(timeout=30)
    assert thread.crashes == 1 and thread.sweeps >= 3


def test_celery_sweeps_go_on_beside_a_poison_instance(tmp_path, timed_services, timed):
    from tests.support.poison import POISONS, write_bundle

    timed.deploy([write_bundle(tmp_path / "p", "poisoned", POISONS["generator"])], actor="test")
    app = embedded_celery(tmp_path, timed_services)
    healthy, bad = timed.start_instance("timers", {}), timed.start_instance("poisoned", {})
    timed.clock.advance(hours=2)
    result = app.tasks["tasks.jobs.sweep"].delay().get()
    assert result["fired"] == [healthy] and result["parts"]["timers"]["failed"] == [bad]
    assert [timed.show_instance(i).status for i in (healthy, bad)] == ["completed", "error"]
    later = timed.start_instance("timers", {})
    timed.clock.advance(hours=2)
    assert app.tasks["tasks.jobs.sweep"].delay().get()["fired"] == [later]       # the next sweep is unaffected
