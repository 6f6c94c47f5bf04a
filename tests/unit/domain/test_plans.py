"""The annual plan: its lifecycle and who may do what (domain/plans, domain/people/policy.py), and its completion
figures against hand-counted fixtures, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from domain.notifications.models import Notification
from domain.people.audit import AuditEvent
from domain.plans import completion
from domain.plans.models import ConsultationPlan
from domain.plans.service import MAX_ITEMS, ItemInput, PlanDenied, PlanError
from engine.store.models import OutboxMessage
from tests.support import plans_fixture as fx

HALL = "township_xunchang_hall"
TOPIC = ItemInput("老街停车难问题协商", "老街片区停车位不足", "", HALL, "m001", "5")


@pytest.fixture
def plans(services):
    fx.load_directory(services)
    return services


def people(services, *names):
    return [fx.who(services, name) for name in names]


def test_a_township_plan_goes_from_draft_to_approved_and_is_then_closed(plans):
    organizer, office = people(plans, "organizer_xunchang", "office")
    plan_id = plans.plans.open_plan(organizer, 2026, "township_xunchang")
    assert plans.plans.open_plan(organizer, 2026, "township_xunchang") == plan_id      # one per unit and year
    first = plans.plans.add_item(organizer, plan_id, TOPIC)
    second = plans.plans.add_item(organizer, plan_id, ItemInput("学校门口交通安全", "", "", HALL, "", "9"))
    plans.plans.move_item(organizer, second, -1)
    plans.plans.submit(organizer, plan_id)
    with pytest.raises(PlanError, match="已报送"):
        plans.plans.add_item(organizer, plan_id, TOPIC)
    plans.plans.return_plan(office, plan_id, "请补充牵头委员")
    plans.plans.update_item(organizer, second, ItemInput("学校门口交通安全", "", "", HALL, "m002", "9"))
    plans.plans.submit(organizer, plan_id)
    plans.plans.approve(office, plan_id)
    with pytest.raises(PlanError, match="不能再修改"):
        plans.plans.remove_item(organizer, first)
    with plans.engine.reading() as session:
        plan = session.get(ConsultationPlan, plan_id)
        assert (plan.status, plan.tier, plan.approved_by, plan.note) == ("approved", "township", "office", None)
        kinds = session.scalars(select(AuditEvent.kind).where(AuditEvent.kind.like("plan_%"))
                                .order_by(AuditEvent.id)).all()
        told = session.scalars(select(OutboxMessage.params).where(OutboxMessage.instance_id.is_(None))).all()
        state = completion.items(session, 2026, plan_id=plan_id)
    assert kinds == ["plan_created", "plan_submitted", "plan_returned", "plan_submitted", "plan_approved"]
    assert [s.title for s in state] == ["学校门口交通安全", "老街停车难问题协商"]
    assert [s.lead_username for s in state] == ["m002", "m001"]
    assert [t["message"] for t in told] == ["2026 年度协商计划被县政协办公室退回，理由：请补充牵头委员",
                                            "2026 年度协商计划已由县政协办公室批准。"]
    assert all(t["to"] == "organizer@township_xunchang,platform_lead@township_xunchang" for t in told)
    plans.deliveries(plans.engine, fx.NOW)
    with plans.engine.reading() as session:
        notices = session.execute(select(Notification.username, Notification.title, Notification.body)
                                  .order_by(Notification.id)).all()
    assert {n.username for n in notices} == {"organizer_xunchang", "lead_xunchang"}
    assert {n.title for n in notices} == {"【办理结果】2026 年度协商计划"}
    assert any("理由：请补充牵头委员" in n.body for n in notices)


def test_only_the_units_own_people_edit_and_only_the_office_approves(plans):
    own, other, office, member = people(plans, "organizer_xunchang", "organizer_gongquan", "office", "m001")
    with pytest.raises(PlanDenied):
        plans.plans.open_plan(other, 2026, "township_xunchang")
    with pytest.raises(PlanDenied):
        plans.plans.open_plan(member, 2026, "township_xunchang")
    plan_id = plans.plans.open_plan(own, 2026, "township_xunchang")
    with pytest.raises(PlanDenied):
        plans.plans.add_item(other, plan_id, TOPIC)
    plans.plans.add_item(own, plan_id, TOPIC)
    plans.plans.submit(own, plan_id)
    with pytest.raises(PlanDenied, match="县政协办公室"):
        plans.plans.approve(own, plan_id)
    with pytest.raises(PlanError, match="理由"):
        plans.plans.return_plan(office, plan_id, " ")
    assert plans.plans.open_plan(office, 2026, "county")       # the office draws up the county's own


BAD_ITEMS = [
    (ItemInput("", "", "", HALL, "", "5"), "title"),
    (ItemInput("题" * 201, "", "", HALL, "", "5"), "title"),
    (ItemInput("题目", "字" * 2001, "", HALL, "", "5"), "description"),
    (ItemInput("题目", "", "", HALL, "", "13"), "target_month"),
    (ItemInput("题目", "", "", "", "", "5"), "hall_code"),                            # a township names its hall
    (ItemInput("题目", "", "", "township_gongquan_hall", "", "5"), "hall_code"),      # another township's
    (ItemInput("题目", "", "", HALL, "organizer_xunchang", "5"), "lead_username"),    # not a member
    (ItemInput("题目", "", "elsewhere", HALL, "", "5"), "source"),
]


def test_bad_items_are_refused_by_field_all_at_once(plans):
    organizer = fx.who(plans, "organizer_xunchang")
    plan_id = plans.plans.open_plan(organizer, 2026, "township_xunchang")
    for typed, field in BAD_ITEMS:                     # one directory for all: loading it is the test's cost
        with pytest.raises(PlanError) as refused:
            plans.plans.add_item(organizer, plan_id, typed)
        assert (refused.value.field, set(refused.value.errors)) == (field, {field}), typed
    with pytest.raises(PlanError) as refused:
        plans.plans.add_item(organizer, plan_id, ItemInput("", "", "", "", "", ""))
    assert set(refused.value.errors) == {"title", "target_month", "hall_code"}
    with plans.engine.reading() as session:
        assert completion.items(session, 2026, plan_id=plan_id) == []


def test_a_plan_holds_at_most_its_bound_of_items(plans, monkeypatch):
    organizer = fx.who(plans, "organizer_xunchang")
    plan_id = plans.plans.open_plan(organizer, 2026, "township_xunchang")
    monkeypatch.setattr("domain.plans.service.MAX_ITEMS", 2)
    plans.plans.add_item(organizer, plan_id, TOPIC)
    plans.plans.add_item(organizer, plan_id, TOPIC)
    with pytest.raises(PlanError, match="最多 2 个"):
        plans.plans.add_item(organizer, plan_id, TOPIC)
    assert MAX_ITEMS == 200


def _approved(services, unit, organizer, titles, approve=True):
    office, user = people(services, "office", organizer)
    plan_id = services.plans.open_plan(user, 2026, unit)
    hall = f"{unit}_hall" if unit.startswith("township") else ""
    ids = [services.plans.add_item(user, plan_id, ItemInput(t, "", "", hall, "", "3")) for t in titles]
    if approve:
        services.plans.submit(user, plan_id)
        services.plans.approve(office, plan_id)
    return ids


def test_completion_counts_approved_plans_only_by_hand(plans):
    with plans.engine.reading() as session:
        empty = completion.compute(session, 2026)
    assert (empty.total, empty.by_tier, empty.by_unit) == (completion.Completion(), {}, {})
    county = _approved(plans, "county", "organizer_county", ["县城供水", "乡村振兴", "养老服务"])
    xunchang = _approved(plans, "township_xunchang", "organizer_xunchang", ["停车", "路灯"])
    draft = _approved(plans, "township_gongquan", "organizer_gongquan", ["不算"], approve=False)
    with plans.engine.unit_of_work() as session:
        fx.consultation(session, county[0], status="completed", held=True, tier="county", unit="county")
        fx.consultation(session, county[1], held=True, tier="county", unit="county")
        fx.consultation(session, county[2], status="declined", held=False, tier="county", unit="county")
        fx.consultation(session, xunchang[0])
        fx.consultation(session, draft[0], held=True, tier="township", unit="township_gongquan")
    with plans.engine.reading() as session:
        year = completion.compute(session, 2026)
        held = completion.items(session, 2026, tier="county", measure="held")
        township = completion.items(session, 2026, unit="township_xunchang", measure="started")
        only_xunchang = completion.compute(session, 2026, frozenset({"township_xunchang"}))
        other_year = completion.compute(session, 2025)
    assert year.by_tier["county"] == completion.Completion(planned=3, started=2, held=2, completed=1)
    assert year.by_unit[("township", "township_xunchang")] == completion.Completion(2, 1, 0, 0)
    assert ("township", "township_gongquan") not in year.by_unit          # a draft never counts
    assert year.total == completion.Completion(5, 3, 2, 1)
    assert year.by_tier["county"].held_percent == 66.7
    assert [i.title for i in held] == ["县城供水", "乡村振兴"]
    assert [i.title for i in township] == ["停车"]
    assert only_xunchang.total == completion.Completion(2, 1, 0, 0)
    assert other_year.total == completion.Completion()
