"""The read side asks a process's hooks: a plain process is listed, searched, notified and shown under its generic
title with no consultation section; the consultation keeps its topic, subject, search and section."""

from __future__ import annotations

import pytest

from domain.consultation import hooks as consultation_hooks
from domain.consultation.demo import load_demo
from domain.consultation.views import ConsultationSection
from domain.notifications import dispatch as notify
from domain.notifications.centre import NotificationCentre
from domain.people.policy import visible_instances
from domain.services import Services
from engine.hooks import HookRegistry, ProcessHooks, plain_title
from engine.service import Engine
from engine.settings import NotificationSettings
from engine.store.queries import overview
from tests.conftest import CONSULTATION, DATA
from tests.support.consultation import SCENARIOS

BOX = DATA / "suggestion_box"
LETTER = {"title": "食堂排队太长", "description": "中午排队要二十分钟，希望多开一个窗口。", "category": "canteen",
          "tier": "floor_3", "org_unit": "canteen_team"}


def _deployed(engine: Engine) -> Engine:
    with engine.unit_of_work() as session:
        load_demo(session, engine.clock.now())
    engine.deploy([BOX], actor="owner")
    engine.deploy([CONSULTATION], actor="owner")
    return engine


@pytest.fixture
def both(services) -> Services:
    """The standard services with the suggestion box (plain) and the consultation deployed."""
    _deployed(services.engine)
    return services


def _letter(engine: Engine) -> tuple[int, str]:
    instance_id = engine.start_instance("suggestion_box", LETTER, actor="m001")
    [task] = engine.list_tasks(instance_id=instance_id)
    return instance_id, task.candidates[0]


def test_a_plain_process_is_listed_under_its_generic_title_not_its_data(both):
    instance_id, reader = _letter(both.engine)
    receipt = consultation_hooks.submit_intake(both.engine, SCENARIOS["township"].intake())
    admin = both.accounts.user("admin")
    titles = {i.id: i.title for i in both.participation.instances(admin).items}
    assert titles[instance_id] == plain_title("意见箱", instance_id) == f"意见箱 #{instance_id}"   # the diagram's name
    assert titles[receipt.instance_id] == "township：老街夜间照明不足"
    assert [i.id for i in both.participation.instances(admin, search="食堂").items] == []     # no guessing from data
    assert [i.id for i in both.participation.instances(admin, search="suggestion_box").items] == [instance_id]
    assert [i.id for i in both.participation.instances(admin, search="意见箱").items] == [instance_id]
    assert [i.id for i in both.participation.instances(admin, search="老街").items] == [receipt.instance_id]
    [item] = both.participation.inbox(both.accounts.user(reader), tab="claimable", search="意见").items
    assert (item.instance_id, item.title) == (instance_id, f"意见箱 #{instance_id}")
    engine = both.engine
    with engine.reading() as session:
        recent = {i.id: i.title for i in overview(session, engine.clock.now(), visible_instances(admin),
                                                  engine.hooks).recent}
    assert recent[instance_id] == f"意见箱 #{instance_id}"


def test_a_plain_process_is_notified_under_its_generic_title(both):
    instance_id, reader = _letter(both.engine)
    notify.deliver_due(both.engine, both.engine.clock.now(), settings=NotificationSettings())
    [notice] = [n for n in NotificationCentre(both.engine).notifications(reader) if n.instance_id == instance_id]
    assert notice.title == f"【新待办】意见箱 #{instance_id}"


def test_a_plain_instance_page_has_no_consultation_section(both):
    instance_id, _ = _letter(both.engine)
    detail = both.participation.instance_detail(instance_id, both.accounts.user("admin"))
    assert (detail.title, detail.section) == (f"意见箱 #{instance_id}", None)
    receipt = consultation_hooks.submit_intake(both.engine, SCENARIOS["township"].intake())
    detail = both.participation.instance_detail(receipt.instance_id, both.accounts.user("admin"))
    assert isinstance(detail.section, ConsultationSection)
    assert (detail.title, detail.section.tracking_code) == ("township：老街夜间照明不足", receipt.tracking_code)


def test_a_process_names_its_instances_through_its_own_hooks(sqlite_url, clock):
    def titles(session, ids):
        return {i: f"意见 {i}" for i in ids}

    registry = HookRegistry(ProcessHooks("suggestion_box", titles=titles, details=lambda session, row: "box part"))
    services = Services.from_url(sqlite_url, clock, hooks=registry)
    engine = _deployed(services.engine)
    instance_id, reader = _letter(engine)
    [item] = services.participation.inbox(services.accounts.user(reader), tab="claimable").items
    detail = services.participation.instance_detail(instance_id, services.accounts.user("admin"))
    assert (item.title, detail.title, detail.section) == (f"意见 {instance_id}", f"意见 {instance_id}", "box part")
    admin = services.accounts.user("admin")
    found = services.participation.instances(admin, search="box").items
    assert [i.id for i in found] == [instance_id]   # no search hook
    notify.deliver_due(engine, engine.clock.now(), settings=NotificationSettings())
    [notice] = NotificationCentre(engine).notifications(reader)
    assert notice.title == f"【新待办】意见 {instance_id}"      # no subjects hook: the title
