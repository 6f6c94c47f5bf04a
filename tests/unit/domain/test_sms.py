"""Text messages to proposers: Aliyun and Tencent requests signed and checked by a fake provider on 127.0.0.1, one
message per proposer and moment (however often the sweep runs or a save is replayed), none without a phone, a bad
number parked with a readable reason while the others go out, numbers masked wherever they are shown or logged."""

from __future__ import annotations

import copy
import dataclasses
import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from domain.consultation import moments
from domain.consultation.demo import load_demo
from domain.notifications import dispatch as notify
from domain.notifications.centre import NotificationCentre
from domain.notifications.channels import DeliveryFailed, DeliveryRefused
from domain.notifications.channels.sms import aliyun_signature, bounded, mainland_mobile, mask_phone, send_sms
from engine.bpmn.runtime import Advance, ServiceCall
from engine.settings import NotificationSettings, Settings, SmsSettings
from engine.store.models import OutboxMessage, ProcessInstance
from tests.conftest import CONSULTATION
from tests.support.consultation import SCENARIOS, run_through_engine
from tests.support.fake_sms import KEY_ID, SECRET, FakeProvider

TEMPLATES = {"accepted": "SMS_1001", "declined": "SMS_1002", "meeting_held": "SMS_1003", "published": "SMS_1004"}
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
def fake():
    provider = FakeProvider()
    provider.url = provider.start()
    yield provider
    provider.stop()


def sms(fake, provider: str = "aliyun", **changes) -> SmsSettings:
    values = {"provider": provider, "endpoint": f"{fake.url}/{provider}", "access_key_id": KEY_ID,
              "access_key_secret": SECRET, "sign_name": "有事来协商", "app_id": "1400000001",
              "templates": TEMPLATES, "timeout": 2}
    values.update(changes)
    return SmsSettings.from_mapping(values, {})


def settings(fake, provider: str = "aliyun", **changes) -> NotificationSettings:
    return dataclasses.replace(NotificationSettings(), sms=sms(fake, provider, **changes))


@pytest.fixture
def lite(sqlite_service):
    with sqlite_service.unit_of_work() as session:
        load_demo(session, sqlite_service.clock.now())
    sqlite_service.deploy([CONSULTATION], actor="owner")
    return sqlite_service


# --- the adapters against the fake provider -----------------------------------------------------------------
@pytest.mark.parametrize("provider", ["aliyun", "tencent"])
def test_a_signed_request_is_accepted_and_carries_the_template(fake, provider):
    send_sms(sms(fake, provider), "138 0000 1234", "declined", {"title": "老街路灯", "reason": "属于信访事项"}, NOW)
    [got] = fake.sent
    assert (got.provider, got.template, got.sign_name) == (provider, "SMS_1002", "有事来协商")
    if provider == "aliyun":
        assert (got.phone, got.values) == ("13800001234", {"title": "老街路灯", "reason": "属于信访事项"})
    else:
        assert (got.phone, got.values) == ("+8613800001234", ["老街路灯", "属于信访事项"])   # in template order


@pytest.mark.parametrize("provider", ["aliyun", "tencent"])
def test_a_wrong_secret_is_refused_by_the_provider_and_retried(fake, provider):
    with pytest.raises(DeliveryFailed, match="Signature") as failure:
        send_sms(sms(fake, provider, access_key_secret="not-the-secret"), "13800001234", "accepted",
                 {"title": "t", "code": "XS-AAAA-BBBB"}, NOW)
    assert not isinstance(failure.value, DeliveryRefused)        # a configuration slip: worth retrying once fixed
    assert fake.sent == [] and fake.calls == 1


def test_the_aliyun_signature_matches_the_documented_shape():
    params = {"AccessKeyId": "id", "Action": "SendSms", "TemplateParam": '{"a":"路 灯*~"}', "Timestamp": "t"}
    # the same string signed by hand: sorted, %20 for space, %2A for *, ~ kept, then the whole query encoded again
    query = "AccessKeyId=id&Action=SendSms&TemplateParam=%7B%22a%22%3A%22%E8%B7%AF%20%E7%81%AF%2A~%22%7D&Timestamp=t"
    import base64
    import hashlib
    import hmac
    from urllib.parse import quote
    expected = base64.b64encode(hmac.new(b"s&", f"POST&%2F&{quote(query, safe='~')}".encode(),
                                         hashlib.sha1).digest()).decode()
    assert aliyun_signature(params, "s") == expected


def test_numbers_are_checked_masked_and_template_values_bounded():
    assert mainland_mobile("+86 138-0000-1234") == "13800001234"
    for bad in ("010-12345678", "1380000123", "23800001234", "", None):
        with pytest.raises(DeliveryRefused, match="不是中国大陆手机号"):
            mainland_mobile(bad)
    assert mask_phone("13800001234") == "138****1234" and mask_phone("010-12345678") == "010****5678"
    assert mask_phone("123") == "****" and mask_phone("") == ""
    assert bounded({"reason": "甲" * 50, "title": " 老街\n路灯 "}, 35) == {"reason": "甲" * 34 + "…",
                                                                        "title": "老街 路灯"}


def test_http_errors_and_timeouts_fail_for_a_retry(fake):
    fake.fail_next = 1
    with pytest.raises(DeliveryFailed, match="HTTP 503"):
        send_sms(sms(fake), "13800001234", "accepted", {"title": "t", "code": "c"}, NOW)
    with pytest.raises(DeliveryFailed, match="138\\*\\*\\*\\*1234: URLError"):
        send_sms(sms(fake, endpoint="http://127.0.0.1:9/"), "13800001234", "accepted", {"title": "t"}, NOW)
    with pytest.raises(DeliveryRefused, match="meeting_held"):
        send_sms(sms(fake, templates={"accepted": "SMS_1"}), "13800001234", "meeting_held", {}, NOW)


def test_settings_from_toml_and_environment():
    env = {"XIESHANG_SMS_PROVIDER": "tencent", "XIESHANG_SMS_ACCESS_KEY_ID": "AKID", "XIESHANG_SMS_ACCESS_KEY_SECRET":
           "sk", "XIESHANG_SMS_SIGN_NAME": "签名", "XIESHANG_SMS_TEMPLATE_DECLINED": "2002"}
    cfg = NotificationSettings.from_mapping({"sms": {"provider": "aliyun", "templates": {"accepted": "2001"}}}, env).sms
    assert (cfg.provider, cfg.url, cfg.template("accepted"), cfg.template("declined")) == (
        "tencent", "https://sms.tencentcloudapi.com/", "2001", "2002")
    assert "sk" not in repr(cfg)
    assert not NotificationSettings().sms.enabled
    for bad in ({"provider": "yunpian"}, {"provider": "aliyun"}, {"endpoint": "ftp://x"},
                {"provider": "aliyun", "access_key_id": "a", "access_key_secret": "b", "sign_name": "c",
                 "max_param_chars": 0}):
        with pytest.raises(ValueError, match="notifications.sms"):
            SmsSettings.from_mapping(bad, {})
    assert Settings.from_env({"XIESHANG_INSTANCE_PATH": "/nonexistent"}).notifications.sms.provider is None


# --- through the outbox ---------------------------------------------------------------------------------------
def sms_rows(engine) -> list[OutboxMessage]:
    with engine.unit_of_work() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "sms")
                               .order_by(OutboxMessage.id)).all()
        session.expunge_all()
        return rows


@pytest.mark.parametrize("provider", ["aliyun", "tencent"])
def test_each_key_moment_is_one_text_message_however_often_the_sweep_runs(lite, fake, provider):
    robots = NotificationSettings.from_mapping({"webhooks": [{"name": "all", "url": "http://127.0.0.1:9/"}]}, {})
    cfg = dataclasses.replace(robots, sms=sms(fake, provider))
    township, _ = run_through_engine(lite, copy.deepcopy(SCENARIOS["township"]))
    declined, _ = run_through_engine(lite, copy.deepcopy(SCENARIOS["declined"]))
    quiet_intake = {k: v for k, v in SCENARIOS["township"].intake().items() if k != "contact_phone"}
    quiet = lite.start_instance("consultation", quiet_intake, actor="m002")   # no phone left: no text message
    [triage] = lite.list_tasks(instance_id=quiet)
    lite.complete_task(triage.id, SCENARIOS["township"].answer("triage", lite.show_instance(quiet).data), "office")
    for _ in range(3):                                     # the sweep runs again and again: nothing more goes out
        notify.run_deliveries(lite, lite.clock.now(), 500, cfg)
    sent = [(r.template, r.values) for r in fake.sent]
    title = "township：老街夜间照明不足"
    expected = {"SMS_1001", "SMS_1003", "SMS_1004", "SMS_1002"}
    assert {template for template, _ in sent} == expected and len(sent) == 4
    values = dict(sent)
    as_dict = (lambda v: v) if provider == "aliyun" else (lambda v: dict(zip(("title", "x"), v, strict=False)))
    assert as_dict(values["SMS_1001"])["title"] == title
    listed = {template: list(v.values()) if provider == "aliyun" else v for template, v in values.items()}
    assert "属于信访事项，已转有关部门依法办理。" in listed["SMS_1002"]
    assert any(str(v).startswith("20") for v in listed["SMS_1003"])
    rows = sms_rows(lite)
    assert sorted((r.instance_id, r.params["moment"]) for r in rows) == sorted(
        [(township, "accepted"), (township, "meeting_held"), (township, "published"), (declined, "declined")])
    assert {r.status for r in rows} == {"sent"} and {r.recipient for r in rows} == {"138****1234"}
    assert quiet not in {r.instance_id for r in rows}
    with lite.unit_of_work() as session:                   # the text-message asks never reach group robots
        robot_keys = session.scalars(select(OutboxMessage.idempotency_key).where(OutboxMessage.channel == "webhook"))
        assert [k for k in robot_keys if ":moment:" in k] == []


def test_a_replayed_save_or_a_second_request_adds_no_message(lite, fake):
    cfg = settings(fake)
    instance_id, _ = run_through_engine(lite, copy.deepcopy(SCENARIOS["township"]))
    notify.run_deliveries(lite, lite.clock.now(), 500, cfg)
    before = len(fake.sent)
    data = lite.show_instance(instance_id).data
    replay = Advance([ServiceCall("x", "publish_results", "publish", {})])
    with lite.unit_of_work() as session:
        instance = session.get(ProcessInstance, instance_id)
        moments.tell(session, instance, data, lite.clock.now(), replay)           # the same save, replayed
        moments.tell_proposer(session, instance_id, "published", lite.clock.now(), message="again", values={},
                              phone="13800001234", in_app=False)
        session.add(OutboxMessage(   # another request about the same moment, e.g. from a second service task
            idempotency_key=f"{instance_id}:other:published", instance_id=instance_id, operator="notify",
            channel="dispatch", params={"kind": "published", "to": "", "moment": "published",
                                        "phone": "13800001234", "values": {"title": "x"}},
            status="pending", attempts=0, created_at=lite.clock.now(), next_attempt_at=lite.clock.now()))
    notify.run_deliveries(lite, lite.clock.now(), 500, cfg)
    notify.run_deliveries(lite, lite.clock.now(), 500, cfg)
    assert len(fake.sent) == before == 3


def test_a_failed_send_is_retried_once_and_sent_once(lite, fake):
    cfg = settings(fake)
    fake.fail_next = 1
    scenario = copy.deepcopy(SCENARIOS["declined"])
    run_through_engine(lite, scenario)
    notify.run_deliveries(lite, lite.clock.now(), 500, cfg)
    [row] = sms_rows(lite)
    assert (row.status, row.attempts) == ("failed", 1) and "HTTP 503" in row.last_error
    assert "13800001234" not in row.last_error and fake.sent == []
    notify.run_deliveries(lite, lite.clock.now(), 500, cfg)                   # not due yet
    assert fake.sent == []
    lite.clock.set(lite.clock.now() + timedelta(seconds=cfg.backoff_seconds + 1))
    notify.run_deliveries(lite, lite.clock.now(), 500, cfg)
    notify.run_deliveries(lite, lite.clock.now(), 500, cfg)
    [row] = sms_rows(lite)
    assert (row.status, row.attempts, len(fake.sent)) == ("sent", 2, 1)


def test_a_bad_number_parks_its_own_message_and_never_blocks_others(lite, fake, caplog):
    cfg = settings(fake)
    caplog.set_level(logging.DEBUG)
    landline = copy.deepcopy(SCENARIOS["declined"])
    landline.name = "landline"
    unreachable = copy.deepcopy(SCENARIOS["declined"])
    fake.unreachable.add("13900009999")
    ids = {}
    for name, phone, scenario in (("landline", "010-12345678", landline), ("unreachable", "13900009999", unreachable),
                                  ("good", "13800001234", copy.deepcopy(SCENARIOS["declined"]))):
        scenario.intake = (lambda s=scenario, p=phone: type(s).intake(s) | {"contact_phone": p})
        ids[name], _ = run_through_engine(lite, scenario)
    notify.run_deliveries(lite, lite.clock.now(), 500, cfg)
    rows = {r.instance_id: r for r in sms_rows(lite)}
    assert rows[ids["good"]].status == "sent" and [r.phone for r in fake.sent] == ["13800001234"]
    bad = rows[ids["landline"]]
    assert (bad.status, bad.attempts, bad.recipient) == ("parked", 1, "010****5678")
    assert bad.last_error.startswith("号码 010****5678 不是中国大陆手机号")
    refused = rows[ids["unreachable"]]
    assert (refused.status, refused.attempts) == ("parked", 1) and "MOBILE_NUMBER_ILLEGAL" in refused.last_error
    shown = NotificationCentre(lite).outbox(status="parked")
    assert {v.recipient for v in shown if v.channel == "sms"} == {"010****5678", "139****9999"}
    text = caplog.text + repr([v.as_dict() for v in NotificationCentre(lite).outbox()])
    for phone in ("12345678", "13900009999", "13800001234"):
        assert phone not in text
