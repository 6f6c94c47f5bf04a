"""Benchmark of the sweep: its cost with 100 due timers among 100,000 waiting instances vs among 1,000 (target
ratio <= 1.5), and timer lateness p50/p95 under load with the default beat schedule (target: within 10 s).

Run from the repository root: `python -m tests.perf.sweep_bench [--quick] [--postgres]`. Prints a report, then one
`name=value` line per figure; those lines end the output.

Method. Waiting instances are bulk-inserted copies of a real instance's row (state included) whose
`next_timer_at` lies 2 to 30 days ahead. Due instances are started through the engine (process
tests/data/timers: timer PT1H, service task `notify`, end) with the clock set an hour before they fall due,
so firing them is the real work: load, run, save, audit, outbox row. The sweep is `engine.sweep.run_sweep`,
the function both run modes call (timers, deadlines, outbox delivery), at a frozen "now".
Lateness: beat ticks every SWEEP_INTERVAL s of simulated time and timers fall due uniformly between ticks; a
timer's lateness is (tick - due) plus the real seconds from the sweep's start until its firing committed. A
sweep longer than the interval delays the next tick (one worker; with more, sweeps share the work).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.metadata import version as package_version

from sqlalchemy import event, insert, text

from domain.notifications.dispatch import run_deliveries
from engine.clock import FrozenClock
from engine.service import Engine
from engine.store import db
from engine.store.models import ProcessInstance
from engine.sweep import run_sweep
from tasks.celery_app import SWEEP_INTERVAL
from tests.conftest import DATA

TARGET_RATIO, TARGET_LATENESS = 1.5, 10.0
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
DUE_PER_SWEEP = 100


class StampedEngine(Engine):
    """An engine that notes when each firing transaction committed (perf_counter seconds)."""

    def __init__(self, url: str):
        super().__init__(db.make_session_factory(db.make_engine(url)), FrozenClock(START))
        self.committed_at: dict[int, float] = {}
        event.listen(self.sessions, "after_commit", self._stamp)

    def _fire(self, session, instance_id, now):
        fired = super()._fire(session, instance_id, now)
        if fired:
            session.info["fired"] = instance_id
        return fired

    def _stamp(self, session) -> None:
        if "fired" in session.info:
            self.committed_at[session.info.pop("fired")] = time.perf_counter()

    def close(self) -> None:
        self.sessions.kw["bind"].dispose()


def open_engine(url: str) -> StampedEngine:
    """A migrated database with the timers process deployed."""
    db.upgrade(url)
    engine = StampedEngine(url)
    engine.deploy([DATA / "timers"], actor="bench")
    return engine


def add_waiting(engine: StampedEngine, count: int, now: datetime, seed: int = 7) -> None:
    """`count` instances whose timers are due 2 to 30 days after `now` (copies of one real row)."""
    engine.clock.set(now)
    template_id = engine.start_instance("timers", {})
    with engine.unit_of_work() as session:
        template = session.get(ProcessInstance, template_id)
        template.next_timer_at = now + timedelta(days=30)
    rng = random.Random(seed)
    base = {"version_id": template.version_id, "process_id": "timers", "status": "waiting", "state": template.state,
            "revision": 1, "created_at": now, "updated_at": now}
    bind = engine.sessions.kw["bind"]
    for start in range(0, count - 1, 10_000):
        rows = [{**base, "next_timer_at": now + timedelta(seconds=rng.uniform(2 * 86400, 30 * 86400))}
                for _ in range(min(10_000, count - 1 - start))]
        with bind.begin() as connection:
            connection.execute(insert(ProcessInstance.__table__), rows)
    with bind.begin() as connection:
        connection.execute(text("ANALYZE"))


def start_due(engine: StampedEngine, due_times: list[datetime]) -> list[int]:
    """One instance per due time, started an hour before it (the timer is PT1H)."""
    ids = []
    for due in due_times:
        engine.clock.set(due - timedelta(hours=1))
        ids.append(engine.start_instance("timers", {}))
    return ids


def sweep_cost(engine: StampedEngine, rounds: int, first: datetime) -> tuple[list[float], list[float]]:
    """Milliseconds of `rounds` sweeps that each find 100 due timers, and of as many sweeps that find none."""
    busy, idle = [], []
    for r in range(rounds):
        now = first + timedelta(minutes=10 * r)
        start_due(engine, [now - timedelta(seconds=1 + i) for i in range(DUE_PER_SWEEP)])
        began = time.perf_counter()
        result = run_sweep(engine, now, run_deliveries)
        busy.append((time.perf_counter() - began) * 1e3)
        assert len(result.fired) == DUE_PER_SWEEP, result
        began = time.perf_counter()
        assert run_sweep(engine, now + timedelta(seconds=1), run_deliveries).fired == ()
        idle.append((time.perf_counter() - began) * 1e3)
    return busy, idle


def lateness(engine: StampedEngine, due_times: list[datetime], first_tick: datetime) -> list[float]:
    """Seconds from due to fired for each timer, with beat ticking every SWEEP_INTERVAL s from `first_tick`."""
    due_of = dict(zip(start_due(engine, due_times), due_times, strict=True))
    late: dict[int, float] = {}
    tick = first_tick
    while len(late) < len(due_of):
        began = time.perf_counter()
        fired = run_sweep(engine, tick, run_deliveries).fired
        took = time.perf_counter() - began
        for instance_id in fired:
            late[instance_id] = (tick - due_of[instance_id]).total_seconds() + engine.committed_at[instance_id] - began
        tick += timedelta(seconds=max(SWEEP_INTERVAL, took))
    return list(late.values())


def pct(samples: list[float], q: int) -> float:
    """The q-th percentile (inclusive method)."""
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


@dataclass(frozen=True)
class Load:
    """How many sweeps to time, and the steady and burst load for lateness."""

    rounds: int
    steady_ticks: int
    steady_per_tick: int
    burst: int


def measure(url_for: Callable[[int], str], label: str, prefix: str, load: Load) -> dict[str, float]:
    """Every figure for one database (`url_for(waiting)` gives an empty database)."""
    rounds, steady_ticks, steady_per_tick, burst = load.rounds, load.steady_ticks, load.steady_per_tick, load.burst
    figures: dict[str, float] = {}
    print(f"\n== {label} ==")
    for waiting in (1_000, 100_000):
        engine = open_engine(url_for(waiting))
        try:
            began = time.perf_counter()
            add_waiting(engine, waiting, START)
            loaded = time.perf_counter() - began
            busy, idle = sweep_cost(engine, rounds, START + timedelta(minutes=5))
            figures[f"{prefix}sweep_100_due_among_{waiting}_ms"] = round(statistics.median(busy), 1)
            figures[f"{prefix}sweep_none_due_among_{waiting}_ms"] = round(statistics.median(idle), 2)
            print(f"  {waiting:>7,} waiting (loaded in {loaded:.1f} s): sweep with 100 due  median "
                  f"{statistics.median(busy):7.1f} ms (min {min(busy):.1f}, max {max(busy):.1f}, {rounds} sweeps); "
                  f"with none due {statistics.median(idle):.2f} ms")
            if waiting == 100_000:
                t0 = START + timedelta(days=1)
                rng = random.Random(11)
                span = steady_ticks * SWEEP_INTERVAL
                steady = lateness(engine, sorted(t0 + timedelta(seconds=rng.uniform(0, span))
                                                 for _ in range(steady_ticks * steady_per_tick)),
                                  t0 + timedelta(seconds=SWEEP_INTERVAL))
                t1 = t0 + timedelta(hours=1)
                spike = lateness(engine, sorted(t1 + timedelta(seconds=rng.uniform(0, SWEEP_INTERVAL))
                                                for _ in range(burst)), t1 + timedelta(seconds=SWEEP_INTERVAL))
                for name, samples, what in (("steady", steady, f"{steady_per_tick} timers due per "
                                             f"{SWEEP_INTERVAL:g} s for {span:g} s"),
                                            ("burst", spike, f"{burst} timers due within one {SWEEP_INTERVAL:g} s "
                                             "interval")):
                    p50, p95 = pct(samples, 50), pct(samples, 95)
                    figures[f"{prefix}lateness_{name}_p50_s"] = round(p50, 2)
                    figures[f"{prefix}lateness_{name}_p95_s"] = round(p95, 2)
                    figures[f"{prefix}lateness_{name}_max_s"] = round(max(samples), 2)
                    print(f"  lateness under load, {what} (100,000 waiting): p50 {p50:.2f} s, p95 {p95:.2f} s, "
                          f"max {max(samples):.2f} s")
        finally:
            engine.close()
    ratio = figures[f"{prefix}sweep_100_due_among_100000_ms"] / figures[f"{prefix}sweep_100_due_among_1000_ms"]
    figures[f"{prefix}sweep_cost_ratio"] = round(ratio, 2)
    figures[f"{prefix}target_ratio_met"] = int(ratio <= TARGET_RATIO)
    figures[f"{prefix}target_lateness_met"] = int(max(figures[f"{prefix}lateness_steady_max_s"],
                                                      figures[f"{prefix}lateness_burst_max_s"]) <= TARGET_LATENESS)
    print(f"  sweep cost ratio 100,000 vs 1,000 waiting: {ratio:.2f} (target <= {TARGET_RATIO})")
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sweeps and a lighter load")
    parser.add_argument("--postgres", action="store_true", help="also measure on PostgreSQL (a throwaway server)")
    args = parser.parse_args(argv)
    load = Load(3, 6, 10, 200) if args.quick else Load(7, 24, 20, 500)
    began = time.perf_counter()
    print(f"xieshang sweep benchmark | python {platform.python_version()} | SQLAlchemy {package_version('SQLAlchemy')}"
          f" | SpiffWorkflow {package_version('SpiffWorkflow')} | cpus={os.cpu_count()} | sweep every "
          f"{SWEEP_INTERVAL:g} s | {'quick' if args.quick else 'full'} run")
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="xieshang-sweep-bench-") as tmp:
        figures |= measure(lambda n: f"sqlite:///{tmp}/sweep-{n}.db", "SQLite (file, WAL)", "", load)
    if args.postgres:
        from tests.support.pg import PostgresServer

        server = PostgresServer()
        server.start()
        try:
            figures |= measure(lambda n: server.create_database(f"sweep{n}"), "PostgreSQL", "pg_", load)
        finally:
            server.stop()
    figures["bench_s"] = round(time.perf_counter() - began, 1)
    print()
    for name, value in figures.items():
        print(f"{name}={value}")


if __name__ == "__main__":
    main()
