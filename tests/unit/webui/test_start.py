"""The start page (发起): deployed processes listed, a start form with field errors kept, and a SpiffArena-style flat
bundle (lanes or none) started and run to its end through the pages, as a browser posts them."""

from __future__ import annotations

import copy
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.store.models import User
from tests.conftest import DATA
from tests.support.consultation import SCENARIOS
from tests.unit.webui.conftest import csrf_of

ANSWERS = {"survey": {"report": "走访了 12 户村民"}, "prepare": {"materials": "议程、签到表"}}


def _revision(page: str) -> str:
    return re.search(r'name="revision" value="(\d+)"', page).group(1)


def _open_tasks(client, instance_id: int) -> list[str]:
    """Links to the instance's open tasks, as its page lists them."""
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    return re.findall(r'<tr><td><a href="/tasks/([^"]+)">[^<]+</a></td>\s*<td>待办</td>', page)


def _submit(client, task_id: str, fields: dict) -> None:
    """Open the task page, then post its form with the page's CSRF token and revision."""
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'name="revision"' in page, "the person may not act on the task"
    response = client.post(f"/tasks/{task_id}", data={"csrf_token": csrf_of(page), "revision": _revision(page),
                                                      "action": "submit", **fields})
    assert response.status_code == 302, response.get_data(as_text=True)


def test_the_start_page_lists_the_deployed_processes(login):
    client = login("m001")
    page = client.get("/start").get_data(as_text=True)
    assert 'href="/intake/propose"' in page and 'href="/start/mini"' in page and "有事来协商" in page
    assert 'href="/start/consultation"' not in page       # the consultation starts from its intake pages
    assert 'href="/start"' in client.get("/inbox").get_data(as_text=True)      # in the navigation
    english = client.get("/start?lang=en").get_data(as_text=True)
    assert "Start new" in english


def test_a_start_form_shows_field_errors_beside_the_fields_and_keeps_the_input(login, web_engine):
    client = login("m001")
    page = client.get("/start/mini").get_data(as_text=True)
    assert 'name="title"' in page and 'name="count"' in page
    response = client.post("/start/mini", data={"csrf_token": csrf_of(page), "title": "", "count": "7"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'aria-invalid="true"' in body and 'name="count"' in body and 'value="7"' in body
    assert not web_engine.list_tasks()       # nothing started
    refused = client.post("/start/mini", data={"title": "x"})
    assert refused.status_code in (400, 403)      # no CSRF token: refused


def test_the_consultation_starts_from_the_intake_page_that_fits_the_person(login, client, web_engine):
    """A member is sent to their own topic's form, the office and organizers to the form for residents, anyone else
    to the public's; a post to the generic form starts nothing."""
    for username, page in (("m001", "/intake/propose"), ("office", "/intake/record"),
                           ("organizer_xunchang", "/intake/record"), ("liaison_drc", "/intake")):
        login(username)
        assert client.get("/start/consultation").headers["Location"] == page
        token = csrf_of(client.get("/start").get_data(as_text=True))
        posted = client.post("/start/consultation", data={"csrf_token": token, "title": "路灯坏了很久了",
                                                          "source": "hall"})
        assert posted.status_code == 303 and posted.headers["Location"] == page
    assert not web_engine.list_tasks()


@pytest.mark.parametrize("folder", ["spiffarena_flat", "spiffarena_flat_lanes"])
def test_a_flat_bundle_runs_to_its_end_through_the_pages(login, web_engine, folder):
    web_engine.deploy([DATA / folder], actor="owner")
    client = login("m001")
    page = client.get("/start/field_survey").get_data(as_text=True)
    started = client.post("/start/field_survey", data={"csrf_token": csrf_of(page)})
    assert started.status_code == 302 and "/tasks/" in started.location
    first = client.get(started.location).get_data(as_text=True)
    instance_id = int(re.search(r'href="/instances/(\d+)"', first).group(1))
    tasks = _open_tasks(client, instance_id)
    assert len(tasks) == 3
    names = {t: web_engine.get_task(t).task_spec for t in tasks}
    for task_id in (t for t in tasks if names[t] == "survey"):
        _submit(client, task_id, ANSWERS["survey"])

    clock = web_engine.clock
    clock.set(clock.now() + timedelta(days=1, seconds=1))     # the boundary timer interrupts the preparation
    web_engine.fire_due_timers()
    for approved in ({}, {"approved": "true"}):      # an unticked box posts nothing: not approved, go round again
        [task_id] = _open_tasks(client, instance_id)
        assert web_engine.get_task(task_id).task_spec == "decide"
        _submit(client, task_id, approved)

    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert "已完成" in page and not _open_tasks(client, instance_id)
    data = web_engine.show_instance(instance_id).data
    assert (data["visits"], data["late"], data["reports"]) == (3, True, [ANSWERS["survey"]["report"]] * 2)


def test_the_tasks_of_a_multi_instance_step_say_which_item_each_is_for(client, login, web_engine):
    web_engine.deploy([DATA / "spiffarena_flat"], actor="owner")
    instance_id = web_engine.start_instance("field_survey", {}, actor="m001")
    surveys = [t for t in web_engine.list_tasks(instance_id=instance_id) if t.task_spec == "survey"]
    assert sorted(t.item_label for t in surveys) == ["东村", "西村"]
    login("m001")
    inbox = client.get("/inbox").get_data(as_text=True)
    assert inbox.count('class="muted item-label">东村<') == 1 and inbox.count('class="muted item-label">西村<') == 1
    assert f"村务走访 #{instance_id}</a>" in inbox and f'<span class="muted">#{instance_id}</span>' not in inbox
    page = client.get(f"/tasks/{surveys[0].id}").get_data(as_text=True)
    assert f"· {surveys[0].item_label}</span>" in page


def test_research_tasks_are_labelled_with_the_researchers_names(web_engine):
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = web_engine.start_instance("consultation", scenario.intake(), actor="m001")
    for _ in range(4):      # triage, topic, plan, review: then one research task per researcher
        [task] = web_engine.list_tasks(instance_id=instance_id)
        data = scenario.answer(task.task_spec, web_engine.show_instance(instance_id).data)
        web_engine.complete_task(task.id, data, actor=task.candidates[0])
    with web_engine.unit_of_work() as session:
        names = dict(session.execute(select(User.username, User.display_name)).all())
    labels = sorted(t.item_label for t in web_engine.list_tasks(instance_id=instance_id))
    assert labels == sorted(names[u] for u in scenario.researchers)
