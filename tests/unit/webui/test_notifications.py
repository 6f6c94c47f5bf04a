"""The notification centre (bell with unread count, list, mark read) and the admin's outbox page (parked messages
with their error, retry)."""

from __future__ import annotations

import copy
import dataclasses
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from domain.notifications import dispatch as notify
from domain.notifications.centre import NotificationCentre
from domain.notifications.models import Notification
from engine.settings import NotificationSettings
from engine.store.models import OutboxMessage
from tests.support.consultation import SCENARIOS, run_through_engine
from tests.unit.webui.conftest import csrf_of

PLAIN = NotificationSettings()


@pytest.fixture
def declined(web_engine):
    """m001's topic was declined and a reminder went to m001 too: two unread notifications."""
    scenario = copy.deepcopy(SCENARIOS["declined"])
    instance_id = web_engine.start_instance("consultation", scenario.intake(), actor="m001")
    with web_engine.unit_of_work() as session:
        session.add(OutboxMessage(idempotency_key=f"{instance_id}:r:notify", instance_id=instance_id, task_id="r",
                                  operator="notify", params={"kind": "reminder", "to": "proposer,user:m014",
                                                             "message": "请补充材料。"},
                                  created_at=web_engine.clock.now()))
    [triage] = web_engine.list_tasks(instance_id=instance_id)
    web_engine.complete_task(triage.id, scenario.answer("triage", web_engine.show_instance(instance_id).data),
                             "office")
    assert notify.deliver_due(web_engine, web_engine.clock.now(), settings=PLAIN) == 3
    return instance_id


def bell(page: str) -> str:
    start = page.index('class="bell"')
    return page[start:page.index("</a>", start)]


def test_the_header_shows_the_unread_count_and_the_centre_lists_them(client, login, declined):
    login("m001")
    inbox = client.get("/inbox").get_data(as_text=True)
    assert 'href="/notifications"' in bell(inbox) and '<span class="bell-count">2</span>' in bell(inbox)
    page = client.get("/notifications").get_data(as_text=True)
    assert page.count('<li class="unread"') == 2
    assert "【办理结果】declined：老街夜间照明不足" in page and "未予受理。理由：属于信访事项" in page
    assert "【办理提醒】declined：老街夜间照明不足" in page and "请补充材料。" in page
    assert f'href="/instances/{declined}"' in page and ">办理结果</span>" in page


def test_mark_one_then_all_read(client, login, declined, web_engine):
    login("m001")
    page = client.get("/notifications").get_data(as_text=True)
    newest, oldest = NotificationCentre(web_engine).notifications("m001")
    response = client.post(f"/notifications/{newest.id}/read", data={"csrf_token": csrf_of(page)})
    assert response.status_code == 302 and response.headers["Location"] == "/notifications"
    page = client.get("/notifications").get_data(as_text=True)
    assert '<span class="bell-count">1</span>' in bell(page) and page.count('<li class="unread"') == 1
    assert f'<li class="unread" id="n{oldest.id}">' in page
    unread = client.get("/notifications?show=unread").get_data(as_text=True)
    assert unread.count("<li ") == 1 and f'id="n{oldest.id}"' in unread
    page = client.post("/notifications/read-all", data={"csrf_token": csrf_of(page)},
                       follow_redirects=True).get_data(as_text=True)
    assert "已将 1 条通知标为已读。" in page and "bell-count" not in bell(page) and '<li class="unread"' not in page
    again = client.post("/notifications/read-all?lang=en", data={"csrf_token": csrf_of(page)}, follow_redirects=True)
    assert "Marked 0 notifications as read." in again.get_data(as_text=True)       # the English plural
    assert "全部标为已读" not in page
    assert "没有未读通知。" in client.get("/notifications?show=unread").get_data(as_text=True)


def test_nobody_marks_someone_elses_notification(client, login, declined, web_engine):
    [theirs] = NotificationCentre(web_engine).notifications("m014")
    login("m001")
    page = client.get("/notifications").get_data(as_text=True)
    assert client.post(f"/notifications/{theirs.id}/read", data={"csrf_token": csrf_of(page)}).status_code == 302
    assert NotificationCentre(web_engine).unread_count("m014") == 1
    assert f'id="n{theirs.id}"' not in page and page.count("<li ") == 2


def test_the_centre_needs_sign_in_and_a_csrf_token(client, login, declined):
    assert client.get("/notifications").status_code == 302
    login("m001")
    assert client.post("/notifications/read-all").status_code == 400
    assert "还没有通知。" not in client.get("/notifications").get_data(as_text=True)


def test_english_centre(client, login, declined):
    login("m014")
    page = client.get("/notifications?lang=en").get_data(as_text=True)
    assert ">Notifications<span class=\"bell-count\">1</span>" in page and "Mark all as read" in page
    assert ">Reminder</span>" in page and "Unread" in page


@pytest.fixture
def parked(web_engine, declined):
    """A webhook delivery that failed three times and was parked."""
    cfg = NotificationSettings.from_mapping({"max_attempts": 3, "webhooks": [
        {"name": "xunchang-robot", "url": "http://127.0.0.1:9/", "format": "wecom"}]}, {})
    with web_engine.unit_of_work() as session:
        session.add(OutboxMessage(idempotency_key=f"{declined}:w:notify", instance_id=declined, task_id="w",
                                  operator="notify", params={"kind": "result", "to": "proposer"},
                                  created_at=web_engine.clock.now()))
    gone = dataclasses.replace(cfg, webhooks=())
    with web_engine.unit_of_work() as session:
        request = session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == f"{declined}:w:notify"))
        notify.dispatch(session, request, web_engine.clock.now(), cfg, web_engine.hooks)
    for _ in range(3):
        with web_engine.unit_of_work() as session:
            hook = session.scalar(select(OutboxMessage).where(OutboxMessage.channel == "webhook"))
            notify.deliver(session, hook, hook.next_attempt_at, gone)
    assert hook.status == "parked"
    return hook.id


def test_admins_see_parked_messages_with_their_error_and_retry_them(client, login, parked, web_engine):
    login("admin")
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert f"#{parked}" in page
    assert "<code>xunchang-robot</code>" in page and "未配置 webhook xunchang-robot (no such webhook target)" in page
    assert '>已搁置 <span class="count">1</span>' in page and ">重新发送</button>" in page
    response = client.post(f"/admin/outbox/{parked}/retry", data={"csrf_token": csrf_of(page), "status": "parked"},
                           follow_redirects=True)
    page = response.get_data(as_text=True)
    assert f"消息 {parked} 已重新排队，将在下一次投递时发送。" in page and "没有这类消息。" in page
    [view] = [m for m in NotificationCentre(web_engine).outbox() if m.id == parked]
    assert (view.status, view.attempts) == ("pending", 0)
    pending = client.get("/admin/outbox?status=pending").get_data(as_text=True)
    assert "<code>xunchang-robot</code>" in pending and "下次尝试" in pending
    sent = client.get("/admin/outbox?status=sent").get_data(as_text=True)
    assert sent.count("<code>m001</code>") == 2 and "<code>m014</code>" in sent
    again = client.post(f"/admin/outbox/{parked}/retry", data={"csrf_token": csrf_of(page)})
    assert again.status_code == 409


def test_only_admins_see_the_outbox(client, login, parked):
    assert client.get("/admin/outbox").status_code == 302
    login("office")
    assert client.get("/admin/outbox").status_code == 403
    page = client.get("/notifications").get_data(as_text=True)
    assert client.post(f"/admin/outbox/{parked}/retry", data={"csrf_token": csrf_of(page)}).status_code == 403
    assert "/admin/outbox" not in page


def test_english_outbox(client, login, parked):
    login("admin")
    page = client.get("/admin/outbox?lang=en").get_data(as_text=True)
    assert "<h1>Delivery queue</h1>" in page and ">Parked <span" in page and ">Retry</button>" in page
    assert "Error: " in page


def notice_of(page: str, notification_id: int) -> str:
    start = page.index(f'id="n{notification_id}"')
    return page[start:page.index("</li>", start)]


def test_a_task_finished_by_someone_else_shows_done_for_everyone(client, login, web_engine):
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = web_engine.start_instance("consultation", scenario.intake(), actor="m001")
    notify.deliver_due(web_engine, web_engine.clock.now(), settings=PLAIN)
    [mine] = NotificationCentre(web_engine).notifications("office2")
    login("office2")
    page = client.get("/notifications").get_data(as_text=True)
    assert '<span class="bell-count">1</span>' in bell(page) and ">去办理</a>" in notice_of(page, mine.id)
    [triage] = web_engine.list_tasks(instance_id=instance_id)
    web_engine.complete_task(triage.id, scenario.answer("triage", web_engine.show_instance(instance_id).data),
                             "office")                                     # office took it, not office2
    page = client.get("/notifications").get_data(as_text=True)
    entry = notice_of(page, mine.id)
    assert 'class="done"' in page and "已办结" in entry and "该任务已办结，无需处理。" in entry
    assert "去办理" not in entry and "标为已读" not in entry and "bell-count" not in bell(page)
    assert "没有未读通知。" in client.get("/notifications?show=unread").get_data(as_text=True)
    for person in ("office", "office2"):                                  # the one who did it, too
        assert NotificationCentre(web_engine).unread_count(person) == 0
        [view] = NotificationCentre(web_engine).notifications(person)
        assert view.done and not view.unread and not view.read
    english = client.get("/notifications?lang=en").get_data(as_text=True)
    assert ">Completed</span>" in english and "This task has been finished; nothing left to do." in english


def test_a_cancelled_instances_task_notices_are_done(client, login, web_engine):
    instance_id = web_engine.start_instance("consultation", SCENARIOS["township"].intake(), actor="m001")
    notify.deliver_due(web_engine, web_engine.clock.now(), settings=PLAIN)
    assert NotificationCentre(web_engine).unread_count("office") == 1
    web_engine.cancel_instance(instance_id, "admin", "重复提交")
    assert NotificationCentre(web_engine).unread_count("office") == 0
    login("office")
    assert "已办结" in client.get("/notifications").get_data(as_text=True)


def many_notices(engine, username: str, count: int) -> list[int]:
    """`count` unread result notices for `username`, one a minute, oldest first; returns their ids."""
    start = engine.clock.now()
    with engine.unit_of_work() as session:
        rows = [Notification(idempotency_key=f"bulk:{username}:{i}", username=username, kind="result", level=0,
                             title=f"通知第{i:03d}条", body="", created_at=start + timedelta(minutes=i))
                for i in range(count)]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def test_the_centre_pages_with_plain_links(client, login, web_engine):
    ids = many_notices(web_engine, "m014", 45)
    login("m014")
    first = client.get("/notifications").get_data(as_text=True)
    assert first.count("<li ") == 20 and "通知第044条" in first and "通知第025条" in first
    assert "通知第024条" not in first
    assert "回到最新" not in first
    older = re.search(r'<a class="button" rel="next" href="([^"]+)">更早的通知</a>', first).group(1)
    assert older == f"/notifications?before={ids[25]}"
    second = client.get(older.replace("&amp;", "&")).get_data(as_text=True)
    assert second.count("<li ") == 20 and "通知第024条" in second and "通知第005条" in second
    assert "通知第025条" not in second and 'href="/notifications">回到最新</a>' in second
    third = client.get(re.search(r'rel="next" href="([^"]+)"', second).group(1)).get_data(as_text=True)
    assert third.count("<li ") == 5 and "通知第000条" in third and 'rel="next"' not in third
    unread = client.get("/notifications?show=unread").get_data(as_text=True)
    assert 'rel="next" href="/notifications?show=unread&amp;before=' in unread
    assert client.get("/notifications?before=-3").status_code == 400        # a bad cursor: said so (webui/params)
    assert "查询参数 before 应为" in client.get("/notifications?before=abc").get_data(as_text=True)


def test_counts_over_99_show_as_99_plus(client, login, web_engine):
    many_notices(web_engine, "m014", 120)
    login("m014")
    page = client.get("/notifications").get_data(as_text=True)
    assert '<span class="bell-count">99+</span>' in bell(page) and '<span class="count">99+</span>' in page
    assert NotificationCentre(web_engine).unread_count("m014") == 120
    assert len(NotificationCentre(web_engine).page("m014", size=10_000).items) == 100       # MAX_PAGE at most
    assert len(NotificationCentre(web_engine).page("m014", size=0).items) == 1


def test_the_outbox_page_shows_text_messages_with_masked_numbers(client, login, web_engine):
    from domain.notifications.channels import Sms

    cfg = dataclasses.replace(PLAIN, sms=dataclasses.replace(
        PLAIN.sms, provider="aliyun", endpoint="http://127.0.0.1:9/", access_key_id="k", access_key_secret="s",
        sign_name="签名", templates=(("declined", "SMS_2"),), timeout=0.5))
    assert Sms(cfg).about({"phone": "13800001234", "moment": "accepted"}) == ()    # no template: not told
    instance_id, _ = run_through_engine(web_engine, copy.deepcopy(SCENARIOS["declined"]))
    for _ in range(cfg.max_attempts):
        notify.run_deliveries(web_engine, web_engine.clock.now(), 500, cfg)
        web_engine.clock.set(web_engine.clock.now() + timedelta(seconds=cfg.backoff_cap_seconds))
    login("admin")
    page = client.get("/admin/outbox?status=parked").get_data(as_text=True)
    assert "<code>138****1234</code>" in page and "aliyun SMS to 138****1234: URLError" in page
    assert "13800001234" not in page and f"事项 #{instance_id}" in page and "<td>短信<br>" in page
    english = client.get("/admin/outbox?status=parked&lang=en").get_data(as_text=True)
    assert "<td>Text message (SMS)<br>" in english
