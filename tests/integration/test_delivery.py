"""Real delivery: email received by an aiosmtpd server, webhooks (JSON, WeCom, DingTalk) received by a local HTTP
server, for a new task's assignment notice and a decline's result; failures retry with growing delays, park, show on
/admin/outbox with the error, and the retry button re-queues a message that then goes through — a redelivery never
sends twice."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import socket
import threading
from collections import Counter
from datetime import timedelta
from email import message_from_bytes
from email import policy as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, update

from domain.consultation.demo import load_demo
from domain.consultation.models import Consultation
from domain.notifications import dispatch as notify
from domain.notifications.channels import email as email_channel
from domain.notifications.channels.email import message_id
from domain.notifications.models import Notification
from engine.settings import NotificationSettings, Settings
from engine.store.models import OutboxMessage, User
from engine.sweep import run_sweep
from tests.conftest import CONSULTATION, DATA, make_service
from tests.support.consultation import SCENARIOS, run_through_engine
from tests.unit.webui.conftest import csrf_of
from webui import create_app

DECLINE_BODY = "您反映的《declined：老街夜间照明不足》未予受理。理由：属于信访事项，已转有关部门依法办理。"
TITLE = "declined：老街夜间照明不足"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self):
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    """A real SMTP server on a free local port; `.handler.received` holds what arrived."""
    controller = Controller(Mailbox(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


class Hooks(ThreadingHTTPServer):
    """Records each POST; answers with the next queued (status, body), or 200 `{"errcode": 0}`."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _HookHandler)
        self.requests: list[dict] = []
        self.replies: list[tuple[int, bytes]] = []

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class _HookHandler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's hook name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append({"path": self.path, "headers": dict(self.headers), "json": json.loads(body)})
        status, reply = self.server.replies.pop(0) if self.server.replies else (200, b'{"errcode": 0}')
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


@pytest.fixture
def hooks():
    """A local HTTP server in a thread (it listens from construction on, so no wait is needed)."""
    server = Hooks()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture
def engine(sqlite_service):
    """Demo people (m001 with an email address) and the consultation."""
    with sqlite_service.unit_of_work() as session:
        load_demo(session, sqlite_service.clock.now())
        session.execute(update(User).where(User.username == "m001").values(email="zhang@example.org"))
    sqlite_service.deploy([CONSULTATION], actor="owner")
    return sqlite_service


def declined(engine) -> int:
    instance_id, _ = run_through_engine(engine, copy.deepcopy(SCENARIOS["declined"]), starter="m001")
    return instance_id


def propose(engine) -> int:
    """m001's topic, waiting at triage (candidates office and office2); its assignment notice is in the outbox."""
    return engine.start_instance("consultation", SCENARIOS["declined"].intake(), actor="m001")


def decline(engine, instance_id: int) -> None:
    """office declines the topic at triage; the proposer's result notice is in the outbox."""
    [triage] = engine.list_tasks(instance_id=instance_id)
    data = copy.deepcopy(SCENARIOS["declined"]).answer("triage", engine.show_instance(instance_id).data)
    engine.complete_task(triage.id, data, actor="office", revision=triage.revision)


def rows(engine, channel: str, kind: str | None = None) -> list[OutboxMessage]:
    with engine.unit_of_work() as session:
        found = session.scalars(select(OutboxMessage).where(OutboxMessage.channel == channel)
                                .order_by(OutboxMessage.id))
        return [row for row in found if kind is None or row.params["kind"] == kind]


def inapp(engine) -> list[tuple[str, str, str]]:
    """(kind, recipient, status) of every in-app delivery."""
    return [(row.params["kind"], row.recipient, row.status) for row in rows(engine, "inapp")]


def test_email_arrives_once_with_a_stable_message_id(engine, smtp_server):
    cfg = NotificationSettings.from_mapping({"smtp": {"host": "127.0.0.1", "port": smtp_server.port,
                                                      "from": "xieshang@xs.example.org"},
                                             "base_url": "https://xs.example.org"}, {})
    instance_id = declined(engine)
    now = engine.clock.now()
    assert notify.deliver_due(engine, now, settings=cfg) == 2                     # in-app and email
    [(sender, recipients, content)] = smtp_server.handler.received
    mail = message_from_bytes(content, policy=email_policy.default)
    assert (sender, recipients, mail["To"]) == ("xieshang@xs.example.org", ["zhang@example.org"], "zhang@example.org")
    assert mail["Subject"] == "【办理结果】declined：老街夜间照明不足"
    text = mail.get_content()
    assert DECLINE_BODY in text and f"https://xs.example.org/instances/{instance_id}" in text
    [row] = rows(engine, "email")
    assert mail["Message-ID"] == message_id(row.idempotency_key, "xieshang@xs.example.org")
    assert mail["Message-ID"].endswith("@xs.example.org>") and len(mail["Message-ID"]) == 57
    with engine.unit_of_work() as session:         # the worker died after the server took it, before `sent`
        session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id).values(status="pending",
                                                                                        next_attempt_at=now))
    assert notify.deliver_due(engine, now, settings=cfg) == 1
    second = message_from_bytes(smtp_server.handler.received[1][2], policy=email_policy.default)
    assert second["Message-ID"] == mail["Message-ID"]                            # receivers can drop the copy
    assert notify.deliver_due(engine, now + timedelta(days=1), settings=cfg) == 0
    with engine.unit_of_work() as session:
        assert notify.deliver(session, session.get(OutboxMessage, row.id), now + timedelta(days=1), cfg) is False
    assert len(smtp_server.handler.received) == 2                                 # a sent row is never sent again


def test_email_to_a_server_that_is_down_retries_then_arrives(engine, smtp_server):
    down = NotificationSettings.from_mapping({"smtp": {"host": "127.0.0.1", "port": free_port()}}, {})
    declined(engine)
    now = engine.clock.now()
    assert notify.deliver_due(engine, now, settings=down) == 1                    # in-app only
    [row] = rows(engine, "email")
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 1, now + timedelta(seconds=60))
    assert "ConnectionRefusedError" in row.last_error
    up = NotificationSettings.from_mapping({"smtp": {"host": "127.0.0.1", "port": smtp_server.port}}, {})
    assert notify.deliver_due(engine, now + timedelta(seconds=59), settings=up) == 0
    assert notify.deliver_due(engine, now + timedelta(seconds=60), settings=up) == 1
    [row] = rows(engine, "email")
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    assert len(smtp_server.handler.received) == 1


def test_webhooks_in_the_three_formats(engine, hooks):
    cfg = NotificationSettings.from_mapping({"webhooks": [
        {"name": "plain", "url": hooks.url("/plain"), "format": "json"},
        {"name": "wecom", "url": hooks.url("/cgi-bin/webhook/send?key=k1"), "format": "wecom",
         "org_units": ["township_xunchang"]},
        {"name": "dingtalk", "url": hooks.url("/robot/send?access_token=t1"), "format": "dingtalk",
         "at_mobiles": ["13800001234"], "secret": "SECdemo"},
        {"name": "elsewhere", "url": hooks.url("/luodu"), "org_units": ["township_luodu"]},
    ]}, {})
    instance_id = propose(engine)
    [triage] = engine.list_tasks(instance_id=instance_id)
    now = engine.clock.now()
    assert notify.deliver_due(engine, now, settings=cfg) == 5      # assignment: office, office2 + three webhooks
    assert inapp(engine) == [("assignment", "office", "sent"), ("assignment", "office2", "sent")]
    assigned = {urlsplit(r["path"]).path: r["json"] for r in hooks.requests}
    assert sorted(assigned) == ["/cgi-bin/webhook/send", "/plain", "/robot/send"]   # wecom: the topic is at xunchang
    new_task = f"【新待办】{TITLE}\n您有一项新的待办：受理分流。\n办理期限：2026-03-05 09:00"
    assert assigned["/cgi-bin/webhook/send"] == {"msgtype": "text", "text": {"content": new_task}}
    assert {k: assigned["/plain"][k] for k in ("kind", "level", "task_id", "instance_id", "org_unit")} == {
        "kind": "assignment", "level": 0, "task_id": triage.id, "instance_id": instance_id,
        "org_unit": "township_xunchang"}
    decline(engine, instance_id)
    assert notify.deliver_due(engine, now, settings=cfg) == 4                     # result: in-app + three webhooks
    assert inapp(engine)[2:] == [("result", "m001", "sent")]
    by_path = {urlsplit(r["path"]).path: r for r in hooks.requests[3:]}
    assert sorted(by_path) == ["/cgi-bin/webhook/send", "/plain", "/robot/send"]
    text = f"【办理结果】declined：老街夜间照明不足\n{DECLINE_BODY}"
    assert by_path["/cgi-bin/webhook/send"]["json"] == {"msgtype": "text", "text": {"content": text}}
    assert by_path["/robot/send"]["json"] == {"msgtype": "text", "text": {"content": text},
                                              "at": {"atMobiles": ["13800001234"], "isAtAll": False}}
    plain = by_path["/plain"]["json"]
    keys = {r.recipient: r.idempotency_key for r in rows(engine, "webhook", "result")}
    assert plain == {"idempotency_key": keys["plain"], "kind": "result", "level": 0,
                     "title": "【办理结果】declined：老街夜间照明不足", "body": DECLINE_BODY,
                     "instance_id": instance_id, "task_id": None, "org_unit": "township_xunchang", "link": None,
                     "created_at": now.isoformat()}
    for name, path in (("plain", "/plain"), ("wecom", "/cgi-bin/webhook/send"), ("dingtalk", "/robot/send")):
        headers = by_path[path]["headers"]
        assert headers["Idempotency-Key"] == keys[name] and headers["Content-Type"].startswith("application/json")
    query = parse_qs(urlsplit(by_path["/robot/send"]["path"]).query)
    timestamp = query["timestamp"][0]
    expected = base64.b64encode(hmac.new(b"SECdemo", f"{timestamp}\nSECdemo".encode(), hashlib.sha256).digest())
    assert (timestamp, query["sign"][0], query["access_token"][0]) == (
        str(int(now.timestamp() * 1000)), expected.decode(), "t1")
    assert notify.deliver_due(engine, now + timedelta(hours=1), settings=cfg) == 0
    assert len(hooks.requests) == 6
    assert sorted(r["headers"]["Idempotency-Key"] for r in hooks.requests) == sorted(
        r.idempotency_key for r in rows(engine, "webhook"))                      # each of the six once


def test_a_robot_refusing_the_message_counts_as_a_failure(engine, hooks):
    cfg = NotificationSettings.from_mapping({"webhooks": [
        {"name": "wecom", "url": hooks.url("/send?key=wrong"), "format": "wecom"}]}, {})
    instance_id = propose(engine)
    assert notify.deliver_due(engine, engine.clock.now(), settings=cfg) == 3     # the assignment notice goes through
    hooks.replies = [(200, b'{"errcode": 93000, "errmsg": "invalid webhook url"}')]
    decline(engine, instance_id)
    assert notify.deliver_due(engine, engine.clock.now(), settings=cfg) == 1     # in-app only
    [assigned] = rows(engine, "webhook", "assignment")
    [row] = rows(engine, "webhook", "result")
    assert assigned.status == "sent" and len(hooks.requests) == 2
    assert (row.status, row.last_error) == ("failed", "webhook wecom: errcode 93000 invalid webhook url")


@pytest.fixture
def web(sqlite_services, engine, tmp_path, sqlite_url):
    """The web app, signed in as admin."""
    app = create_app({"SETTINGS": Settings(sqlite_url, None, tmp_path, DATA), "SERVICES": sqlite_services,
                      "TESTING": True,
                      "SECRET_KEY": "test"})
    client = app.test_client()
    token = csrf_of(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"username": "admin", "password": "xieshang-demo",
                                       "csrf_token": token}).status_code == 302
    return client


def test_failing_webhooks_back_off_park_and_go_through_after_an_admin_retries(engine, hooks, web):
    cfg = NotificationSettings.from_mapping({"max_attempts": 3, "backoff_seconds": 30, "webhooks": [
        {"name": "county-robot", "url": hooks.url("/hook"), "format": "dingtalk"}]}, {})
    instance_id = propose(engine)
    assert notify.deliver_due(engine, engine.clock.now(), settings=cfg) == 3     # office, office2 and the robot
    [assigned] = rows(engine, "webhook", "assignment")
    assert assigned.status == "sent"
    hooks.replies = [(500, b"{}")] * 3
    decline(engine, instance_id)
    moment, due_times = engine.clock.now(), []
    for _ in range(3):
        notify.deliver_due(engine, moment, settings=cfg)
        [row] = rows(engine, "webhook", "result")
        due_times.append(row.next_attempt_at)
        moment = row.next_attempt_at or moment
    start = engine.clock.now()
    assert due_times == [start + timedelta(seconds=30), start + timedelta(seconds=90), None]
    assert (row.status, row.attempts, row.last_error) == ("parked", 3,
                                                          "webhook county-robot: HTTP 500 Internal Server Error")
    assert len(hooks.requests) == 4
    page = web.get("/admin/outbox?status=parked").get_data(as_text=True)
    assert page.count("<code>county-robot</code>") == 1
    assert "webhook county-robot: HTTP 500 Internal Server Error" in page
    sent_page = web.get("/admin/outbox?status=sent").get_data(as_text=True)
    assert [sent_page.count(f"<code>{name}</code>") for name in ("m001", "office", "office2", "county-robot")] == [
        1, 1, 1, 1]
    retried = web.post(f"/admin/outbox/{row.id}/retry", data={"csrf_token": csrf_of(page)}, follow_redirects=True)
    assert f"消息 {row.id} 已重新排队" in retried.get_data(as_text=True)
    assert notify.deliver_due(engine, engine.clock.now(), settings=cfg) == 1
    [row] = rows(engine, "webhook", "result")
    assert (row.status, row.attempts) == ("sent", 1)
    assert [r["headers"]["Idempotency-Key"] for r in hooks.requests] == [assigned.idempotency_key] + [
        row.idempotency_key] * 4
    assert web.get("/admin/outbox?status=sent").get_data(as_text=True).count("<code>county-robot</code>") == 2


def test_a_webhook_server_that_is_down_fails_with_the_reason(engine):
    cfg = NotificationSettings.from_mapping({"webhooks": [
        {"name": "gone", "url": f"http://127.0.0.1:{free_port()}/hook"}]}, {})
    instance_id = propose(engine)
    assert notify.deliver_due(engine, engine.clock.now(), settings=cfg) == 2     # in-app to office and office2
    decline(engine, instance_id)
    assert notify.deliver_due(engine, engine.clock.now(), settings=cfg) == 1     # in-app to m001
    assert [row.params["kind"] for row in rows(engine, "webhook")] == ["assignment", "result"]
    for row in rows(engine, "webhook"):
        assert row.status == "failed" and row.last_error.startswith("webhook gone: URLError: ")
        assert "Connection refused" in row.last_error


def test_two_workers_delivering_at_once_send_each_message_once(service, hooks, db_url):
    cfg = NotificationSettings.from_mapping({"webhooks": [{"name": "all", "url": hooks.url("/hook")}]}, {})
    with service.unit_of_work() as session:
        load_demo(session, service.clock.now())
    service.deploy([CONSULTATION], actor="owner")
    instance_id = propose(service)
    assert notify.deliver_due(service, service.clock.now(), settings=cfg) == 3  # office, office2 and the webhook
    decline(service, instance_id)
    with service.unit_of_work() as session:
        session.add_all(OutboxMessage(
            idempotency_key=f"{instance_id}:n{i}:notify", instance_id=instance_id, task_id=f"n{i}", operator="notify",
            params={"kind": "result", "to": "office@county"}, created_at=service.clock.now()) for i in range(20))
    workers = [make_service(db_url, service.clock) for _ in range(2)]
    start, sent = threading.Barrier(2), []

    def work(engine):
        start.wait(timeout=30)
        sent.append(notify.deliver_due(engine, engine.clock.now(), limit=500, settings=cfg))

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for worker in workers:
        worker.sessions.kw["bind"].dispose()
    assert sum(sent) == 21 * 3 - 1             # per request 2 people and the webhook; the decline tells 1 person
    keys = Counter(r["headers"]["Idempotency-Key"] for r in hooks.requests)
    assert len(keys) == 22 and set(keys.values()) == {1}                         # and triage's assignment before
    with service.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Notification)) == 41 + 2
        assert session.scalar(select(func.count()).select_from(Notification).where(
            Notification.kind == "assignment")) == 2
        statuses = Counter(session.scalars(select(OutboxMessage.status)))
    assert statuses == {"dispatched": 21 + 1 + 1, "sent": 62 + 3}    # + the proposer's SMS ask (no provider set)


def _smtp(smtp_server) -> NotificationSettings:
    return NotificationSettings.from_mapping({"smtp": {"host": "127.0.0.1", "port": smtp_server.port,
                                                       "from": "xieshang@xs.example.org"}}, {})


def test_a_subject_with_a_line_break_is_sent_folded_on_one_line(sqlite_services, engine, smtp_server, monkeypatch):
    monkeypatch.setattr(notify, "config_of", lambda settings: _smtp(smtp_server))
    instance_id = propose(engine)
    with engine.unit_of_work() as session:
        session.execute(update(Consultation).where(Consultation.instance_id == instance_id)
                        .values(title="老街照明\r\nBcc: everyone@example.org\n"))
    decline(engine, instance_id)
    result = run_sweep(engine, engine.clock.now(), sqlite_services.deliveries)
    assert result.errors == {} and result.failed == {}
    [(_, recipients, content)] = smtp_server.handler.received
    mail = message_from_bytes(content, policy=email_policy.default)
    assert mail["Subject"] == "【办理结果】老街照明 Bcc: everyone@example.org" and mail["Bcc"] is None
    assert recipients == ["zhang@example.org"]
    [row] = rows(engine, "email")
    assert row.status == "sent"


def test_an_unexpected_failure_of_one_delivery_fails_that_delivery_alone(sqlite_services, engine, smtp_server,
                                                                         monkeypatch):
    declined(engine)
    real = email_channel.send_email

    def send_email(cfg, address, letter):
        if letter.kind == "result":
            raise ValueError("header went wrong")
        real(cfg, address, letter)

    monkeypatch.setattr(email_channel, "send_email", send_email)
    monkeypatch.setattr(notify, "config_of", lambda settings: _smtp(smtp_server))
    result = run_sweep(engine, engine.clock.now(), sqlite_services.deliveries)
    [email] = rows(engine, "email")
    assert result.errors == {} and result.failed == {"deliveries": (email.id,)}
    assert (email.status, email.attempts, email.last_error) == ("failed", 1, "ValueError: header went wrong")
    assert all(status == "sent" for _, _, status in inapp(engine))     # everyone else's notices still went out
