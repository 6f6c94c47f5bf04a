"""Every way a topic comes in besides the public's: a member's own topic credited to them, a topic the office or an
organizer records for a resident (source, resident, village, recorder audited), the village checked against its
township, routing the same for every source, and the same rules for the engine and the API."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from domain.consultation.models import IntakeItem
from engine.errors import PermissionDenied, ValidationFailed
from engine.store.models import AuditEvent, ProcessInstance, User
from tests.unit.webui.conftest import csrf_of
from tests.unit.webui.test_i18n import _assert_english, _process_and_people_data

TOPIC = {"title": "清溪社区停车难", "description": "社区道路狭窄，夜间车辆乱停，消防通道经常被堵。",
         "category": "governance", "scope": "village", "township": "township_xunchang",
         "village": "township_xunchang_v01"}
RESIDENT = {"source": "hall", "contact_name": "王大爷", "contact_phone": "139 0000 5678"}
RESIDENT_NO_PHONE = {"source": "hall", "contact_name": "王大爷"}


def post(client, path: str, data: dict):
    token = csrf_of(client.get(path).get_data(as_text=True))
    return client.post(path, data=data | {"csrf_token": token})


def started(engine) -> list[ProcessInstance]:
    with engine.unit_of_work() as session:
        rows = session.scalars(select(ProcessInstance).order_by(ProcessInstance.id)).all()
        session.expunge_all()
        return list(rows)


def name_of(engine, username: str) -> str:
    with engine.unit_of_work() as session:
        return session.scalar(select(User.display_name).where(User.username == username))


def receipt_code(client) -> str:
    page = client.get("/intake/receipt").get_data(as_text=True)
    return re.search(r'<p class="tracking-code"[^>]*>(XS-[A-Z2-9]{4}-[A-Z2-9]{4})</p>', page).group(1)


# --- a member's own topic ------------------------------------------------------------------------------------------
def test_a_member_raises_a_topic_credited_to_them(login, client, web_engine):
    login("m001")
    form = client.get("/intake/propose").get_data(as_text=True)
    assert 'href="/intake/propose"' in client.get("/inbox").get_data(as_text=True)      # in the menu
    assert 'name="title"' in form and 'name="village"' in form
    assert 'name="contact_name"' not in form and 'name="contact_phone"' not in form      # they are known
    assert name_of(web_engine, "m001") in form and "委员提出" in form and "您还没有提出过议题。" in form

    response = post(client, "/intake/propose", TOPIC)
    assert response.status_code == 302 and response.headers["Location"] == "/intake/receipt"
    code = receipt_code(client)
    assert "记在您的名下" in client.get("/intake/receipt").get_data(as_text=True)

    (instance,) = started(web_engine)
    data = web_engine.show_instance(instance.id).data
    assert instance.started_by == "m001"
    assert (data["source"], data["proposer"], data["village"]) == ("member", "m001", "township_xunchang_v01")
    assert "contact_name" not in data and "recorded_by" not in data

    mine = client.get("/intake/propose").get_data(as_text=True)        # their own list, with the tracking code
    assert TOPIC["title"] in mine and code in mine and "受理中" in mine
    listed = client.get("/instances").get_data(as_text=True)
    assert re.search(rf"{TOPIC['title']}</a></td>\s*<td class=\"starter labelled\" data-label=\"发起人\">"
                     rf"{name_of(web_engine, 'm001')}</td>", listed)
    case = client.get(f"/instances/{instance.id}").get_data(as_text=True)
    assert re.search(rf"<dt>提出委员</dt><dd>{name_of(web_engine, 'm001')}</dd>", case)
    assert "<dt>村（社区）</dt><dd>清溪社区</dd>" in case and "<dt>来源渠道</dt><dd>委员提出</dd>" in case


def test_a_members_invalid_topic_keeps_what_they_typed_and_saves_nothing(login, client, web_engine):
    login("m001")
    response = post(client, "/intake/propose", TOPIC | {"title": "路", "scope": "township", "township": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and not started(web_engine)
    assert 'value="路"' in page and TOPIC["description"] in page and 'value="township" required checked' in page
    assert '<p class="field-error" id="err-title">至少需要 4 个字</p>' in page
    assert '<p class="field-error" id="err-village">请先选择村（社区）所在的乡镇</p>' in page


def test_only_members_raise_topics_of_their_own(login, client, web_engine):
    login("office")
    assert client.get("/intake/propose").status_code == 403
    assert 'href="/intake/propose"' not in client.get("/inbox").get_data(as_text=True)
    with pytest.raises(PermissionDenied):
        web_engine.start_instance("consultation", TOPIC | {"source": "member", "proposer": "office"}, actor="office")
    with pytest.raises(ValidationFailed) as refused:      # credited to someone else
        web_engine.start_instance("consultation", TOPIC | {"source": "member", "proposer": "m002"}, actor="m001")
    assert list(refused.value.field_errors) == ["proposer"]
    assert not started(web_engine)


# --- a topic recorded for a resident -------------------------------------------------------------------------------
def test_an_organizer_records_a_residents_topic_with_its_source(login, client, web_engine):
    login("organizer_xunchang")
    form = client.get("/intake/record").get_data(as_text=True)
    assert 'href="/intake/record"' in form                                  # in the menu
    township = form[form.index('name="township"'):form.index('name="village"')]
    assert township.count('<option value="township_') == 1 and 'value="township_xunchang" selected' in township
    assert form.count('name="source"') == 4 and "来电" in form and "走访" in form

    response = post(client, "/intake/record", TOPIC | RESIDENT)
    assert response.status_code == 302
    receipt = client.get("/intake/receipt").get_data(as_text=True)
    code = receipt_code(client)
    assert "请把这个查询编号交给王大爷" in receipt and "登记成功" in receipt

    (instance,) = started(web_engine)
    data = web_engine.show_instance(instance.id).data
    assert instance.started_by == "organizer_xunchang"
    assert (data["source"], data["recorded_by"], data["contact_name"], data["contact_phone"]) == \
        ("hall", "organizer_xunchang", "王大爷", "13900005678")
    assert "proposer" not in data
    with web_engine.unit_of_work() as session:
        actors = session.execute(select(AuditEvent.kind, AuditEvent.actor)
                                 .where(AuditEvent.instance_id == instance.id)).all()
        assert session.scalar(select(IntakeItem.source).where(IntakeItem.tracking_code == code)) == "hall"
    assert ("instance_started", "organizer_xunchang") in actors            # the recorder is audited

    mine = client.get("/intake/record").get_data(as_text=True)
    assert TOPIC["title"] in mine and code in mine and "线下议事厅" in mine
    login("office")
    case = client.get(f"/instances/{instance.id}").get_data(as_text=True)
    assert re.search(rf"<dt>登记人</dt><dd>{name_of(web_engine, 'organizer_xunchang')}</dd>", case)
    assert "<dt>来源渠道</dt><dd>线下议事厅</dd>" in case and "<dt>联系人</dt><dd>王大爷</dd>" in case


def test_the_office_records_a_phone_call_for_any_township(login, client, web_engine):
    login("office")
    form = client.get("/intake/record").get_data(as_text=True)
    assert form[form.index('name="township"'):form.index('name="village"')].count('<option value="township_') == 13
    response = post(client, "/intake/record", TOPIC | RESIDENT | {
        "source": "phone", "scope": "county", "township": "township_luobiao", "village": "", "contact_phone": ""})
    assert response.status_code == 302
    (instance,) = started(web_engine)
    assert web_engine.show_instance(instance.id).data["source"] == "phone"


def test_a_recording_needs_its_source_and_the_residents_name_and_keeps_the_input(login, client, web_engine):
    login("organizer_xunchang")
    response = post(client, "/intake/record", TOPIC | RESIDENT | {"source": "member", "contact_name": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and not started(web_engine)
    assert '<p class="field-error" id="err-source">此项为必填项</p>' in page     # only the four offered count
    assert '<p class="field-error" id="err-contact_name">此项为必填项</p>' in page
    assert 'value="139 0000 5678"' in page and TOPIC["description"] in page
    assert '<option value="township_xunchang_v01" selected>清溪社区</option>' in page


def test_a_township_organizer_records_only_their_own_townships_topics(login, client, web_engine):
    login("organizer_xunchang")
    response = post(client, "/intake/record", TOPIC | RESIDENT | {"township": "township_gongquan", "village": ""})
    assert response.status_code == 422 and not started(web_engine)
    assert "您只能登记本乡镇群众反映的事项" in response.get_data(as_text=True)


@pytest.mark.parametrize("username", ["m001", "lead_xunchang", "liaison_drc"])
def test_only_the_office_and_organizers_record_for_residents(login, client, web_engine, username):
    login(username)
    assert client.get("/intake/record").status_code == 403
    token = csrf_of(client.get("/inbox").get_data(as_text=True))
    assert client.post("/intake/record", data=TOPIC | RESIDENT | {"csrf_token": token}).status_code == 403
    assert 'href="/intake/record"' not in client.get("/inbox").get_data(as_text=True)
    with pytest.raises(PermissionDenied):
        web_engine.start_instance("consultation", TOPIC | RESIDENT_NO_PHONE | {"recorded_by": username},
                                  actor=username)
    assert not started(web_engine)


def test_the_api_keeps_the_same_rules(client, web_services, web_engine):
    token = web_services.accounts.issue_token("m001")
    headers = {"Authorization": f"Bearer {token}"}
    body = {"process_id": "consultation", "data": TOPIC | RESIDENT_NO_PHONE | {"recorded_by": "m001"}}
    assert client.post("/api/v1/instances", json=body, headers=headers).status_code == 403
    body = {"process_id": "consultation", "data": TOPIC | {"source": "online", "village": "township_gongquan_v01"}}
    refused = client.post("/api/v1/instances", json=body, headers=headers)
    assert refused.status_code == 422 and "village" in refused.get_json()["field_errors"]
    assert not started(web_engine)


# --- the village, from the directory -------------------------------------------------------------------------------
@pytest.mark.parametrize("path, user, extra", [("/intake", None, {}), ("/intake/propose", "m001", {}),
                                               ("/intake/record", "office", RESIDENT)])
def test_a_village_of_another_township_is_refused_with_its_message(login, client, web_engine, path, user, extra):
    if user:
        login(user)
    response = post(client, path, TOPIC | extra | {"village": "township_gongquan_v01"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and not started(web_engine)
    assert '<p class="field-error" id="err-village">所选村（社区）不属于所选乡镇</p>' in page
    assert '<option value="township_gongquan_v01" selected>' in page and 'value="township_xunchang" selected' in page
    english = client.post(f"{path}?lang=en", data=TOPIC | extra | {
        "village": "township_gongquan_v01", "csrf_token": csrf_of(page)}).get_data(as_text=True)
    assert "The village is not in the chosen township" in english


def test_the_village_stays_optional(client, web_engine):
    response = post(client, "/intake", TOPIC | {"village": ""})
    assert response.status_code == 302
    (instance,) = started(web_engine)
    assert "village" not in web_engine.show_instance(instance.id).data


# --- routing and tracking, whichever way it came in ----------------------------------------------------------------
@pytest.mark.parametrize("path, user, extra", [("/intake", None, {}), ("/intake/propose", "m001", {}),
                                               ("/intake/record", "office", RESIDENT | {"source": "visit"})])
@pytest.mark.parametrize("scope, category, routed", [
    ("village", "governance", ("township", "township_xunchang")),
    ("multi_township", "transport", ("committee", "committee_economy")),
    ("county", "health", ("county", "county"))])
def test_routing_prefills_the_triage_for_every_source(login, client, web_engine, path, user, extra, scope, category,
                                                      routed):
    if user:
        login(user)
    assert post(client, path, TOPIC | extra | {"scope": scope, "category": category}).status_code == 302
    code = receipt_code(client)
    (task,) = web_engine.list_tasks()
    data = web_engine.show_instance(task.instance_id).data
    assert task.task_spec == "triage" and (data["tier"], data["org_unit"]) == routed
    tracked = client.get(f"/track/{code}")
    assert tracked.status_code == 200 and TOPIC["title"] in tracked.get_data(as_text=True)
    with web_engine.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(IntakeItem)) == 1


def test_the_instance_list_says_who_raised_each_topic(login, client, web_engine):
    assert post(client, "/intake", TOPIC | {"title": "公众反映的路灯问题"}).status_code == 302
    login("organizer_xunchang")
    assert post(client, "/intake/record", TOPIC | RESIDENT).status_code == 302
    login("office")
    listed = client.get("/instances").get_data(as_text=True)
    starter = r'</a></td>\s*<td class="starter labelled" data-label="发起人">'
    assert re.search(rf"公众反映的路灯问题{starter}公众</td>", listed)
    assert re.search(rf"{TOPIC['title']}</a></td>\s*<td class=\"starter labelled\" data-label=\"发起人\">"
                     rf"{name_of(web_engine, 'organizer_xunchang')}</td>", listed)


@pytest.mark.parametrize("username, path, words", [
    ("m001", "/intake/propose", ("Raise a topic for consultation", "Raised by member", "Topics I raised")),
    ("organizer_xunchang", "/intake/record", ("Record a topic for a resident", "Deliberation hall", "Phone call",
                                              "Topics I recorded", "Recorded by"))])
def test_the_signed_in_intake_pages_read_in_english(login, client, web_engine, username, path, words):
    login(username)
    client.get("/lang/en")
    assert post(client, path, TOPIC | RESIDENT).status_code == 302
    receipt = client.get("/intake/receipt").get_data(as_text=True)
    data = [TOPIC["title"], RESIDENT["contact_name"], *_process_and_people_data(web_engine)]   # longest first
    _assert_english(receipt, data, "Open the case file")
    _assert_english(client.get(path).get_data(as_text=True), data, *words)
