"""Who may do what on the pages: every person × every page and task action, on a 巡场镇 consultation whose
department answers are open, with another person's claimed task and another township's instance.

The expectations follow domain/people/policy.py: county-wide roles (admin, office, supervisor, platform lead,
process owner at county level) see every instance; members of an org unit see its instances; people on an
instance's tasks (by assignment, completion or org unit) see it; its starter sees it. Acting on a task needs its
role in its org unit (or being its assignee); releasing and reassigning also suit the unit's supervisor/platform
lead and the county office; returning is for the assignee only.
"""

from __future__ import annotations

import contextlib
import copy
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from domain.consultation.demo import load_demo
from domain.services import Services
from domain.work.models import Comment, TaskDraft, TaskRead
from engine.clock import FrozenClock
from engine.service import Engine
from engine.settings import Settings
from engine.store import db
from engine.store.models import AuditEvent, HumanTask, ProcessInstance
from tests.conftest import CONSULTATION, DATA
from tests.support.consultation import SCENARIOS
from webui import create_app

PEOPLE = (None, "m001", "m050", "office", "organizer_xunchang", "organizer_mutan", "lead_xunchang",
          "liaison_housing", "liaison_water", "supervisor_county", "admin")
# Who may see the 巡场镇 consultation ("here"): its starter and member m001, the county-wide office, supervisor and
# admin, 巡场镇's organizer and platform lead, and the housing liaison (a suggestion went to the department).
NOT_HERE = {"m050", "organizer_mutan", "liaison_water"}
ANSWER = {"adoption": "adopted", "measures": "已列入年度改造计划", "promised_date": "2026-09-30", "action": "submit"}


@dataclass(frozen=True)
class World:
    """A template database with the instances and tasks the matrix is about, and the live database the app uses."""

    template: Path
    live: Path
    clock_at: datetime
    ids: dict


def _drive(engine: Engine, instance_id: int, scenario, until: str) -> None:
    """Complete tasks with the scenario's data until a task `until` is ready."""
    for _ in range(30):
        tasks = engine.list_tasks(instance_id=instance_id)
        if any(t.task_spec == until for t in tasks):
            return
        data = scenario.answer(tasks[0].task_spec, engine.show_instance(instance_id).data)
        engine.complete_task(tasks[0].id, data, actor=tasks[0].candidates[0])
    raise AssertionError(until)


def _copy(source: Path, target: Path) -> None:
    """Copy a SQLite database (WAL mode) consistently."""
    with contextlib.closing(sqlite3.connect(source)) as src, contextlib.closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    folder = tmp_path_factory.mktemp("authz")
    url = f"sqlite:///{folder / 'template.db'}"
    db.upgrade(url)
    clock = FrozenClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    engine = Services.from_url(url, clock).engine
    with engine.unit_of_work() as session:
        load_demo(session, clock.now())
    engine.deploy([CONSULTATION], actor="owner")
    engine.deploy([DATA / "mini"], actor="owner")
    scenario = copy.deepcopy(SCENARIOS["township"])
    here = engine.start_instance("consultation", scenario.intake(), actor="m001")
    _drive(engine, here, scenario, "answer_suggestion")
    answers = {t.org_unit: t.id for t in engine.list_tasks(instance_id=here)}
    engine.claim_task(answers["dept_transport"], "liaison_transport")
    elsewhere = copy.deepcopy(SCENARIOS["township"])
    elsewhere.township = "township_mutan"
    there = engine.start_instance("consultation", elsewhere.intake())
    _drive(engine, there, elsewhere, "define_topic")
    [there_task] = engine.list_tasks(instance_id=there)
    assert there_task.org_unit == "township_mutan" and engine.show_instance(there).org_unit == "township_mutan"
    with engine.unit_of_work() as session:
        done = session.scalar(select(HumanTask.id).where(HumanTask.instance_id == here,
                                                         HumanTask.task_spec == "define_topic"))
    engine.sessions.kw["bind"].dispose()
    ids = {"here": here, "there": there, "task": answers["dept_housing"], "claimed": answers["dept_transport"],
           "done": done, "there_task": there_task.id}
    return World(folder / "template.db", folder / "live.db", clock.now(), ids)


@pytest.fixture(scope="module")
def live(world):
    """One app and engine for the module, on the live database (restored from the template before each cell)."""
    _copy(world.template, world.live)
    clock = FrozenClock(world.clock_at)
    services = Services.from_url(f"sqlite:///{world.live}", clock)
    settings = Settings(f"sqlite:///{world.live}", None, world.live.parent, DATA)
    app = create_app({"SETTINGS": settings, "SERVICES": services, "TESTING": True, "SECRET_KEY": "test"})
    yield app, services.engine
    services.close()


@pytest.fixture
def fresh(world, live):
    """The app on a database just like the template."""
    app, engine = live
    engine.sessions.kw["bind"].dispose()
    _copy(world.template, world.live)
    engine.clock.set(world.clock_at)
    return app, engine


def _client(app, person: str | None):
    """A browser with a session (and its CSRF token), signed in as `person` unless None."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["csrf_token"] = "token"
        if person:
            session["username"] = person
    return client


def _snapshot(engine: Engine) -> tuple:
    """Everything a page action could change."""
    with engine.unit_of_work() as session:
        instances = tuple(session.execute(select(ProcessInstance.id, ProcessInstance.revision, ProcessInstance.status)
                                          .order_by(ProcessInstance.id)))
        tasks = tuple(session.execute(select(HumanTask.id, HumanTask.status, HumanTask.assignee)
                                      .order_by(HumanTask.id)))
        counts = tuple(session.scalar(select(func.count()).select_from(model))
                       for model in (AuditEvent, Comment, TaskRead, TaskDraft))
    return instances, tasks, counts


# Expected status per person, in PEOPLE order: 302 = done/redirected (to sign-in for the anonymous column),
# 200 = shown, 403 = forbidden, 404 = unknown, 409 = the task is not open (or already claimed).
SEE_HERE = (302, 200, 403, 200, 200, 403, 200, 200, 403, 200, 200)
ACT_HERE = tuple(302 if code == 200 else code for code in SEE_HERE)
SEE_THERE = (302, 403, 403, 200, 403, 200, 403, 403, 403, 200, 200)
ACT_THERE = tuple(302 if code == 200 else code for code in SEE_THERE)
EVERYONE = (302,) + (200,) * 10
NOBODY = (302,) + (403,) * 10
ONLY_OFFICE = (302, 403, 403, 302, 403, 403, 403, 403, 403, 403, 403)
NOT_OPEN = tuple(403 if person in NOT_HERE else 409 for person in PEOPLE[1:])
MATRIX = [
    ("GET", "/inbox", None, EVERYONE),
    ("GET", "/instances", None, EVERYONE),
    ("GET", "/overview", None, EVERYONE),
    ("GET", "/admin/users", None, (302,) + (403,) * 9 + (200,)),
    ("GET", "/instances/{here}", None, SEE_HERE),
    ("GET", "/instances/{there}", None, SEE_THERE),
    ("GET", "/instances/99999", None, (302,) + (404,) * 10),
    ("POST", "/instances/{here}/comment", {"body": "请尽快"}, ACT_HERE),
    ("POST", "/instances/{there}/comment", {"body": "请尽快"}, ACT_THERE),
    # the housing department's open answer task (its liaisons may act on it)
    ("GET", "/tasks/{task}", None, SEE_HERE),
    ("POST", "/tasks/{task}", ANSWER, (302, 403, 403, 403, 403, 403, 403, 302, 403, 403, 403)),
    ("POST", "/tasks/{task}/claim", None, (302, 403, 403, 403, 403, 403, 403, 302, 403, 403, 403)),
    ("POST", "/tasks/{task}/release", None, ONLY_OFFICE),
    ("POST", "/tasks/{task}/reassign", {"to": "liaison_housing_2"}, ONLY_OFFICE),
    ("POST", "/tasks/{task}/return", {"reason": "不归我办"}, NOBODY),
    ("POST", "/tasks/{task}/read", None, ACT_HERE),
    ("POST", "/tasks/{task}/comment", {"body": "请尽快"}, ACT_HERE),
    # the transport department's answer task, claimed by liaison_transport: another person's claimed task
    ("GET", "/tasks/{claimed}", None, SEE_HERE),
    ("POST", "/tasks/{claimed}", ANSWER, NOBODY),
    ("POST", "/tasks/{claimed}/claim", None, (302,) + NOT_OPEN),
    ("POST", "/tasks/{claimed}/release", None, ONLY_OFFICE),
    ("POST", "/tasks/{claimed}/reassign", {"to": "liaison_transport_2"}, ONLY_OFFICE),
    ("POST", "/tasks/{claimed}/return", {"reason": "不归我办"}, NOBODY),
    # 巡场镇's define_topic, long completed
    ("GET", "/tasks/{done}", None, SEE_HERE),
    ("POST", "/tasks/{done}", {"topic": "新议题", "action": "submit"}, (302,) + NOT_OPEN),
    ("POST", "/tasks/{done}/claim", None, (302,) + NOT_OPEN),
    ("POST", "/tasks/{done}/release", None, (302,) + NOT_OPEN),
    ("POST", "/tasks/{done}/return", {"reason": "不归我办"}, (302,) + NOT_OPEN),
    # another township's instance: 木滩镇's open define_topic, for its organizer only
    ("GET", "/tasks/{there_task}", None, SEE_THERE),
    ("POST", "/tasks/{there_task}/claim", None, (302, 403, 403, 403, 403, 302, 403, 403, 403, 403, 403)),
    ("POST", "/tasks/{there_task}/return", {"reason": "不归我办"}, NOBODY),
    ("POST", "/tasks/{there_task}/read", None, ACT_THERE),
    ("GET", "/tasks/no-such-task", None, (302,) + (404,) * 10),
    ("POST", "/tasks/no-such-task/claim", None, (302,) + (404,) * 10),
]
# Cells where the app answered differently from the rule above once lived here; the task commands now ask whether
# the person may see the instance before they look at the task's state, so there are none.
WRONG: dict = {}


def _cells():
    for method, path, form, expected in MATRIX:
        assert len(expected) == len(PEOPLE), path
        for person, status in zip(PEOPLE, expected, strict=True):
            reason = WRONG.get((f"{method} {path}", person))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            yield pytest.param(method, path, form, person, status, marks=marks,
                               id=f"{method} {path} {person or 'anonymous'}")


@pytest.mark.parametrize(("method", "path", "form", "person", "expected"), list(_cells()))
def test_authorization_matrix(world, fresh, method, path, form, person, expected):
    app, engine = fresh
    before = _snapshot(engine)
    data = {"csrf_token": "token", **(form or {})} if method == "POST" else None
    response = _client(app, person).open(path.format(**world.ids), method=method, data=data)
    assert response.status_code == expected, response.get_data(as_text=True)[-600:]
    if person is None:
        assert response.headers["Location"].startswith("/login?next=")
    if method == "POST" and person is not None and expected == 302:
        assert _snapshot(engine) != before          # it did something
    else:
        assert _snapshot(engine) == before          # refused, or a page: nothing changed


@pytest.mark.parametrize(("action", "form"), [("", ANSWER), ("/release", {}), ("/return", {"reason": "不归我办"}),
                                              ("/reassign", {"to": "liaison_transport_2"})])
def test_a_claimed_task_is_its_assignees(world, fresh, action, form):
    """The other liaison of the same department may not complete, release, return or reassign it; its assignee may."""
    app, engine = fresh
    url = f"/tasks/{world.ids['claimed']}{action}"
    before = _snapshot(engine)
    response = _client(app, "liaison_transport_2").post(url, data={"csrf_token": "token", **form})
    assert response.status_code == 403 and "403" in response.get_data(as_text=True)
    assert _snapshot(engine) == before
    assert _client(app, "liaison_transport").post(url, data={"csrf_token": "token", **form}).status_code == 302
    assert _snapshot(engine) != before


@pytest.mark.parametrize("person", sorted(NOT_HERE))
def test_the_overview_shows_only_instances_the_person_may_see(world, fresh, person):
    app, _ = fresh
    page = _client(app, person).get("/overview").get_data(as_text=True)
    assert f"/instances/{world.ids['here']}\"" not in page      # (the other township's instance has the same title)
    assert f"#{world.ids['here']}<" not in page

