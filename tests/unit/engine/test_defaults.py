"""A bare engine's defaults keep it generic: Monday-to-Friday working days, any lane names a role, nobody manages
another person's task; the product's Services give it the county's calendar, rules and policy instead."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.calendar import workdays
from domain.people.policy import TaskPolicy
from domain.people.roles import RULES
from domain.services import DIRECTORY_RULES, Services
from engine import deadlines
from engine.policy import RoleHolders
from engine.service import Engine
from engine.store.directory import PLAIN_RULES
from engine.store.models import HumanTask


def test_the_default_calendar_counts_monday_to_friday():
    friday = datetime(2026, 3, 6, 9, 0, tzinfo=UTC)
    add = deadlines.MONDAY_TO_FRIDAY.add_working_days
    assert add(None, friday, 1) == (datetime(2026, 3, 9, 9, 0, tzinfo=UTC), "working-weekends-only")
    assert add(None, friday, 5)[0] == datetime(2026, 3, 13, 9, 0, tzinfo=UTC)
    assert add(None, datetime(2026, 3, 7, 9, 0, tzinfo=UTC), 0)[0] == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)


def test_the_default_directory_rules_know_any_role_and_inherit_none():
    assert "Lane_0abc" in PLAIN_RULES.roles and None not in PLAIN_RULES.roles
    assert PLAIN_RULES.inherited_roles == frozenset() and dict(PLAIN_RULES.tier_kinds) == {}
    assert "Lane_0abc" not in RULES.roles and RULES.inherited_roles == {"member"}


def test_by_default_nobody_manages_another_persons_task():
    human = HumanTask(id="t", instance_id=1, task_spec="s", name="n", role="office", org_unit_code="county",
                      status="ready")
    assert RoleHolders().is_manager(None, human, "anyone") is False


def test_a_bare_engine_has_the_defaults_and_services_give_it_the_product(sqlite_url, clock):
    services = Services.from_url(sqlite_url, clock)
    try:
        bare = Engine(services.engine.sessions, clock)
        assert bare.calendar is deadlines.MONDAY_TO_FRIDAY and bare.directory_rules is PLAIN_RULES
        assert isinstance(bare.policy, RoleHolders) and bare.on_task_added == ()
        assert bare.escalation_ladder == ("assignee",) * 3
        engine = services.engine
        assert engine.calendar is workdays and engine.directory_rules is DIRECTORY_RULES
        assert DIRECTORY_RULES.roles is RULES.roles
        assert isinstance(engine.policy, TaskPolicy) and services.participation.policy is engine.policy
        assert engine.escalation_ladder == ("assignee", "supervisor", "county_leadership")
        assert not hasattr(engine, "accounts") and not hasattr(engine, "participation")
    finally:
        services.close()
