"""The case file (卷宗) on task pages, finished tasks and the instance page; the proposer's contact only for those whose
role needs it, on the web and in the API."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import delete

from engine.store.submissions import TaskSubmission
from tests.conftest import DATA
from tests.support.consultation import SCENARIOS, Scenario

PHONE, CONTACT = "13800001234", "张女士"
GOAL, OUTLINE = "摸清照明缺口，提出改造方案", "路灯损坏数量、维护责任、资金来源"


def advance_to(engine, instance_id: int, scenario: Scenario, spec: str, times: int = 1):
    """Complete tasks as the scenario answers them until the `times`-th ready task of `spec`; returns it."""
    seen = 0
    for _ in range(100):
        task = engine.list_tasks(instance_id=instance_id)[0]
        if task.task_spec == spec:
            seen += 1
            if seen == times:
                return task
        data = scenario.answer(task.task_spec, engine.show_instance(instance_id).data)
        engine.complete_task(task.id, data, actor=task.candidates[0], revision=task.revision)
    raise AssertionError(f"never reached {spec}")


def started(engine, scenario: Scenario) -> int:
    return engine.start_instance("consultation", scenario.intake(), actor="m001")


def name_of(services, username: str) -> str:
    return services.accounts.user(username).display_name


def case_of(html: str) -> str:
    """The case file's part of a page."""
    return html.split('class="card casefile"', 1)[1].split("</section>", 1)[0]


def page(login, path: str, user: str) -> str:
    response = login(user).get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_the_platform_leads_approval_page_shows_the_plan_the_organizer_submitted(web_engine, web_services, login):
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = started(web_engine, scenario)
    review = advance_to(web_engine, instance_id, scenario, "review_plan")
    lead = review.candidates[0]
    html = page(login, f"/tasks/{review.id}", lead)
    assert GOAL in html and OUTLINE in html and "珙桐议事厅" in html
    assert all(name_of(web_services, m) in html for m in scenario.researchers)
    assert "老街夜间照明与出行安全" in html and "老街路灯长期损坏，夜间出行不便。" in html   # topic, citizen's text
    assert "2026年4月15日" in html and "城乡建设" in html           # dates formatted, codes as their titles
    assert name_of(web_services, "organizer_xunchang") in html and "2026-03-02 09:00" in html   # who, when (Beijing)
    assert html.count("<details") >= 3 and html.count("<details class=\"case-step\" open") == 1


def test_triage_shows_the_citizens_text_and_the_office_sees_the_contact(web_engine, login):
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = started(web_engine, scenario)
    triage = advance_to(web_engine, instance_id, scenario, "triage")
    html = page(login, f"/tasks/{triage.id}", "office")
    assert "老街路灯长期损坏，夜间出行不便。" in html and PHONE in html and CONTACT in html


def test_a_plan_returned_and_revised_twice_shows_every_round(web_engine, login):
    scenario = Scenario("revised", plan_revisions=2)
    instance_id = started(web_engine, scenario)
    advance_to(web_engine, instance_id, scenario, "review_plan", times=3)
    html = page(login, f"/instances/{instance_id}", "office")
    assert case_of(html).count("请补充群众代表名单。") == 2 and "第 3 次" in html and "第 2 次" in html
    assert case_of(html).count(GOAL) == 3


def test_a_finished_task_shows_what_was_submitted_and_the_done_tab_links_there(web_engine, login):
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = started(web_engine, scenario)
    draft = advance_to(web_engine, instance_id, scenario, "draft_plan")
    advance_to(web_engine, instance_id, scenario, "review_plan")
    client = login("organizer_xunchang")
    done = client.get("/inbox?tab=done").get_data(as_text=True)
    assert f"/tasks/{draft.id}" in done
    html = client.get(f"/tasks/{draft.id}").get_data(as_text=True)
    assert "提交的内容" in html and GOAL in html and OUTLINE in html and 'name="plan_goal"' not in html


@pytest.mark.parametrize("user, sees", [("m014", False), ("office", True), ("organizer_xunchang", True),
                                        ("supervisor_xunchang", True), ("lead_xunchang", False)])
def test_the_proposers_contact_only_for_those_whose_role_needs_it(web_engine, web_services, login, client, user, sees):
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = started(web_engine, scenario)
    research = advance_to(web_engine, instance_id, scenario, "research")     # m014 researches: sees the instance
    html = page(login, f"/instances/{instance_id}", user)
    assert "老街路灯长期损坏，夜间出行不便。" in html
    assert (PHONE in html, CONTACT in html) == (sees, sees)
    assert ("仅对" in html) == (not sees)
    if user == "m014":
        task_html = client.get(f"/tasks/{research.id}").get_data(as_text=True)
        assert OUTLINE in task_html and PHONE not in task_html and CONTACT not in task_html
    token = web_services.accounts.issue_token(user)
    body = client.get(f"/api/v1/instances/{instance_id}", headers={"Authorization": f"Bearer {token}"})
    assert body.status_code == 200
    data = body.get_json()["data"]
    assert ("contact_phone" in data, "contact_name" in data) == (sees, sees)
    assert (PHONE in body.get_data(as_text=True)) == sees and data["description"].startswith("老街路灯")


def test_an_instance_without_recorded_submissions_shows_its_forms_from_the_stored_state(
        web_engine, web_services, login):
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = started(web_engine, scenario)
    advance_to(web_engine, instance_id, scenario, "review_plan")
    with web_engine.unit_of_work() as session:       # as an instance started before migration 0007
        session.execute(delete(TaskSubmission).where(TaskSubmission.instance_id == instance_id))
    html = page(login, f"/instances/{instance_id}", "office")
    assert GOAL in html and OUTLINE in html and PHONE in html and "老街路灯长期损坏" in html
    assert name_of(web_services, "organizer_xunchang") in html
    assert PHONE not in page(login, f"/instances/{instance_id}", "m001")


def test_another_process_has_its_case_file_without_templates(web_engine, login):
    web_engine.deploy([DATA / "suggestion_box"], actor="owner")
    instance_id = web_engine.start_instance(
        "suggestion_box", {"title": "菜市场排水", "description": "雨天积水严重。\n第二行"}, actor="m001")
    [read] = web_engine.list_tasks(instance_id=instance_id)
    web_engine.complete_task(read.id, {"topic": "环境", "suggestions": [
        {"id": 1, "text": "疏通排水沟", "department": "dept_housing"}]}, actor=read.candidates[0])
    html = page(login, f"/instances/{instance_id}", "office")
    assert "菜市场排水" in html and "雨天积水严重。\n第二行" in html and "疏通排水沟" in html
    assert 'class="stack case-table"' in html and "投递" in html and "阅处" in html
    html = page(login, f"/tasks/{read.id}", read.candidates[0])
    assert "提交的内容" in html and "疏通排水沟" in html


def test_a_plain_boolean_and_a_default_count_read_as_words(web_engine, login):
    instance_id = web_engine.start_instance("mini", {"title": "小流程", "count": 3}, actor="m001")
    [review] = web_engine.list_tasks(instance_id=instance_id)
    web_engine.complete_task(review.id, {"approved": True, "comment": "同意"}, actor=review.candidates[0])
    html = page(login, f"/instances/{instance_id}", "admin")
    assert "是否通过</dt><dd>是</dd>" in html and "数量</dt><dd>3</dd>" in html
