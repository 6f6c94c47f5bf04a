"""Benchmark helpers: a plain-SpiffWorkflow baseline, a timing proxy, bulk inbox data and query-plan capture."""

from __future__ import annotations

import itertools
import json
import random
import statistics
import time
import uuid
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import event, func, select, union_all
from sqlalchemy.orm import Session

from domain.consultation import demo_data
from domain.people.accounts import UserView
from domain.people.roles import ROLES
from domain.work import inbox
from engine import clock as clock_mod
from engine.bpmn import runtime
from engine.bpmn.bounds import with_bounded
from engine.clock import FrozenClock
from engine.store import directory, open_counts, queries, task_counts
from engine.store.models import HumanTask
from tests.perf.bulk_load import load_rows, settle, settle_counts
from tests.support.consultation import SCENARIOS, Scenario

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "processes" / "consultation"
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)      # Monday 09:00 Beijing time, as in the test fixtures


def fresh(name: str) -> Scenario:
    """A copy of a scenario with its own counters (they decide revisions and must restart per instance), its 督办时限
    far ahead: the bench's clock runs on across many walks, and a walk reaches the supervisor months after it began."""
    return replace(SCENARIOS[name], counters={}, supervision_deadline="2099-12-31")


def quantiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p95) of samples (seconds) in milliseconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return statistics.median(ordered) * 1e3, p95 * 1e3


# --- baseline: plain SpiffWorkflow, in memory, full JSON save/load around every step ---------------------------------
class _StubServices(TaskDataEnvironment):
    """SpiffWorkflow's default environment; a service task only records that it was asked for (like our outbox)."""

    def call_service(self, context, operation_name=None, operation_params=None, **kwargs):
        return json.dumps({"queued": True, "operator": operation_name})


BASELINE_ENGINE = PythonScriptEngine(environment=_StubServices())
FULL_SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(with_bounded(SPIFF_CONFIG)))


def parse_plain(bundle: Path = BUNDLE):
    """The consultation parsed by SpiffBpmnParser alone (BPMN + every DMN file): (spec, subprocess specs)."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_files(sorted(str(p) for p in bundle.glob("*.bpmn")))
    parser.add_dmn_files(sorted(str(p) for p in bundle.glob("*.dmn")))
    return parser.get_spec("consultation"), parser.get_subprocess_specs("consultation")


def run_baseline(spec, subprocess_specs, scenario: Scenario) -> int:
    """One instance start to end; serialize_json after each advance, deserialize_json before each; returns tasks."""
    clock = FrozenClock(NOW)
    with clock_mod.using(clock):          # the follow-up timer fires when the clock is moved, as in the engine run
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=BASELINE_ENGINE)
        workflow.get_next_task(state=TaskState.READY).set_data(**scenario.intake())
        workflow.do_engine_steps()
        blob, done = FULL_SERIALIZER.serialize_json(workflow), 0
        for _ in range(500):
            workflow = FULL_SERIALIZER.deserialize_json(blob)
            workflow.script_engine = BASELINE_ENGINE
            if workflow.completed:
                return done
            ready = workflow.get_tasks(state=TaskState.READY, manual=True)
            if ready:
                task = ready[0]
                task.set_data(**scenario.answer(task.task_spec.bpmn_id, task.data))
                task.run()
                done += 1
            else:
                due = [TimerEventDefinition.parse_time_or_duration(e.value)
                       for e in workflow.waiting_events() if e.value]
                assert due, "baseline stuck: nothing ready and no timer"
                clock.set(min(due) + timedelta(seconds=1))
                workflow.refresh_timers()
            workflow.do_engine_steps()
            blob = FULL_SERIALIZER.serialize_json(workflow)
    raise AssertionError("baseline did not finish in 500 steps")


# --- engine runtime in memory ----------------------------------------------------------------------------------------
def paused_at(parsed, scenario: str, step: int):
    """The consultation driven in memory (engine runtime, sandbox) until its first ready task of `step` or later."""
    answers, clock = fresh(scenario), FrozenClock(NOW)
    workflow = runtime.new_workflow(parsed, answers.intake())
    runtime.run(workflow, clock)
    for _ in range(100):
        task = runtime.ready_user_tasks(workflow)[0]
        spec_id = task.task_spec.bpmn_id
        if (parsed.elements[spec_id].step or 0) >= step:
            return workflow, spec_id
        data = answers.answer(spec_id, runtime.instance_data(workflow) | task.data)

        def complete(task=task, data=data):
            task.set_data(**data)
            task.run()
        runtime.run(workflow, clock, on_task=complete)
    raise AssertionError(f"never reached step {step}")


# --- engine side: time spent in each service call ------------------------------------------------------------------
class TimedEngine:
    """Wraps an Engine for `run_through_engine`, adding up wall time and calls per service method."""

    TIMED = ("start_instance", "complete_task", "fire_due_timers", "list_tasks", "show_instance")

    def __init__(self, engine):
        self._engine = engine
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def __getattr__(self, name):
        target = getattr(self._engine, name)
        if name not in self.TIMED:
            return target

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return target(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - start
                self.calls[name] += 1
        return timed


# --- inbox data at scale --------------------------------------------------------------------------------------------
# (user task, weight, where its org unit comes from) for ready rows; the roles come from the diagram's lanes.
TASK_MIX = (
    ("triage", 4, "county"), ("record_instruction", 2, "county"),
    ("define_topic", 7, "tier"), ("draft_plan", 6, "tier"), ("summarize_research", 5, "tier"),
    ("hold_meeting", 6, "tier"), ("draft_report", 6, "tier"), ("follow_up_visit", 6, "tier"),
    ("approve_topic", 5, "tier"), ("review_plan", 5, "tier"), ("approve_report", 5, "tier"),
    ("research", 14, "tier"), ("answer_suggestion", 16, "dept"), ("reanswer_suggestion", 4, "dept"),
    ("supervise", 6, "tier"),
)
OTHER_ROLES = ("admin", "process_owner")    # 1 % of rows each: stand-ins for other processes' tasks (8 roles in all)
CLAIMED_SHARE = 0.08                        # unassigned-by-design tasks that someone has claimed
READY_SHARE = 0.10
TASK_COLUMNS = ("id", "instance_id", "task_spec", "name", "step", "lane", "role", "org_unit_code", "tier",
                "assignee", "form", "status", "due_at", "remind_at", "escalate_at", "escalation_level",
                "created_at", "completed_at", "completed_by")
INSTANCE_COLUMNS = ("id", "version_id", "process_id", "status", "state", "revision", "next_timer_at", "step", "tier",
                    "org_unit_code", "started_by", "error", "created_at", "updated_at", "completed_at")


@dataclass
class ScaleInfo:
    """What build_scale wrote and how long it took."""

    instances: int
    tasks: int
    ready: int
    overdue: int
    seconds: float


class _Directory:
    """Org units and holders of (role, org unit) from the demo data, for realistic picks."""

    def __init__(self):
        units = demo_data.org_units()
        self.kind = {u.code: u.kind for u in units}
        self.tier_of = {u.code: u.tier for u in units}
        self.departments = [u.code for u in units if u.kind == "department"]
        self.tier_units = [u.code for u in units if u.kind != "department"]
        self.staffed = [u.code for u in units if u.kind in {"county", "committee", "sector", "township"}]
        self.members = [u.username for u in demo_data.users() if u.username.startswith("m")]
        self.holders: dict[tuple[str, str], list[str]] = defaultdict(list)
        for seed in demo_data.users():
            for role, code in seed.memberships:
                self.holders[(role, code)].append(seed.username)


def _elements(parsed) -> dict[str, tuple]:
    out = {}
    for spec_id, *_ in TASK_MIX:
        info = parsed.elements[spec_id]
        out[spec_id] = (info.name, info.step, info.lane_id, info.role, parsed.form(spec_id)[2])
    return out


def _task_rows(parsed, n_tasks: int, running: int, n_instances: int, seed: int, stamp):
    """Yield human_task rows (tuples in TASK_COLUMNS order; `stamp` turns a naive UTC datetime into its DB value)."""
    rng = random.Random(seed)
    where = _Directory()
    elements = _elements(parsed)
    specs = [spec_id for spec_id, *_ in TASK_MIX]
    cumulative = list(itertools.accumulate(weight for _, weight, _ in TASK_MIX))
    origin = {spec_id: source for spec_id, _, source in TASK_MIX}
    n_ready = round(n_tasks * READY_SHARE)
    now, day = NOW.replace(tzinfo=None), timedelta(days=1)
    for index in range(n_tasks):
        ready = index < n_ready
        spec_id = rng.choices(specs, cum_weights=cumulative)[0]
        name, step, lane, role, form = elements[spec_id]
        source = origin[spec_id]
        if source == "county":
            org = "county"
        elif source == "dept":
            org = rng.choice(where.departments)
        else:
            org = rng.choice(where.staffed if rng.random() < 0.5 else where.tier_units)
        other = rng.random()
        if other < 0.02:
            role, org = OTHER_ROLES[0 if other < 0.01 else 1], rng.choice(where.tier_units)
        assignee = None
        if spec_id == "research":
            assignee = rng.choice(where.members)
        elif rng.random() < CLAIMED_SHARE and where.holders.get((role, org)):
            assignee = rng.choice(where.holders[(role, org)])
        if ready:
            instance_id = rng.randrange(running) + 1
            due = None if rng.random() < 0.02 else now + rng.uniform(-60, 60) * day
            created = (due or now) - rng.uniform(3, 15) * day
            status, completed_at, completed_by = "ready", None, None
        else:
            instance_id = rng.randrange(n_instances) + 1
            due = now - rng.uniform(0, 700) * day
            created = due - rng.uniform(3, 15) * day
            status = "completed" if rng.random() < 0.95 else "cancelled"
            completed_at = stamp(created + rng.uniform(0.1, 20) * day)
            completed_by = assignee or (rng.choice(where.holders.get((role, org)) or where.members)
                                        if status == "completed" else None)
        level = 0
        remind = escalate = None
        if due is not None:
            remind, escalate = stamp(due - day), stamp(due + 3 * day)
            if ready and due < now:
                level = 2 if due + 3 * day < now else 1
            due = stamp(due)
        yield (str(uuid.UUID(int=rng.getrandbits(128), version=4)), instance_id, spec_id, name, step, lane, role, org,
               where.tier_of.get(org) or "county", assignee, form, status, due, remind, escalate, level,
               stamp(created), completed_at, completed_by)


def _instance_rows(version_id: int, n_instances: int, running: int, seed: int, stamp):
    rng = random.Random(seed + 1)
    where = _Directory()
    now, day = NOW.replace(tzinfo=None), timedelta(days=1)
    for index in range(1, n_instances + 1):
        org = rng.choice(where.staffed)
        created = now - rng.uniform(1, 700) * day
        status = "running" if index <= running else ("completed" if rng.random() < 0.9 else "cancelled")
        done = None if status == "running" else created + rng.uniform(20, 120) * day
        yield (index, version_id, "consultation", status, "{}", 1, None, rng.randint(0, 6) if done is None else 6,
               where.tier_of[org], org, rng.choice(where.members), None, stamp(created), stamp(done or now),
               None if done is None else stamp(done))


def _sqlite_stamp(value: datetime) -> str:
    """A naive UTC datetime as SQLAlchemy's SQLite DateTime stores it ('YYYY-MM-DD HH:MM:SS.ffffff')."""
    return value.isoformat(" ", "microseconds")


def _same(value: datetime) -> datetime:
    return value


def seeded(url: str):
    """(services, version id, parsed version) on a newly migrated database at `url`: the demo directory loaded and the
    consultation deployed, as every bench database starts. The caller closes the services."""
    from domain.consultation.demo import load_demo
    from domain.services import Services
    from engine.store import db
    from tests.perf.bench import parsed_version

    db.upgrade(url)
    services = Services.from_url(url, FrozenClock(NOW))
    with services.engine.unit_of_work() as session:
        load_demo(session, NOW)
    version_id = services.engine.deploy([BUNDLE], actor="owner").version_id
    return services, version_id, parsed_version(services.engine, version_id)


def _secondary_indexes(cursor, sqlite: bool, table: str) -> list[tuple[str, str]]:
    """(name, CREATE statement) of a table's secondary indexes, exactly as the migration made them."""
    if sqlite:
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                       "AND sql IS NOT NULL ORDER BY name", (table,))
    else:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
                       "(SELECT conname FROM pg_constraint) ORDER BY indexname", (table,))
    return [tuple(row) for row in cursor.fetchall()]


def build_scale(bind, parsed, version_id: int, n_instances: int, n_tasks: int, seed: int = 7) -> ScaleInfo:
    """Bulk-load instances and human tasks in one transaction: raw DB-API executemany (SQLite) or COPY (PostgreSQL).

    The human_task secondary indexes are dropped first and re-created from their own DDL afterwards (a sort per
    index instead of 1M random B-tree inserts each); the schema ends up exactly as the migration left it.
    """
    sqlite = bind.dialect.name == "sqlite"
    running = max(1, n_instances // 2)
    stamp = _sqlite_stamp if sqlite else _same
    start = time.perf_counter()
    dbapi = bind.raw_connection()
    try:
        cursor = dbapi.cursor()
        if sqlite:
            cursor.execute("PRAGMA cache_size = -262144")      # 256 MB page cache for this connection only
        indexes = _secondary_indexes(cursor, sqlite, "human_task")
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
        load_rows(dbapi, sqlite, "process_instance", INSTANCE_COLUMNS,
                  _instance_rows(version_id, n_instances, running, seed, stamp))
        load_rows(dbapi, sqlite, "human_task", TASK_COLUMNS,
                  _task_rows(parsed, n_tasks, running, n_instances, seed, stamp))
        for _, ddl in indexes:
            cursor.execute(ddl)
        if not sqlite:
            cursor.execute("SELECT setval('process_instance_id_seq', %s)", (n_instances,))
        dbapi.commit()
        if not sqlite:
            settle(dbapi)
        assert _secondary_indexes(cursor, sqlite, "human_task") == indexes
        if sqlite:
            cursor.execute("PRAGMA cache_size = -2000")
        cursor.close()
    finally:
        dbapi.close()
    with Session(bind) as session, session.begin():
        open_counts.rebuild(session)        # bulk rows bypass the flush that keeps the board's counts
        task_counts.rebuild(session)        # … and the inbox's
    settle_counts(bind)
    seconds = time.perf_counter() - start
    param = "?" if sqlite else "%s"
    with bind.connect() as conn:
        counts = conn.exec_driver_sql(
            "SELECT (SELECT count(*) FROM process_instance), (SELECT count(*) FROM human_task), "
            "(SELECT count(*) FROM human_task WHERE status = 'ready'), "
            f"(SELECT count(*) FROM human_task WHERE status = 'ready' AND due_at < {param})",
            (stamp(NOW.replace(tzinfo=None)),)).one()
    return ScaleInfo(*counts, seconds=seconds)


# --- query plans ----------------------------------------------------------------------------------------------------
@contextmanager
def capture_plans(bind, needle: str = "human_task"):
    """Collect (statement, plan lines) of every SELECT touching `needle` run on `bind` inside the block."""
    plans: list[tuple[str, list[str]]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if executemany or not statement.lstrip().upper().startswith("SELECT") or needle not in statement:
            return
        if conn.dialect.name == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            lines = [row[3] for row in cursor.fetchall()]
        else:
            cursor.execute("EXPLAIN " + statement, parameters)
            lines = [row[0] for row in cursor.fetchall()]
        plans.append((" ".join(statement.split()), lines))

    event.listen(bind, "before_cursor_execute", before)
    try:
        yield plans
    finally:
        event.remove(bind, "before_cursor_execute", before)


def plan_verdict(lines: list[str]) -> str:
    """A one-line reading of a plan: which human_task indexes it uses, and whether it sorts or scans."""
    text = " | ".join(lines)
    used = sorted({word.strip("(),") for word in text.split() if word.startswith(("ix_human_task", "sqlite_auto"))})
    notes = []
    if "TEMP B-TREE" in text or "Sort" in text:
        notes.append("sorts the matches")
    if ("SCAN human_task" in text and "INDEX" not in text.split("SCAN human_task")[1][:40]) or "Seq Scan" in text:
        notes.append("FULL TABLE SCAN")
    return f"indexes: {', '.join(used) or 'none'}" + (f"; {', '.join(notes)}" if notes else "")


def union_inbox(session, username: str, limit: int = 50) -> tuple[list[str], int]:
    """NOT engine code: the inbox as one UNION ALL branch per membership, to show what a rewrite would cost.

    Returns (ids of the first `limit` tasks in inbox order, number of matching tasks).
    """
    cols = (HumanTask.id, HumanTask.due_at, HumanTask.created_at)
    branches = [select(*cols).where(HumanTask.status == "ready", HumanTask.assignee == username)]
    branches += [select(*cols).where(HumanTask.status == "ready", HumanTask.role == role,
                                     HumanTask.org_unit_code == code, HumanTask.assignee.is_(None))
                 for role, code in sorted(directory.memberships_of(session, username))]
    matches = union_all(*branches).subquery()
    ids = list(session.scalars(select(matches.c.id).order_by(matches.c.due_at.is_(None), matches.c.due_at,
                                                             matches.c.created_at).limit(limit)))
    return ids, session.scalar(select(func.count()).select_from(matches))


# --- what an inbox page runs ----------------------------------------------------------------------------------------
INBOX_USERS = (
    ("member", "m001"), ("member", "m050"), ("organizer, township", "organizer_xunchang"),
    ("organizer, county", "organizer_county"), ("platform lead, committee", "lead_committee_economy"),
    ("department liaison", "liaison_housing"), ("department liaison", "liaison_transport"), ("office", "office"),
)
TOWNSHIP = "township_xunchang"


def overdue_scopes() -> list[tuple[str, list[str] | None]]:
    """Supervisors' scopes: one township with its villages, a committee, the whole county (unfiltered / listed)."""
    codes = [unit.code for unit in demo_data.org_units()]
    return [(f"{TOWNSHIP} + its villages ({sum(c.startswith(TOWNSHIP) for c in codes)} codes)",
             [c for c in codes if c.startswith(TOWNSHIP)]),
            ("committee_economy", ["committee_economy"]),
            ("whole county, org_units=None", None),
            (f"whole county, all {len(codes)} codes listed", codes)]


def inbox_page(session, cache, username: str) -> None:
    """queries.list_tasks(limit=50) plus a count of every match ("50 of N")."""
    queries.list_tasks(session, cache, username, None, ROLES, limit=50)
    session.scalar(select(func.count()).select_from(HumanTask).where(queries.inbox_filter(session, username)))


def web_inbox(session, username: str):
    """engine.inbox.inbox as the web UI calls it (tab 'assigned', 20 per page, counts of all four tabs)."""
    user = UserView(username, username, True, tuple(sorted(directory.memberships_of(session, username))))
    return inbox.inbox(session, user, NOW)


@contextmanager
def statement_times(bind):
    """Collect (statement, seconds in cursor.execute) for every statement run on `bind` inside the block."""
    times: list[tuple[str, float]] = []
    started: list[float] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        started.append(time.perf_counter())

    def after(conn, cursor, statement, parameters, context, executemany):
        times.append((" ".join(statement.split()), time.perf_counter() - started.pop()))

    event.listen(bind, "before_cursor_execute", before)
    event.listen(bind, "after_cursor_execute", after)
    try:
        yield times
    finally:
        event.remove(bind, "before_cursor_execute", before)
        event.remove(bind, "after_cursor_execute", after)


def timed_runs(fn, runs: int) -> list[float]:
    """Seconds per call of `fn`, `runs` times."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def med_ms(fn, runs: int) -> float:
    """The median of `runs` calls of `fn`, in milliseconds."""
    return statistics.median(timed_runs(fn, runs)) * 1e3


def round_robin(engine, items, runs: int, fn) -> dict[str, list[float]]:
    """Time fn(session, arg) `runs` times over all items in turn (one untimed warm-up each); a session per call."""
    samples: dict[str, list[float]] = {key: [] for key, _ in items}
    for index in range(-len(items), max(runs, len(items))):
        key, arg = items[index % len(items)]
        with engine.unit_of_work() as session:
            start = time.perf_counter()
            fn(session, arg)
            if index >= 0:
                samples[key].append(time.perf_counter() - start)
    return samples


def pooled(samples: dict[str, list[float]]) -> tuple[float, float]:
    """(p50, p95) in milliseconds over every key's samples together."""
    return quantiles([x for values in samples.values() for x in values])
