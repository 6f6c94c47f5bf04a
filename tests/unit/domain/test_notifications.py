"""Notifications from the outbox: fan-out per `to` and per-role rules, each new task's assignment notice, in-app
exactly once, claims and leases, backoff and parking, settings from TOML, the decline path's result notice, the CLI."""

from __future__ import annotations

import copy
import dataclasses
import itertools
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from domain.consultation.demo import load_demo
from domain.notifications import dispatch as notify
from domain.notifications.centre import NotificationCentre
from domain.notifications.channels import CHANNELS, Channel, DeliveryFailed, letter_of, register
from domain.notifications.channels.webhook import FORMATS
from domain.notifications.models import Notification
from engine.errors import InvalidState, NotFound
from engine.settings import WEBHOOK_FORMATS, NotificationSettings, Settings
from engine.store import directory
from engine.store.models import HumanTask, OutboxMessage, User
from tests.conftest import CONSULTATION
from tests.support.consultation import SCENARIOS, run_through_engine

PLAIN = NotificationSettings()
_keys = itertools.count(1)


@pytest.fixture
def people(service):
    """Demo people and the consultation, on SQLite and PostgreSQL."""
    with service.unit_of_work() as session:
        load_demo(session, service.clock.now())
    service.deploy([CONSULTATION], actor="owner")
    return service


@pytest.fixture
def lite(sqlite_service):
    """Demo people and the consultation, on SQLite."""
    with sqlite_service.unit_of_work() as session:
        load_demo(session, sqlite_service.clock.now())
    sqlite_service.deploy([CONSULTATION], actor="owner")
    return sqlite_service


def at_define_topic(engine) -> int:
    """A township consultation (started by m001) whose open task is define_topic at township_xunchang."""
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = engine.start_instance("consultation", scenario.intake(), actor="m001")
    [triage] = engine.list_tasks(instance_id=instance_id)
    engine.complete_task(triage.id, scenario.answer("triage", engine.show_instance(instance_id).data), "office")
    return instance_id


def add_request(engine, instance_id: int, **params) -> int:
    """A service task's outbox row, as the engine writes it."""
    with engine.unit_of_work() as session:
        row = OutboxMessage(idempotency_key=f"{instance_id}:svc{next(_keys)}:notify", instance_id=instance_id,
                            task_id="svc", operator="notify", params=params, created_at=engine.clock.now())
        session.add(row)
        session.flush()
        return row.id


def fan_out(engine, message_id: int, settings=PLAIN) -> list[tuple[str, str]]:
    """Dispatch one request; returns the (channel, recipient) pairs created."""
    with engine.unit_of_work() as session:
        created = notify.dispatch(session, session.get(OutboxMessage, message_id), engine.clock.now(), settings,
                                  engine.hooks)
        return sorted((row.channel, row.recipient) for row in created)


def deliveries(engine, message_id: int) -> list[OutboxMessage]:
    with engine.unit_of_work() as session:
        key = session.get(OutboxMessage, message_id).idempotency_key
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.idempotency_key.like(f"{key}:%"))
                                    .order_by(OutboxMessage.id)))


def inapp(*names: str) -> list[tuple[str, str]]:
    return sorted(("inapp", name) for name in names)


# --- fan-out ------------------------------------------------------------------------------------------------------
def test_dispatch_fans_out_to_the_people_each_to_names(people):
    instance_id = at_define_topic(people)
    cases = {"proposer": inapp("m001"), "assignee": inapp("organizer_xunchang"),
             "supervisor": inapp("supervisor_xunchang"), "county_leadership": inapp("lead_county", "supervisor_county"),
             "organizer": inapp("organizer_xunchang"), "office@county": inapp("office", "office2"),
             "user:m014": inapp("m014"), "proposer, supervisor": inapp("m001", "supervisor_xunchang")}
    for to, expected in cases.items():
        assert fan_out(people, add_request(people, instance_id, kind="reminder", to=to)) == expected, to


def test_department_means_the_liaisons_of_the_tasks_department(people):
    instance_id = at_define_topic(people)
    with people.unit_of_work() as session:
        session.add(HumanTask(id="dept-task", instance_id=instance_id, task_spec="answer_suggestion", name="办理答复",
                              step=5, role="department", org_unit_code="dept_housing", status="ready",
                              created_at=people.clock.now()))
    message_id = add_request(people, instance_id, kind="escalation", level=1, to="department", task_id="dept-task")
    assert fan_out(people, message_id) == inapp("liaison_housing", "liaison_housing_2")
    [first, _] = deliveries(people, message_id)
    assert first.task_id == "dept-task"
    assert first.params["title"] == "【逾期督办·一级】township：老街夜间照明不足"
    assert (first.params["kind"], first.params["level"]) == ("escalation", 1)


def test_a_second_dispatch_adds_nothing(people):
    instance_id = at_define_topic(people)
    message_id = add_request(people, instance_id, kind="declined", to="proposer", message="未予受理。")
    assert fan_out(people, message_id) == inapp("m001")
    assert fan_out(people, message_id) == []                      # already dispatched
    with people.unit_of_work() as session:                        # even if it were pending again
        session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(status="pending"))
    assert fan_out(people, message_id) == []
    [row] = deliveries(people, message_id)
    assert row.idempotency_key.endswith(":inapp:m001") and row.params["kind"] == "result"
    assert row.params["body"] == "未予受理。"


def test_kinds_and_levels_from_the_service_tasks_params(lite):
    instance_id = at_define_topic(lite)
    for raw, expected in {"remind": ("reminder", 0), "overdue": ("escalation", 1), "escalate": ("escalation", 2),
                          "completed": ("result", 0), "extension": ("extension", 0)}.items():
        message_id = add_request(lite, instance_id, kind=raw, to="assignee")
        fan_out(lite, message_id)
        [row] = deliveries(lite, message_id)
        assert (row.params["kind"], row.params["level"]) == expected, raw


def test_the_reminder_names_the_task_and_its_due_date(lite):
    instance_id = at_define_topic(lite)
    message_id = add_request(lite, instance_id, kind="reminder", to="assignee")
    fan_out(lite, message_id)
    [row] = deliveries(lite, message_id)
    [task] = lite.list_tasks(instance_id=instance_id)
    assert row.task_id == task.id
    assert row.params["body"] == f"「{task.name}」即将到期，请及时办理。\n办理期限：2026-03-07 09:00"


def test_links_odd_parameters_and_requests_nobody_receives(lite):
    instance_id = at_define_topic(lite)
    [task] = lite.list_tasks(instance_id=instance_id)
    cfg = NotificationSettings.from_mapping({"base_url": "https://xs.example.org/"}, {})
    message_id = add_request(lite, instance_id, kind="overdue", level="high", step="two", to="assignee,supervisor")
    assert fan_out(lite, message_id, cfg) == inapp("organizer_xunchang", "supervisor_xunchang")
    organizer, supervisor = deliveries(lite, message_id)
    assert organizer.params["link"] == f"https://xs.example.org/tasks/{task.id}"            # may act on it
    assert supervisor.params["link"] == f"https://xs.example.org/instances/{instance_id}"   # watches it
    assert (organizer.params["level"], supervisor.task_id) == (1, task.id)
    nobody = add_request(lite, instance_id, kind="result", to="")
    assert fan_out(lite, nobody) == []
    [view] = [v for v in NotificationCentre(lite).outbox() if v.id == nobody]
    assert (view.status, view.last_error) == ("dispatched", "没有接收人 (no recipients for this message)")


def test_rules_choose_channels_per_role(lite):
    instance_id = at_define_topic(lite)
    with lite.unit_of_work() as session:
        session.execute(update(User).where(User.username.in_(["m001", "supervisor_xunchang", "organizer_xunchang"]))
                        .values(email="someone@example.org"))
    cfg = NotificationSettings.from_mapping({
        "smtp": {"host": "127.0.0.1", "port": 2525},
        "rules": {"supervisor": {"email": []}, "organizer": {"inapp": ["assignment"], "email": ["*"]}}}, {})
    assert fan_out(lite, add_request(lite, instance_id, kind="result", to="proposer,supervisor"), cfg) == [
        ("email", "m001"), ("inapp", "m001"), ("inapp", "supervisor_xunchang")]
    assert fan_out(lite, add_request(lite, instance_id, kind="reminder", to="assignee"), cfg) == [
        ("email", "organizer_xunchang")]
    assert fan_out(lite, add_request(lite, instance_id, kind="assignment", to="assignee"), cfg) == [
        ("email", "organizer_xunchang"), ("inapp", "organizer_xunchang")]
    no_smtp = NotificationSettings.from_mapping({"rules": {"default": {"email": ["*"]}}}, {})
    assert fan_out(lite, add_request(lite, instance_id, kind="result", to="proposer"), no_smtp) == inapp("m001")


def test_webhook_targets_by_org_unit_kind_and_level(lite):
    instance_id = at_define_topic(lite)
    cfg = NotificationSettings.from_mapping({"webhooks": [
        {"name": "xunchang", "url": "http://127.0.0.1:9/a", "format": "wecom", "org_units": ["township_xunchang"]},
        {"name": "luodu", "url": "http://127.0.0.1:9/b", "format": "dingtalk", "org_units": ["township_luodu"]},
        {"name": "county-escalations", "url": "http://127.0.0.1:9/c", "kinds": ["escalation"], "min_level": 2},
    ]}, {})
    assert fan_out(lite, add_request(lite, instance_id, kind="reminder", to="assignee"), cfg) == [
        ("inapp", "organizer_xunchang"), ("webhook", "xunchang")]
    assert fan_out(lite, add_request(lite, instance_id, kind="escalate", to="county_leadership"), cfg) == [
        ("inapp", "lead_county"), ("inapp", "supervisor_county"), ("webhook", "county-escalations"),
        ("webhook", "xunchang")]


def test_publish_requests_are_dispatched_without_deliveries(lite):
    instance_id = at_define_topic(lite)
    with lite.unit_of_work() as session:
        session.add(OutboxMessage(idempotency_key=f"{instance_id}:x:publish", instance_id=instance_id, task_id="x",
                                  operator="publish", params={"summary": "报告"}, created_at=lite.clock.now()))
    assert notify.deliver_due(lite, lite.clock.now(), settings=PLAIN) == 1      # define_topic's assignment notice
    rows = NotificationCentre(lite).outbox()
    [publish] = [row for row in rows if row.operator == "publish"]
    assert (publish.status, publish.channel, publish.recipient) == ("dispatched", "dispatch", None)
    assert [row for row in rows if row.idempotency_key.startswith(f"{publish.idempotency_key}:")] == []
    assert [(row.kind, row.channel, row.recipient) for row in rows if row.recipient] == [
        ("assignment", "inapp", "organizer_xunchang")]


def assignment_notices(engine) -> list[tuple[str, str]]:
    """(task spec, person) of every in-app assignment notification, in the order written."""
    with engine.unit_of_work() as session:
        return [tuple(r) for r in session.execute(
            select(HumanTask.task_spec, Notification.username).join(HumanTask, HumanTask.id == Notification.task_id)
            .where(Notification.kind == "assignment").order_by(Notification.id))]


def test_each_new_task_tells_its_assignee_or_else_its_candidates(lite):
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = lite.start_instance("consultation", scenario.intake(), actor="m001")
    [triage] = lite.list_tasks(instance_id=instance_id)
    with lite.unit_of_work() as session:                     # the engine wrote the request with the new task
        [request] = session.scalars(select(OutboxMessage)).all()
        assert (request.idempotency_key, request.instance_id, request.task_id, request.operator, request.channel,
                request.status, request.recipient) == (f"{instance_id}:{triage.id}:assignment", instance_id,
                                                       triage.id, "notify", "dispatch", "pending", None)
        assert request.params == {"kind": "assignment", "to": "assignee", "task_id": triage.id}
    sent = [notify.deliver_due(lite, lite.clock.now(), settings=PLAIN)]
    for expected in ("define_topic", "draft_plan", "review_plan", "research"):   # a worker runs after each step
        task = lite.list_tasks(instance_id=instance_id)[0]
        lite.complete_task(task.id, scenario.answer(task.task_spec, lite.show_instance(instance_id).data),
                           actor=task.candidates[0], revision=task.revision)
        assert lite.list_tasks(instance_id=instance_id)[0].task_spec == expected
        sent.append(notify.deliver_due(lite, lite.clock.now(), settings=PLAIN))
    assert sent == [2, 1, 1, 1, 2]
    assert assignment_notices(lite) == [
        ("triage", "office"), ("triage", "office2"),                 # no assignee: every candidate
        ("define_topic", "organizer_xunchang"), ("draft_plan", "organizer_xunchang"), ("review_plan", "lead_xunchang"),
        ("research", "m001"), ("research", "m014")]                  # assigned: only the assignee, not all 18 members
    research = lite.list_tasks(instance_id=instance_id)
    assert sorted((t.assignee, t.candidates) for t in research) == [("m001", ("m001",)), ("m014", ("m014",))]
    with lite.unit_of_work() as session:
        assert len(directory.holders(session, [("member", "township_xunchang")])[("member", "township_xunchang")]) == 18
    [notice] = NotificationCentre(lite).notifications("lead_xunchang")
    assert (notice.kind, notice.level, notice.instance_id, notice.read) == ("assignment", 0, instance_id, False)
    assert notice.title == "【新待办】township：老街夜间照明不足"
    assert notice.body == "您有一项新的待办：审核协商方案。\n办理期限：2026-03-09 09:00"
    assert notify.deliver_due(lite, lite.clock.now(), settings=PLAIN) == 0      # each notice once
    with lite.unit_of_work() as session:
        requests = session.scalars(select(OutboxMessage).where(OutboxMessage.recipient.is_(None))).all()
        tasks = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)).all()
    assert sorted(r.idempotency_key for r in requests) == sorted(
        [f"{instance_id}:{t.id}:assignment" for t in tasks] + [f"{instance_id}:moment:accepted"])   # + the SMS ask
    assert {r.status for r in requests} == {"dispatched"} and len(tasks) == 6


def test_a_task_done_before_its_notice_is_dispatched_tells_nobody(lite):
    instance_id = at_define_topic(lite)                      # triage was completed before any worker ran
    with lite.unit_of_work() as session:
        triage = session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                        HumanTask.task_spec == "triage"))
        assert triage.status == "completed"
        triage_id = session.scalar(select(OutboxMessage.id).where(
            OutboxMessage.idempotency_key == f"{instance_id}:{triage.id}:assignment"))
    assert notify.deliver_due(lite, lite.clock.now(), settings=PLAIN) == 1      # only define_topic's notice
    [request] = [v for v in NotificationCentre(lite).outbox() if v.id == triage_id]
    assert (request.kind, request.status, request.last_error) == (
        "assignment", "dispatched", "任务已办结，无需通知 (the task is done; nobody is told)")
    assert deliveries(lite, triage_id) == []
    assert assignment_notices(lite) == [("define_topic", "organizer_xunchang")]


# --- a new channel --------------------------------------------------------------------------------------------------
class Pigeon(Channel):
    """A channel only this test knows: it tells every proposer and keeps what it sends."""

    name = "pigeon"
    sent: list = []

    def reach(self, session, people, kind):
        """The proposer, with the loft to fly from."""
        return {p.username: {"loft": "xunchang"} for p in people if p.role == "proposer"}

    def send(self, session, message, now):
        """Keep the letter, or fail when the loft is closed."""
        if message.params.get("loft") == "closed":
            raise DeliveryFailed("鸽舍关闭 (the loft is closed)")
        Pigeon.sent.append((message.recipient, letter_of(message).title))


@pytest.fixture
def pigeon():
    """The Pigeon channel, registered for one test."""
    register(Pigeon)
    Pigeon.sent = []
    yield Pigeon
    del CHANNELS[Pigeon.name]


def test_a_new_channel_is_one_class_and_one_register_line(lite, pigeon):
    instance_id = at_define_topic(lite)
    message_id = add_request(lite, instance_id, kind="result", to="proposer, supervisor")
    assert fan_out(lite, message_id) == sorted(inapp("m001", "supervisor_xunchang") + [("pigeon", "m001")])
    [row] = [r for r in deliveries(lite, message_id) if r.channel == "pigeon"]
    assert row.params["loft"] == "xunchang" and row.idempotency_key.endswith(":pigeon:m001")
    notify.deliver_due(lite, lite.clock.now(), settings=PLAIN)
    assert pigeon.sent == [("m001", row.params["title"])]
    with lite.unit_of_work() as session:
        assert session.get(OutboxMessage, row.id).status == "sent"
        session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id).values(
            status="pending", attempts=0, next_attempt_at=lite.clock.now(), params={**row.params, "loft": "closed"}))
    notify.deliver_due(lite, lite.clock.now(), settings=PLAIN)        # its failures back off like any channel's
    with lite.unit_of_work() as session:
        failed = session.get(OutboxMessage, row.id)
        assert (failed.status, failed.attempts, failed.last_error) == ("failed", 1, "鸽舍关闭 (the loft is closed)")
    assert pigeon.sent == [("m001", row.params["title"])]


def test_every_webhook_format_the_settings_accept_has_a_payload_class():
    assert tuple(FORMATS) == WEBHOOK_FORMATS


# --- delivery -----------------------------------------------------------------------------------------------------
def test_in_app_is_written_exactly_once(people):
    instance_id = at_define_topic(people)
    message_id = add_request(people, instance_id, kind="result", to="proposer", message="已办结。")
    now = people.clock.now()
    assert notify.deliver_due(people, now, settings=PLAIN) == 2           # the result, and define_topic's assignment
    assert notify.deliver_due(people, now, settings=PLAIN) == 0
    [row] = deliveries(people, message_id)
    with people.unit_of_work() as session:                   # delivered again, e.g. after a crash before `sent`
        assert notify.deliver(session, session.get(OutboxMessage, row.id), now, PLAIN) is False
        session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id).values(status="pending",
                                                                                        next_attempt_at=now))
    with people.unit_of_work() as session:
        assert notify.deliver(session, session.get(OutboxMessage, row.id), now, PLAIN) is True
    with people.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Notification).where(
            Notification.idempotency_key == row.idempotency_key)) == 1
        assert sorted(tuple(r) for r in session.execute(select(Notification.username, Notification.kind))) == [
            ("m001", "result"), ("organizer_xunchang", "assignment")]
    centre = NotificationCentre(people)
    [notice] = centre.notifications("m001")
    assert (notice.kind, notice.body, notice.instance_id) == ("result", "已办结。", instance_id)
    assert centre.unread_count("m001") == 1


def test_a_claimed_row_is_not_sent_by_another_worker_until_its_lease_ends(lite):
    instance_id = at_define_topic(lite)
    assert notify.deliver_due(lite, lite.clock.now(), settings=PLAIN) == 1      # define_topic's assignment notice
    message_id = add_request(lite, instance_id, kind="result", to="proposer")
    now = lite.clock.now()
    with lite.unit_of_work() as session:
        notify.dispatch(session, session.get(OutboxMessage, message_id), now, PLAIN, lite.hooks)
    [row] = deliveries(lite, message_id)
    with lite.unit_of_work() as session:          # another worker took it and died while sending
        session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id).values(
            status="sending", attempts=1, next_attempt_at=now + timedelta(seconds=PLAIN.lease_seconds)))
    assert notify.deliver_due(lite, now + timedelta(seconds=60), settings=PLAIN) == 0
    assert NotificationCentre(lite).unread_count("m001") == 0
    assert notify.deliver_due(lite, now + timedelta(seconds=PLAIN.lease_seconds + 1), settings=PLAIN) == 1
    [row] = deliveries(lite, message_id)
    assert (row.status, row.attempts) == ("sent", 2)
    assert NotificationCentre(lite).unread_count("m001") == 1


def test_failures_back_off_exponentially_then_park_and_can_be_retried(people):
    instance_id = at_define_topic(people)
    broken = NotificationSettings.from_mapping({"max_attempts": 4, "backoff_seconds": 60, "backoff_cap_seconds": 200,
                                                "webhooks": [{"name": "gone", "url": "http://127.0.0.1:9/"}]}, {})
    message_id = add_request(people, instance_id, kind="result", to="user:m014")
    fan_out(people, message_id, broken)
    [_, hook] = deliveries(people, message_id)
    missing = dataclasses.replace(broken, webhooks=())    # the target was removed: every send fails, no network
    delays = []
    for _ in range(4):
        with people.unit_of_work() as session:
            row = session.get(OutboxMessage, hook.id)
            due = row.next_attempt_at
            assert notify.deliver(session, row, due - timedelta(seconds=1), missing) is False   # not due yet
            assert notify.deliver(session, row, due, missing) is False
            delays.append(None if row.next_attempt_at is None else (row.next_attempt_at - due).total_seconds())
    with people.unit_of_work() as session:
        row = session.get(OutboxMessage, hook.id)
        assert (row.status, row.attempts, row.channel) == ("parked", 4, "webhook")
        assert row.last_error == "未配置 webhook gone (no such webhook target)"
    assert delays == [60, 120, 200, None]
    centre = NotificationCentre(people)
    assert [m.id for m in centre.outbox("parked")] == [hook.id]
    requeued = centre.retry(hook.id)
    assert (requeued.status, requeued.attempts, requeued.next_attempt_at) == ("pending", 0, people.clock.now())
    with pytest.raises(InvalidState):
        centre.retry(hook.id)
    with pytest.raises(NotFound):
        centre.retry(message_id)                 # a request, not a delivery


def test_the_decline_path_tells_the_proposer(people):
    instance_id, _ = run_through_engine(people, copy.deepcopy(SCENARIOS["declined"]), starter="m001")
    assert notify.deliver_due(people, people.clock.now(), settings=PLAIN) == 1
    [notice] = NotificationCentre(people).notifications("m001")
    assert (notice.kind, notice.level, notice.instance_id, notice.read) == ("result", 0, instance_id, False)
    assert notice.title == "【办理结果】declined：老街夜间照明不足"
    assert notice.body == "您反映的《declined：老街夜间照明不足》未予受理。理由：属于信访事项，已转有关部门依法办理。"


def test_mark_read_touches_only_the_persons_own(lite):
    instance_id = at_define_topic(lite)
    add_request(lite, instance_id, kind="result", to="proposer,user:m014")
    add_request(lite, instance_id, kind="reminder", to="proposer")
    assert notify.deliver_due(lite, lite.clock.now(), settings=PLAIN) == 4     # and define_topic's assignment
    centre = NotificationCentre(lite)
    [assigned] = centre.notifications("organizer_xunchang")
    assert (assigned.kind, assigned.read) == ("assignment", False)
    [m014] = centre.notifications("m014")
    assert centre.mark_read("m001", [m014.id]) == 0
    newest, oldest = centre.notifications("m001")
    assert centre.mark_read("m001", [newest.id]) == 1
    assert (centre.unread_count("m001"), [n.id for n in centre.notifications("m001", unread_only=True)]) == (
        1, [oldest.id])
    assert centre.mark_read("m001") == 1 and centre.unread_count("m001") == 0 and centre.unread_count("m014") == 1
    assert centre.unread_count("organizer_xunchang") == 1


# --- settings -----------------------------------------------------------------------------------------------------
def test_notification_settings_come_from_the_instance_file(tmp_path):
    (tmp_path / "xieshang.toml").write_text('''
[notifications]
max_attempts = 3
base_url = "https://xs.example.org/"
[notifications.smtp]
host = "smtp.example.org"
port = 587
from = "通知 <noreply@example.org>"
user = "noreply"
starttls = true
[notifications.rules.member]
email = ["result"]
[[notifications.webhooks]]
name = "xunchang"
url = "https://oapi.dingtalk.com/robot/send?access_token=t"
format = "dingtalk"
org_units = ["township_xunchang"]
at_mobiles = ["13800001234"]
secret = "SECabc"
''', encoding="utf-8")
    settings = Settings.from_env({"XIESHANG_INSTANCE_PATH": str(tmp_path), "XIESHANG_SMTP_PASSWORD": "pw"})
    cfg = settings.notifications
    assert (cfg.smtp_host, cfg.smtp_port, cfg.smtp_user, cfg.smtp_password, cfg.smtp_starttls) == (
        "smtp.example.org", 587, "noreply", "pw", True)
    assert (cfg.max_attempts, cfg.backoff_seconds, cfg.base_url) == (3, 60, "https://xs.example.org")
    [hook] = cfg.webhooks
    assert (hook.format, hook.org_units, hook.at_mobiles, hook.secret) == (
        "dingtalk", ("township_xunchang",), ("13800001234",), "SECabc")
    assert "SECabc" not in repr(settings) and "pw" not in repr(cfg)
    assert cfg.allows("member", "email", "result") and not cfg.allows("member", "email", "reminder")
    assert cfg.allows("supervisor", "email", "reminder") and not cfg.allows("supervisor", "email", "assignment")
    assert cfg.allows("member", "inapp", "assignment")
    assert Settings("sqlite://", None, tmp_path, tmp_path).notifications == NotificationSettings()
    with pytest.raises(ValueError, match="webhook format"):
        NotificationSettings.from_mapping({"webhooks": [{"name": "x", "url": "http://x", "format": "slack"}]}, {})
    with pytest.raises(ValueError, match=r"webhooks\[1\] needs a name and a url"):
        NotificationSettings.from_mapping({"webhooks": [{"name": "x", "url": "http://x"}, {"name": "y"}]}, {})
    with pytest.raises(ValueError, match="unique"):
        NotificationSettings.from_mapping({"webhooks": [{"name": "x", "url": "http://x"}] * 2}, {})
