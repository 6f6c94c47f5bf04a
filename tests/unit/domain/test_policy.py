"""The one policy module: who sees every instance, who decides extensions and returns tasks, who administers,
who is told as an audience; and the org-unit placement rules every caller of Accounts gets."""

from __future__ import annotations

import pytest

from domain.consultation.demo import load_demo
from domain.people import policy
from domain.people.accounts import CODE_TAKEN, PARENT_BELOW, UserView
from engine.errors import PermissionDenied, ValidationFailed
from engine.store.models import HumanTask


def person(*memberships: tuple[str, str], active: bool = True, username: str = "p") -> UserView:
    """A user holding the given (role, org unit) memberships."""
    return UserView(username, username, active, tuple(memberships))


ADMIN = person(("admin", "county"))
OFFICE = person(("office", "county"))
TOWN_SUPERVISOR = person(("supervisor", "township_xunchang"))
COUNTY_SUPERVISOR = person(("supervisor", "county"))
MEMBER = person(("member", "township_xunchang"))


def test_county_wide_roles_see_everything_and_unit_roles_do_not():
    assert policy.sees_everything(ADMIN) and policy.sees_everything(OFFICE)
    assert policy.sees_everything(COUNTY_SUPERVISOR)
    assert not policy.sees_everything(TOWN_SUPERVISOR) and not policy.sees_everything(MEMBER)
    assert not policy.sees_everything(person(("office", "township_xunchang")))


def test_supervisors_of_the_unit_or_the_county_decide_extensions():
    assert policy.may_decide_extension(TOWN_SUPERVISOR, "township_xunchang")
    assert policy.may_decide_extension(COUNTY_SUPERVISOR, "township_luobiao")
    assert not policy.may_decide_extension(TOWN_SUPERVISOR, "township_luobiao")
    assert not policy.may_decide_extension(ADMIN, "township_xunchang")
    assert not policy.may_decide_extension(MEMBER, "township_xunchang")


def test_only_the_assignee_returns_a_task():
    task = HumanTask(assignee="p")
    assert policy.may_return_task(MEMBER, task)
    assert not policy.may_return_task(person(("member", "township_xunchang"), username="q"), task)
    assert not policy.may_return_task(MEMBER, HumanTask(assignee=None))


def test_admin_rules():
    for rule in (policy.may_administer, policy.may_see_outbox, policy.may_handle_failures,
                 policy.may_hand_roleless_task_to_anyone):
        assert rule(ADMIN) and not rule(OFFICE) and not rule(COUNTY_SUPERVISOR), rule.__name__
    assert not policy.may_administer(None)
    assert policy.may_manage_calendar(ADMIN) and policy.may_manage_calendar(None)     # None: the operator
    assert not policy.may_manage_calendar(person(("admin", "county"), active=False))
    assert not policy.may_manage_calendar(OFFICE)


def test_audiences_name_the_roles_they_reach():
    assert policy.audience("supervisor", "township_xunchang") == (("supervisor", "township_xunchang"),)
    assert policy.audience("county_leadership", "township_xunchang") == (("platform_lead", "county"),
                                                                         ("supervisor", "county"))
    assert policy.audience("organizer", "township_xunchang") is None


@pytest.fixture
def accounts(sqlite_services):
    """Accounts over the demo directory."""
    with sqlite_services.engine.unit_of_work() as session:
        load_demo(session, sqlite_services.engine.clock.now())
    return sqlite_services.accounts


def test_org_unit_placement_is_checked_by_the_service(accounts):
    admin = accounts.user("admin")
    with pytest.raises(ValidationFailed) as taken:
        accounts.save_org_unit(admin, "county", "另一个", "county", None, None, new=True)
    assert taken.value.field_errors == {"code": [CODE_TAKEN]}
    with pytest.raises(ValidationFailed) as below:
        accounts.save_org_unit(admin, "county", "珙县政协", "county", "township_xunchang", "county")
    assert below.value.field_errors == {"parent": [PARENT_BELOW]}
    with pytest.raises(ValidationFailed) as itself:
        accounts.save_org_unit(admin, "dept_new", "新单位", "department", "dept_new", None, new=True)
    assert itself.value.field_errors == {"parent": [PARENT_BELOW]}
    with pytest.raises(PermissionDenied):
        accounts.save_org_unit(accounts.user("office"), "county", "另一个", "county", None, None, new=True)
    saved = accounts.save_org_unit(admin, "dept_new", "新单位", "department", "county", None, new=True)
    assert (saved.code, saved.parent) == ("dept_new", "county")
    assert accounts.save_org_unit(admin, "dept_new", "新单位二", "department", None, None).name == "新单位二"
    assert [u.name for u in accounts.org_units("county")] == ["珙县政协"]


@pytest.mark.parametrize("role", ["supervisor", "platform_lead", "organizer", "office"])
def test_a_units_staff_reach_its_suggestions_but_only_supervisors_watch_its_board(role):
    """The ledger's staff roles and the board's supervisors were one name bound twice: the second binding (the board's
    supervisors) made a township's organizers and leads see none of their township's suggestions."""
    user = UserView(role, role, True, ((role, "township_xunchang"),))
    assert policy.suggestion_reach(user).units == frozenset({"township_xunchang"})
    assert policy.supervised_units(user) == (frozenset({"township_xunchang"}) if role == "supervisor" else frozenset())


def test_only_process_owners_and_admins_reach_the_studio():
    assert policy.may_use_studio(ADMIN) and policy.may_use_studio(person(("process_owner", "county")))
    assert policy.may_use_studio(person(("member", "county"), ("process_owner", "committee_economy")))
    assert not policy.may_use_studio(person(("process_owner", "county"), active=False))
    assert not any(policy.may_use_studio(p) for p in (OFFICE, COUNTY_SUPERVISOR, MEMBER, None))


def test_halls_who_sees_keeps_enters_confirms_and_imports():
    organizer = person(("organizer", "township_xunchang"))
    assert policy.hall_units(OFFICE) is None and policy.hall_units(COUNTY_SUPERVISOR) is None
    assert policy.hall_units(TOWN_SUPERVISOR) == {"township_xunchang"}
    assert policy.may_see_halls(TOWN_SUPERVISOR) and not policy.may_see_halls(MEMBER)
    assert not policy.may_see_halls(None)
    assert policy.may_see_hall(TOWN_SUPERVISOR, "township_xunchang")
    assert not policy.may_see_hall(TOWN_SUPERVISOR, "township_luodu")
    assert policy.may_keep_hall(OFFICE, "township_luodu") and policy.may_keep_hall(organizer, "township_xunchang")
    assert not policy.may_keep_hall(organizer, "township_luodu") and not policy.may_keep_hall(TOWN_SUPERVISOR,
                                                                                             "township_xunchang")
    assert policy.may_enter_standard(organizer, "township_xunchang")
    assert not policy.may_enter_standard(OFFICE, "township_xunchang")          # the office decides, not enters
    assert policy.may_confirm_standard(OFFICE) and not policy.may_confirm_standard(organizer)
    assert not policy.may_confirm_standard(person(("office", "county"), active=False))
    assert policy.import_townships(OFFICE) is None and policy.import_townships(organizer) == {"township_xunchang"}
    assert policy.may_import_halls(organizer) and not policy.may_import_halls(TOWN_SUPERVISOR)
