"""线上社情民意直通车: anonymous submission with a tracking code, the public tracking page, the honeypot, rate limits
(in process and on a real redis-server), escaping, and what the public never sees."""

from __future__ import annotations

from dataclasses import replace

import redis
import time_machine
from sqlalchemy import func, select

from domain.consultation.models import IntakeItem
from engine.settings import Settings
from engine.store.models import ProcessInstance
from tests.conftest import DATA
from tests.support import redis_server as redis_support
from tests.support.consultation import SCENARIOS
from tests.unit.domain.test_consultation_public import drive
from tests.unit.webui.conftest import csrf_of
from webui import create_app
from webui.gates import gates_of

redis_server = redis_support.redis_server   # the session's redis-server fixture

VALID = {"title": "老街路灯坏了", "description": "老街路灯长期损坏，夜间出行不便，老人孩子经常摔倒。",
         "category": "infrastructure", "scope": "township", "township": "township_xunchang",
         "village": "township_xunchang_v07",
         "contact_name": "张女士", "contact_phone": "138 0000 1234"}


def post_intake(client, **changes):
    token = csrf_of(client.get("/intake").get_data(as_text=True))
    return client.post("/intake", data=VALID | {"csrf_token": token} | changes)


def count(engine, model) -> int:
    with engine.unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(model))


def only_code(engine) -> str:
    with engine.unit_of_work() as session:
        return session.scalars(select(IntakeItem.tracking_code)).one()


START = 1_772_413_200.0    # the limiter's windows count in real seconds (time.time); tests move them by hand


def test_the_form_is_public_and_has_every_field(client):
    page = client.get("/intake").get_data(as_text=True)
    assert "线上社情民意直通车" in page and 'name="csrf_token"' in page
    for name in ("title", "description", "category", "scope", "township", "village", "contact_name",
                 "contact_phone"):
        assert f'name="{name}"' in page
    township = page[page.index('name="township"'):page.index('name="village"')]
    assert township.count('<option value="township_') == 13 and "玉和苗族乡" in township
    village = page[page.index('name="village"'):page.index("</select>", page.index('name="village"'))]
    assert village.count("<optgroup") == 13 and village.count('<option value="township_') == 177
    assert '<optgroup label="巡场镇" data-township="township_xunchang">' in village
    assert '<option value="township_xunchang_v07">新街社区</option>' in village
    assert 'name="website" value="" autocomplete="off" tabindex="-1"' in page


def test_anonymous_submit_starts_a_consultation_and_shows_its_code(client, web_engine):
    response = post_intake(client)
    assert response.status_code == 302 and response.headers["Location"] == "/intake/receipt"
    code = only_code(web_engine)
    page = client.get("/intake/receipt").get_data(as_text=True)
    assert code in page and "您的查询编号" in page and f'href="/track/{code}"' in page
    assert client.get("/intake/receipt").headers["Cache-Control"] == "no-store"
    (task,) = web_engine.list_tasks()
    assert (task.task_spec, task.org_unit) == ("triage", "county") and "office" in task.candidates
    data = web_engine.show_instance(task.instance_id).data
    assert (data["source"], data["contact_phone"]) == ("online", "13800001234")
    assert data["village"] == "township_xunchang_v07" and "proposer" not in data and "recorded_by" not in data
    assert data["title"] == VALID["title"]


def test_the_receipt_needs_a_submission_in_this_session(client):
    assert client.get("/intake/receipt").headers["Location"] == "/intake"


def test_the_honeypot_pretends_and_stores_nothing(client, web_engine):
    response = post_intake(client, website="http://spam.example")
    assert response.status_code == 302
    page = client.get("/intake/receipt").get_data(as_text=True)
    assert "您的查询编号" in page
    assert count(web_engine, IntakeItem) == 0 and count(web_engine, ProcessInstance) == 0


def test_a_form_without_the_csrf_token_is_refused(client, web_engine):
    assert client.post("/intake", data=VALID).status_code == 400
    assert count(web_engine, IntakeItem) == 0


def test_invalid_input_is_kept_and_explained_beside_each_field(client, web_engine):
    response = post_intake(client, title='a"<', description="太短了", scope="village", township="",
                           contact_phone="12345")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and count(web_engine, IntakeItem) == 0
    assert 'value="a&#34;&lt;"' in page and ">太短了</textarea>" in page
    assert 'value="village" required checked' in page and 'value="infrastructure" selected' in page
    assert 'value="张女士"' in page and 'value="12345"' in page
    assert '<p class="field-error" id="err-title">至少需要 4 个字</p>' in page
    assert '<p class="field-error" id="err-description">至少需要 10 个字</p>' in page
    assert '<p class="field-error" id="err-township">此项为必填项</p>' in page
    assert "请填写 11 位手机号" in page and "is too short" not in page


def test_submissions_are_rate_limited_per_ip_until_the_window_ends(app, client, web_engine):
    app.config["RATE_LIMITS"] = {"intake": "3 per 10 minutes"}
    with time_machine.travel(START, tick=False) as traveller:
        for _ in range(3):
            assert post_intake(client, title="").status_code == 422   # every attempt counts
        limited = post_intake(client)
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "600"
        assert "请在 10 分钟后再试" in limited.get_data(as_text=True)
        assert count(web_engine, IntakeItem) == 0
        other = client.get("/intake")   # another address is not affected
        token = csrf_of(other.get_data(as_text=True))
        assert client.post("/intake", data=VALID | {"csrf_token": token},
                           environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 302
        traveller.shift(599)
        assert post_intake(client).headers["Retry-After"] == "1"
        traveller.shift(1)
        assert post_intake(client).status_code == 302
    assert count(web_engine, IntakeItem) == 2


def test_tracking_lookups_are_rate_limited(app, client):
    app.config["RATE_LIMITS"] = {"track": "2 per 10 minutes"}
    assert [client.get("/track/XS-2222-2222").status_code for _ in range(3)] == [404, 404, 429]
    assert "查询次数过多" in client.get("/track/XS-2222-2223").get_data(as_text=True)
    assert client.get("/track").status_code == 200   # the empty form is not a lookup
    gates_of(app).reset()                             # the window has passed
    assert client.get("/track/XS-2222-2222").status_code == 404


def test_the_app_counts_in_redis_when_redis_is_configured(web_services, web_engine, sqlite_url, tmp_path, redis_server):
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    settings = Settings(sqlite_url, redis_server.url, tmp_path, DATA)
    config = {"SETTINGS": settings, "SERVICES": web_services, "TESTING": True, "SECRET_KEY": "test",
              "RATE_LIMITS": {"intake": "1 per 10 minutes"}}
    first, second = create_app(config).test_client(), create_app(config).test_client()   # two web processes
    assert post_intake(first).status_code == 302 and post_intake(second).status_code == 429
    (key,) = client.keys("*xieshang/intake*")
    assert "/127.0.0.1/" in key.decode() and client.get(key) == b"1" and 0 < client.ttl(key) <= 600
    assert count(web_engine, IntakeItem) == 1
    client.close()


def test_the_limiter_lets_requests_through_when_redis_is_down(web_services, web_engine, sqlite_url, tmp_path, caplog):
    dead = f"redis://127.0.0.1:{redis_support.free_port()}/0"
    settings = Settings(sqlite_url, dead, tmp_path, DATA)
    app = create_app({"SETTINGS": settings, "SERVICES": web_services, "TESTING": True, "SECRET_KEY": "test",
                      "RATE_LIMITS": {"intake": "1 per 10 minutes"}})
    browser = app.test_client()
    assert post_intake(browser).status_code == 302 and post_intake(browser).status_code == 302
    assert "rate limit storage unavailable" in caplog.text
    assert count(web_engine, IntakeItem) == 2


def test_user_text_is_escaped_on_the_receipt_and_the_tracking_page(client, web_engine):
    refused = post_intake(client, title="<script>alert(1)</script>", village="<img src=x onerror=alert(2)>")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "<img src=x" not in page and "<script>alert(1)" not in page
    assert '<p class="field-error" id="err-village">请从所选乡镇的村（社区）列表中选择</p>' in page
    post_intake(client, title="<script>alert(1)</script>")
    code = only_code(web_engine)
    for page in (client.get("/intake/receipt").get_data(as_text=True),
                 client.get(f"/track/{code}").get_data(as_text=True)):
        assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "新街社区" in page     # the tracking page names the village from the directory, not its code


def test_unknown_codes_reveal_nothing(client, web_engine):
    post_intake(client)
    for path in ("/track/XS-2222-2222", "/track/not-a-code", "/track/%3Cscript%3E"):
        response = client.get(path)
        page = response.get_data(as_text=True)
        assert response.status_code == 404 and "未找到该编号" in page
        assert VALID["title"] not in page and "<script>" not in page


def test_the_lookup_form_leads_to_the_canonical_page(client, web_engine):
    post_intake(client)
    code = only_code(web_engine)
    response = client.get("/track", query_string={"code": f" {code.lower().replace('-', '')} "})
    assert response.headers["Location"] == f"/track/{code}"
    assert client.get(f"/track/{code.lower()}").headers["Location"] == f"/track/{code}"


def test_the_tracking_page_shows_progress_then_results_and_never_people(web_services, client, web_engine):
    scenario = replace(SCENARIOS["township"], counters={})
    post_intake(client)
    code = only_code(web_engine)
    before = client.get(f"/track/{code}").get_data(as_text=True)
    assert "受理中" in before and "第 1 步 · 确定协商主题" in before and "协商成果将在回访问效完成后公开" in before
    (task,) = web_engine.list_tasks()
    done = drive(web_engine, task.instance_id, scenario, stop_before="follow_up_visit")
    middle = client.get(f"/track/{code}").get_data(as_text=True)
    assert "已受理" in middle and 'class="current" aria-current="step"' in middle and "增设老街路灯" not in middle
    done += drive(web_engine, task.instance_id, scenario)
    after = client.get(f"/track/{code}").get_data(as_text=True)
    assert "已完成" in after and "协商成果" in after and "关于老街夜间照明的协商报告" in after
    for text in ("增设老街路灯 20 盏", "优化夜间公交班次", "县住房和城乡建设局", "县交通运输局", "采纳",
                 "已列入年度改造计划", "2026-09-30", "满意"):
        assert text in after
    private = {"张女士", "13800001234", "138 0000 1234", "请住建局牵头落实", "县委副书记"}
    for _, username in done:
        private |= {username, web_services.accounts.user(username).display_name}
    assert "office" in private
    for page in (before, middle, after):
        assert not [word for word in private if word in page]


def test_english_is_available(client, web_engine):
    page = client.get("/intake?lang=en").get_data(as_text=True)
    assert "Online public-opinion channel" in page and "Title" in page and "Xunchang Town" in page
    post_intake(client)
    client.get("/lang/en")
    receipt = client.get("/intake/receipt").get_data(as_text=True)
    assert "Your tracking code" in receipt
    tracking = client.get(f"/track/{only_code(web_engine)}").get_data(as_text=True)
    assert "Step 1 · Determine the topic" in tracking and "Being reviewed" in tracking
    assert "Infrastructure" in tracking and "确定协商主题" not in tracking
    assert "Tracking code not found" in client.get("/track/XS-2222-2222").get_data(as_text=True)


def test_a_declined_topic_shows_the_office_words_and_ends_at_acceptance(web_services, client, web_engine):
    scenario = replace(SCENARIOS["declined"], counters={})
    post_intake(client)
    code = only_code(web_engine)
    (task,) = web_engine.list_tasks()
    done = drive(web_engine, task.instance_id, scenario)
    page = client.get(f"/track/{code}").get_data(as_text=True)
    assert "不予受理的说明" in page and "属于信访事项，已转有关部门依法办理。" in page
    assert "办理在受理环节结束，未进入协商六步。" in page
    for step in ("确定协商主题", "拟定协商方案", "回访督促问效", "未开始", "第 1 步"):
        assert step not in page                         # no step is listed as pending
    assert "2026-118" not in page and "内部核查" not in page      # the internal reason stays inside
    names = {web_services.accounts.user(username).display_name for _, username in done} | {u for _, u in done}
    assert not [word for word in names if word in page]
    english = client.get(f"/track/{code}?lang=en").get_data(as_text=True)
    assert "Why the topic was not accepted" in english and "ended at acceptance" in english
