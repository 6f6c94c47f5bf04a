"""Who a task goes to: a task outside any lane goes to the starter; named people and org units must be in the
directory and may act; a revoked role stops a claimed task."""

from __future__ import annotations

import copy

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from cli.main import cli
from domain.consultation.demo import load_demo
from domain.people.accounts import UserView
from engine.bpmn.specs import STARTER_NOTICE
from engine.errors import InvalidState, PermissionDenied, ValidationFailed
from engine.store import directory
from engine.store.models import HumanTask, User
from tests.conftest import CONSULTATION, DATA
from tests.support.consultation import SCENARIOS
from tests.support.sqlcount import counting

LANELESS = DATA / "laneless"
ADMIN = UserView("admin", "管理员", True, (("admin", "county"),))


@pytest.fixture
def people(service):
    """The engine with demo people, the consultation and the lane-less process deployed."""
    with service.unit_of_work() as session:
        load_demo(session, service.clock.now())
    service.deploy([CONSULTATION], actor="owner")
    service.deploy([LANELESS], actor="owner")
    return service


def _advance_to(engine, instance_id: int, scenario, spec: str):
    """Complete the scenario's tasks until a `spec` task is ready; returns it."""
    for _ in range(30):
        tasks = engine.list_tasks(instance_id=instance_id)
        wanted = [t for t in tasks if t.task_spec == spec]
        if wanted:
            return wanted[0]
        task = tasks[0]
        engine.complete_task(task.id, scenario.answer(task.task_spec, engine.show_instance(instance_id).data),
                             actor=task.candidates[0])
    raise AssertionError(spec)


def _at(engine, name: str, spec: str):
    scenario = copy.deepcopy(SCENARIOS[name])
    instance_id = engine.start_instance("consultation", scenario.intake(), actor="m001")
    return instance_id, _advance_to(engine, instance_id, scenario, spec), scenario


# --- a task outside any lane ------------------------------------------------------------------------

def test_a_task_outside_any_lane_goes_to_the_starter(people):
    instance_id = people.start_instance("laneless", {}, actor="m001")
    [task] = people.list_tasks(instance_id=instance_id)
    assert (task.assignee, task.candidates, task.role, task.to_starter) == ("m001", ("m001",), None, True)
    assert [t.id for t in people.list_tasks(actor="m001")] == [task.id]
    people.complete_task(task.id, {"opinion": "同意"}, "m001")
    assert people.show_instance(instance_id).status == "completed"


def test_nobody_else_completes_a_starter_task_and_no_message_says_none(people):
    instance_id = people.start_instance("laneless", {}, actor="m001")
    [task] = people.list_tasks(instance_id=instance_id)
    with pytest.raises(PermissionDenied) as refused:
        people.complete_task(task.id, {"opinion": "同意"}, "admin")
    assert "m001" in refused.value.message and "None" not in refused.value.message


def test_an_admin_hands_a_starter_task_to_anyone_active(people):
    instance_id = people.start_instance("laneless", {}, actor="m001")
    [task] = people.list_tasks(instance_id=instance_id)
    with pytest.raises(PermissionDenied):
        people.reassign_task(task.id, "office", "m002")           # not theirs, not an admin
    with pytest.raises(InvalidState) as refused:
        people.reassign_task(task.id, "ghost_user_zz", "admin")
    assert "ghost_user_zz" in refused.value.message and "None" not in refused.value.message
    people.reassign_task(task.id, "office", "admin")
    assert people.get_task(task.id).candidates == ("office",)
    people.complete_task(task.id, {"opinion": "同意"}, "office")
    assert people.show_instance(instance_id).status == "completed"


def test_a_starter_task_started_by_nobody_waits_for_an_admin(people):
    instance_id = people.start_instance("laneless", {})             # e.g. started by a tool, with no actor
    [task] = people.list_tasks(instance_id=instance_id)
    assert (task.assignee, task.candidates) == (None, ())
    with pytest.raises(PermissionDenied) as refused:
        people.complete_task(task.id, {"opinion": "同意"}, "admin")
    assert "请管理员转办" in refused.value.message and "None" not in refused.value.message
    people.reassign_task(task.id, "m002", "admin")
    people.complete_task(task.id, {"opinion": "同意"}, "m002")
    assert people.show_instance(instance_id).status == "completed"


def test_validate_notices_each_task_that_goes_to_the_starter(people, tmp_path, monkeypatch):
    assert people.review([LANELESS]) == ([], [people.review([LANELESS])[1][0]])
    [notice] = people.review([LANELESS])[1]
    assert (notice.file, notice.element_id, notice.message) == ("laneless.bpmn", "fill_in", STARTER_NOTICE)
    assert people.validate([LANELESS]) == [] and people.review([CONSULTATION]) == ([], [])
    monkeypatch.setenv("XIESHANG_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    result = CliRunner().invoke(cli, ["validate", str(LANELESS)])
    assert result.exit_code == 0 and "fill_in" in result.stdout and "goes to the person who started" in result.stdout


# --- people named in a form -------------------------------------------------------------------------

def test_research_goes_only_to_members_of_the_instance_unit(services, people):
    instance_id, task, scenario = _at(people, "township", "draft_plan")
    data = scenario.answer("draft_plan", {}) | {"researchers": ["m002", "ghost_user_zz", "admin", "钟诚\n杜英智"]}
    with pytest.raises(ValidationFailed) as refused:
        people.complete_task(task.id, data, task.candidates[0])
    messages = refused.value.field_errors["researchers"]
    assert len(messages) == 4 and "None" not in str(messages)
    m002, admin = (services.accounts.user(u).display_name for u in ("m002", "admin"))   # named as the list shows them
    assert messages[0] == (f"{m002} 不是巡场镇的政协委员，不能被安排此项工作 "
                           f"({m002} is not a member of township_xunchang)")
    assert messages[1].startswith("“ghost_user_zz”不是系统中的有效用户")
    assert f"{admin} 不是巡场镇的政协委员" in messages[2]
    assert messages[3].startswith("“钟诚 杜英智”不是系统中的有效用户")
    assert [t.task_spec for t in people.list_tasks(instance_id=instance_id)] == ["draft_plan"]     # nothing changed
    m002 = services.accounts.user("m002")
    assert services.participation.instances(m002).total == 0           # and m002 may not read the case


def test_county_research_may_go_to_any_county_member_and_committee_research_to_its_members(services, people):
    _, task, scenario = _at(people, "county", "draft_plan")
    offered = dict(services.accounts.eligible("member", "county"))
    assert len(offered) == 229 and "m002" in offered and "admin" not in offered
    people.complete_task(task.id, scenario.answer("draft_plan", {}) | {"researchers": ["m002", "m100"]},
                         task.candidates[0])
    _, task, scenario = _at(people, "committee", "draft_plan")
    with pytest.raises(ValidationFailed) as refused:
        people.complete_task(task.id, scenario.answer("draft_plan", {}) | {"researchers": ["m001"]},
                             task.candidates[0])
    m001 = services.accounts.user("m001").display_name
    assert refused.value.field_errors["researchers"][0].startswith(f"{m001} 不是农业农村委员会的政协委员")
    people.complete_task(task.id, scenario.answer("draft_plan", {}) | {"researchers": ["m003"]}, task.candidates[0])


def test_attendees_must_be_active_people(people):
    _, task, scenario = _at(people, "township", "hold_meeting")
    data = scenario.answer("hold_meeting", {}) | {"attendees": ["m001", "nobody_here"]}
    with pytest.raises(ValidationFailed) as refused:
        people.complete_task(task.id, data, task.candidates[0])
    assert list(refused.value.field_errors) == ["attendees"]
    assert refused.value.field_errors["attendees"][0].startswith("“nobody_here”不是系统中的有效用户")


def test_a_researcher_who_left_before_review_stops_the_approval(services, people):
    instance_id, task, scenario = _at(people, "township", "review_plan")
    services.accounts.update_user(ADMIN, "m014", active=False)          # one of the two researchers
    with pytest.raises(ValidationFailed) as refused:
        people.complete_task(task.id, {"plan_decision": "approve"}, task.candidates[0])
    assert "m014" in refused.value.field_errors["(form)"][0]
    assert [t.task_spec for t in people.list_tasks(instance_id=instance_id)] == ["review_plan"]


# --- org units named in a form ----------------------------------------------------------------------

@pytest.mark.parametrize("tier, org_unit, expected", [
    ("township", "township_nowhere", "没有组织单位“township_nowhere”，请从名单中选择"),
    ("county", "township_xunchang", "巡场镇不能承接县政协·要事会商，请选择县政协"),
    ("township", "committee_economy", "经济委员会不能承接乡镇·众事众商，请选择乡镇"),
    ("committee", "township_xunchang", "巡场镇不能承接专委会/界别·专事专商，请选择专委会或界别小组"),
])
def test_triage_refuses_an_org_unit_that_does_not_exist_or_does_not_fit_the_tier(people, tier, org_unit, expected):
    instance_id, task, _ = _at(people, "township", "triage")
    with pytest.raises(ValidationFailed) as refused:
        people.complete_task(task.id, {"decision": "accept", "tier": tier, "org_unit": org_unit}, "office")
    assert refused.value.field_errors == {"org_unit": [refused.value.field_errors["org_unit"][0]]}
    assert refused.value.field_errors["org_unit"][0].startswith(expected)
    assert [t.task_spec for t in people.list_tasks(instance_id=instance_id)] == ["triage"]
    people.complete_task(task.id, {"decision": "accept", "tier": "committee", "org_unit": "sector_economy"}, "office")
    [task] = people.list_tasks(instance_id=instance_id)              # a sector group hosts the committee tier
    assert (task.task_spec, task.org_unit, task.candidates) == ("define_topic", "sector_economy",
                                                                ("organizer_sector_economy",))




# --- a role taken away ------------------------------------------------------------------------------

def test_a_person_whose_role_was_revoked_cannot_complete_what_they_claimed(services, people):
    instance_id, task, _ = _at(people, "township", "triage")
    people.claim_task(task.id, "office")
    services.accounts.revoke(ADMIN, "office", "office", "county")
    with pytest.raises(PermissionDenied) as refused:
        people.complete_task(task.id, {"decision": "accept", "tier": "township", "org_unit": "township_xunchang"},
                             "office")
    assert refused.value.message.startswith("office 在 county 没有 office 角色") and "None" not in refused.value.message
    with people.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(HumanTask)
                              .where(HumanTask.instance_id == instance_id, HumanTask.status == "ready")) == 1


def test_a_deactivated_researcher_cannot_complete_their_research(services, people):
    _, task, scenario = _at(people, "township", "research")
    services.accounts.update_user(ADMIN, task.assignee, active=False)
    with pytest.raises(PermissionDenied):
        people.complete_task(task.id, scenario.answer("research", {}), task.assignee)


# --- a lane drawn in another modeller (SpiffArena, Camunda) ---------------------------------------------------

def test_a_lane_whose_role_nobody_can_hold_acts_like_no_lane(people):
    people.deploy([DATA / "spiffarena_flat_lanes"], actor="owner")
    instance_id = people.start_instance("field_survey", {}, actor="m001")
    tasks = people.list_tasks(instance_id=instance_id)
    assert {(t.lane, t.role, t.to_starter, t.candidates) for t in tasks} == {("Fieldworker", None, True, ("m001",))}
    prepare = next(t for t in tasks if t.task_spec == "prepare")
    people.reassign_task(prepare.id, "m002", "admin")          # an admin may hand it on, as for a lane-less task
    people.complete_task(prepare.id, {"materials": "议程"}, "m002")
    problems, notices = people.review([DATA / "spiffarena_flat_lanes"])
    assert problems == [] and [n.element_id for n in notices] == ["Lane_0vx3k2a", "Lane_1r8m4pq"]
    assert notices[1].message.startswith("提示：泳道 Reviewer 对应的角色 Lane_1r8m4pq 在名录中不存在")


def test_a_vouched_person_is_taken_as_read_and_only_inside_the_block(people):
    """A caller that read the person in this request vouches for them: no second read; nobody else is vouched for,
    and outside the block the directory is asked again (a deactivated account is inactive there)."""
    bind = people.sessions.kw["bind"]
    with people.unit_of_work() as session:
        session.execute(update(User).where(User.username == "m001").values(active=False))
    with people.reading() as session, counting(bind) as seen:
        with people.vouched("m001", [("member", "committee")]):
            assert directory.is_active(session, "m001")
            assert directory.memberships_of(session, "m001") == {("member", "committee")}
        assert seen.count == 0
        with people.vouched("m001", []):
            assert directory.is_active(session, "m002") and not directory.is_active(session, "ghost")
        assert seen.count == 2
        assert not directory.is_active(session, "m001") and directory.memberships_of(session, "m001") == set()
