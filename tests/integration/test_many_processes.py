"""Many processes at once, as a deployment runs them: PostgreSQL, Redis, three gunicorn servers of two worker
processes each, two `xieshang worker` Celery processes and one `xieshang beat`. One consultation per tier is
driven through the web, every step submitted to another server than the step before it, the forms fetched and
posted as a browser would; one clock shared through a file moves the whole fleet past follow-up timers and
deadlines. All finish, nothing is left waiting, nothing happens twice."""

from __future__ import annotations

import dataclasses
import http.client
import itertools
import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from domain.consultation.demo import load_demo
from domain.services import Services
from engine.clock import CLOCK_OFFSET_FILE_ENV, FileOffsetClock, SystemClock
from engine.service import Engine
from engine.settings import Settings
from engine.store import db
from engine.store.models import AuditEvent, HumanTask, OutboxMessage, ProcessInstance
from tasks.celery_app import create_celery_app
from tests.conftest import CONSULTATION, ROOT
from tests.integration.test_celery import Fleet, wait_until
from tests.support import redis_server as redis_support
from tests.support.consultation import SCENARIOS
from tests.support.forms import filled_in
from tests.support.pg import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.celery]
redis_server = redis_support.redis_server      # the session's redis-server fixture

BIN = Path(sys.executable).parent              # the venv's console scripts: xieshang, gunicorn
SERVERS = 3                                    # gunicorn servers ...
WEB_WORKERS = 2                                # ... of this many worker processes each
TIERS = ("county", "committee", "township")
PASSWORD = "xieshang-demo"
WITHIN = 120.0                                 # seconds any one wait may take
UNDELIVERED = ("pending", "sending", "failed")  # still to be (re)tried by a worker
RESUBMITS = 5                                  # a 409 (someone changed the consultation first): fetch again, resend


class SharedClock:
    """The fleet's clock: the real time plus the seconds in one file every process reads; only moves forward."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self.reader = FileOffsetClock(path)

    def move_past(self, moment: datetime) -> None:
        """Make it later than `moment` for every process (written aside and renamed: nobody reads half a number)."""
        with self._lock:
            wanted = (moment - SystemClock().now()).total_seconds() + 1
            if wanted > self.reader.offset().total_seconds():
                draft = self.path.with_suffix(".new")
                draft.write_text(str(wanted), encoding="ascii")
                os.replace(draft, self.path)


class Browser:
    """HTTP/1.1 to the gunicorn servers, one signed-in session cookie per person, as a browser keeps it."""

    def __init__(self, ports: list[int]):
        self.ports = ports
        self.cookies: dict[str, SimpleCookie] = {}
        self.signed_in: set[str] = set()
        self._lock = threading.Lock()
        self._sign_in_lock = threading.Lock()

    def request(self, port: int, method: str, path: str, user: str, form: list | None = None):
        """(status, location, body) of one request with `user`'s cookies."""
        with self._lock:
            jar = self.cookies.setdefault(user, SimpleCookie())
            headers = {"Cookie": "; ".join(f"{k}={m.value}" for k, m in jar.items())}
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8")
        finally:
            connection.close()
        with self._lock:
            for header in response.headers.get_all("Set-Cookie") or ():
                jar.load(header)
        return response.status, response.getheader("Location"), text

    def sign_in(self, user: str, port: int) -> None:
        """Sign in once; the signed cookie then works on every server."""
        with self._sign_in_lock:
            if user in self.signed_in:
                return
            status, _, page = self.request(port, "GET", "/login", user)
            assert status == 200, page
            form = [("username", user), ("password", PASSWORD), ("csrf_token", csrf_of(page))]
            status, _, page = self.request(port, "POST", "/login", user, form)
            assert status == 302, f"sign-in as {user} failed: {status}"
            self.signed_in.add(user)


def csrf_of(page: str) -> str:
    """The CSRF token in a rendered page."""
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@dataclasses.dataclass
class Consultation:
    """One instance driven through the web: its scenario, whose turn each server takes, what was submitted."""

    tier: str
    instance_id: int
    turn: Iterator[int]
    submitted: list[tuple[str, str, int]] = dataclasses.field(default_factory=list)   # (task id, spec, port)
    resubmits: int = 0


@pytest.fixture
def deployment(postgres, redis_server, tmp_path) -> Iterator[tuple[Fleet, Browser, Engine, SharedClock]]:
    """A fresh PostgreSQL database with demo people, and the whole fleet on it."""
    url = postgres.create_database("many_processes")
    db.upgrade(url)
    clock = SharedClock(tmp_path / "clock-offset")
    engine = Services.from_settings(Settings(url, None, tmp_path, ROOT / "processes"), clock.reader).engine
    with engine.unit_of_work() as session:
        load_demo(session, engine.clock.now())
    engine.deploy([CONSULTATION], actor="owner")
    broker = f"redis://127.0.0.1:{redis_server.port}/15"
    env = {**os.environ, "XIESHANG_DATABASE_URL": url.replace("postgresql+psycopg://", "postgresql://"),
           "XIESHANG_REDIS_URL": broker, "XIESHANG_INSTANCE_PATH": str(tmp_path / "instance"),
           "XIESHANG_SECRET_KEY": "many-processes-" * 4,       # every server signs with one key
           CLOCK_OFFSET_FILE_ENV: str(clock.path)}
    fleet = Fleet(tmp_path, env, create_celery_app(Settings(url, broker, tmp_path, ROOT / "processes")))
    ports = [free_port() for _ in range(SERVERS)]
    try:
        for index, port in enumerate(ports):      # all start together on one fresh instance folder
            fleet.start(f"web{index}", [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers",
                                        str(WEB_WORKERS), "--threads", "2", "webui.wsgi:app"])
        for name in ("a", "b"):
            fleet.start(f"worker-{name}", [str(BIN / "xieshang"), "worker", "--concurrency", "2",
                                           "--hostname", f"{name}@%h"])
        fleet.start("beat", [str(BIN / "xieshang"), "beat", "--schedule", str(tmp_path / "beat-schedule")])
        browser = Browser(ports)
        for port in ports:
            wait_until(lambda port=port: answers(port), f"gunicorn on {port} serving", fleet, WITHIN)
        fleet.wait_for_workers(2)
        yield fleet, browser, engine, clock
    finally:
        fleet.close()
        engine.sessions.kw["bind"].dispose()


def answers(port: int) -> bool:
    """Whether the server on `port` serves the sign-in page."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/login")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def submit(browser: Browser, item: Consultation, task, actor: str, answer: dict, fleet: Fleet) -> None:
    """Fetch the task page from one server and post the filled-in form to the next; on 409 fetch and post again."""
    fields = filled_in(task.task_spec, answer)
    for _ in range(RESUBMITS):
        turn = next(item.turn)
        fetch_port, post_port = browser.ports[(turn + 1) % SERVERS], browser.ports[turn % SERVERS]
        browser.sign_in(actor, fetch_port)
        status, _, page = browser.request(fetch_port, "GET", f"/tasks/{task.id}", actor)
        assert status == 200, f"{task.task_spec} page: {status}\n{page[-2000:]}"
        assert 'class="card task-form"' in page, f"{actor} may not act on {task.task_spec}"
        page = add_rows(browser, item, task, actor, fields, page)
        revision = re.search(r'name="revision" value="(\d+)"', page).group(1)
        form = [("csrf_token", csrf_of(page)), ("revision", revision), *fields.items(multi=True),
                ("action", "submit")]
        status, location, page = browser.request(post_port, "POST", f"/tasks/{task.id}", actor, form)
        if status == 302:
            assert location.endswith("/inbox"), location
            item.submitted.append((task.id, task.task_spec, post_port))
            return
        assert status == 409, f"{task.task_spec} by {actor}: {status}\n{page[-3000:]}\n{fleet.logs()}"
        item.resubmits += 1
    pytest.fail(f"{task.task_spec} refused {RESUBMITS} times with 409")


def add_rows(browser: Browser, item: Consultation, task, actor: str, fields, page: str) -> str:
    """Press "add row" (each press to the next server) until the page has a field for every row of the answer."""
    for _ in range(10):
        missing = {name for name in fields if f'name="{name}"' not in page}
        lists = sorted({name.rsplit("/", 2)[0] for name in missing if re.fullmatch(r".+/\d+/[^/]+", name)})
        if not lists:
            assert not missing, f"the {task.task_spec} page has no fields {missing}"
            return page
        typed = [(k, v) for k, v in fields.items(multi=True) if f'name="{k}"' in page]
        revision = re.search(r'name="revision" value="(\d+)"', page).group(1)
        form = [("csrf_token", csrf_of(page)), ("revision", revision), *typed, ("_add", lists[0])]
        status, _, page = browser.request(browser.ports[next(item.turn) % SERVERS], "POST", f"/tasks/{task.id}",
                                          actor, form)
        assert status == 200, f"add a row to {lists[0]}: {status}"
    pytest.fail(f"{task.task_spec}: rows could not be added")


def drive(item: Consultation, browser: Browser, engine: Engine, clock: SharedClock, fleet: Fleet) -> None:
    """Complete every task of the consultation through the web, moving the shared clock past each timer."""
    # the walk runs on the real time and its clock passes 2026 (follow-up waits): the plan's meeting date and the
    # 督办时限 lie ahead of it, as neither may be in the past
    scenario = dataclasses.replace(SCENARIOS[item.tier], counters={}, meeting_date="2030-06-28",
                                   supervision_deadline="2030-12-31")
    deadline = time.monotonic() + 10 * WITHIN
    while time.monotonic() < deadline:
        tasks = engine.list_tasks(instance_id=item.instance_id)
        view = engine.show_instance(item.instance_id)
        if tasks:    # parallel branches (one per researcher, per department) are sent together, each to a server
            assert all(task.candidates for task in tasks), f"{item.tier}: nobody may act on {tasks}"
            work = [(task, task.candidates[0], scenario.answer(task.task_spec, view.data)) for task in tasks]
            with ThreadPoolExecutor(len(work)) as pool:
                for future in [pool.submit(submit, browser, item, *job, fleet) for job in work]:
                    future.result()
            continue
        assert view.status not in {"error", "cancelled"}, f"{item.tier}: {view.status} {view.error}"
        if view.status == "completed":
            return
        if view.next_timer_at is not None:    # the follow-up visit's 30-90 days pass for everyone at once
            clock.move_past(view.next_timer_at)
            wait_until(lambda: engine.list_tasks(instance_id=item.instance_id)
                       or engine.show_instance(item.instance_id).status == "completed",
                       f"{item.tier}: the workers fire the timer due {view.next_timer_at}", fleet, WITHIN)
        else:
            last = [(e.kind, e.detail.get("task_spec") or e.detail) for e in view.events[-6:]]
            wait_until(lambda: engine.list_tasks(instance_id=item.instance_id),
                       f"{item.tier}: a next task after step {view.step} ({view.status}); last events: {last}",
                       fleet, WITHIN)
    pytest.fail(f"{item.tier} did not finish")


def rows(engine: Engine, *columns, where=(), group_by=(), having=None) -> list:
    """Plain rows of a query on the test's own connection."""
    query = select(*columns).where(*where)
    if group_by:
        query = query.group_by(*group_by)
    if having is not None:
        query = query.having(having)
    with engine.unit_of_work() as session:
        return [tuple(row) for row in session.execute(query).all()]


def test_one_consultation_per_tier_through_many_web_processes_and_two_workers(deployment):
    fleet, browser, engine, clock = deployment
    started = time.monotonic()
    items = [Consultation(tier, engine.start_instance("consultation", SCENARIOS[tier].intake(), actor="m001"),
                          itertools.count(index)) for index, tier in enumerate(TIERS)]
    with ThreadPoolExecutor(len(items)) as pool:            # the three consultations advance side by side
        for future in [pool.submit(drive, item, browser, engine, clock, fleet) for item in items]:
            future.result()
    ids = [item.instance_id for item in items]
    wait_until(lambda: not rows(engine, OutboxMessage.id, where=[OutboxMessage.status.in_(UNDELIVERED)]),
               "every outbox message delivered by the workers", fleet, WITHIN)
    elapsed = time.monotonic() - started

    assert sorted(rows(engine, ProcessInstance.id, ProcessInstance.status, ProcessInstance.next_timer_at)) == \
        [(i, "completed", None) for i in sorted(ids)]
    assert rows(engine, HumanTask.id, where=[HumanTask.status != "completed"]) == []     # nothing left ready
    for item in items:
        posted = [task_id for task_id, _, _ in item.submitted]
        assert len(posted) == len(set(posted))
        done = rows(engine, HumanTask.id, HumanTask.task_spec, HumanTask.completed_by,
                    where=[HumanTask.instance_id == item.instance_id])
        assert sorted(task_id for task_id, _, _ in done) == sorted(posted)
        assert all(by for _, _, by in done)
        assert {port for _, _, port in item.submitted} == set(browser.ports)
        timers = rows(engine, func.count(), where=[AuditEvent.instance_id == item.instance_id,
                                                   AuditEvent.kind == "timer_fired"])[0][0]
        assert timers == 1                           # the one follow-up wait (30-90 days), fired once
    completed_twice = rows(engine, AuditEvent.task_id, func.count(), where=[AuditEvent.kind == "task_completed"],
                           group_by=[AuditEvent.task_id], having=func.count() > 1)
    assert completed_twice == []
    assert len(rows(engine, AuditEvent.id, where=[AuditEvent.kind == "task_completed"])) == \
        sum(len(item.submitted) for item in items)
    assert rows(engine, OutboxMessage.idempotency_key, func.count(), group_by=[OutboxMessage.idempotency_key],
                having=func.count() > 1) == []
    assert {status for (status,) in rows(engine, OutboxMessage.status)} <= {"sent", "dispatched"}   # none parked
    assert rows(engine, AuditEvent.kind, func.count(), where=[AuditEvent.kind == "instance_completed"],
                group_by=[AuditEvent.kind]) == [("instance_completed", len(ids))]
    print(f"\n{sum(len(i.submitted) for i in items)} steps through {SERVERS}x{WEB_WORKERS} web processes in "
          f"{elapsed:.1f} s; 409 resubmits: {sum(i.resubmits for i in items)}; "
          f"clock moved {clock.reader.offset()}")
