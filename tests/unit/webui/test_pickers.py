"""Pickers, not codes: the receiving unit from the org-unit tree, people by name and unit, the plan's hall from the
directory, meeting attendance with department staff and residents; the server refuses what was not offered."""

from __future__ import annotations

import copy
import re

import lxml.html
import pytest
from werkzeug.datastructures import MultiDict

from domain.people.labels import PersonChoice
from tests.support.consultation import SCENARIOS
from tests.unit.webui.conftest import csrf_of
from tests.unit.webui.test_casefile import advance_to, case_of, name_of, started
from tests.unit.webui.test_formrender import form
from webui.formrender import FieldContext, parse_form, render_form
from webui.pickers import label

CODE_TEXT = re.compile(r"\b(township|committee|sector|dept)_[a-z]+|\b(m\d{3}|liaison_[a-z_0-9]+|organizer_[a-z]+)\b")


def _dom(html) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(str(html))


def _visible_text(html: str) -> str:
    """What a person reads: text of the page without attributes, scripts or hidden inputs."""
    return _dom(html).text_content()


def _task(engine, spec: str, scenario=None):
    scenario = scenario or copy.deepcopy(SCENARIOS["township"])
    instance_id = started(engine, scenario)
    return instance_id, advance_to(engine, instance_id, scenario, spec), scenario


def _post(client, task, page: str, **fields):
    data = {"csrf_token": csrf_of(page), "revision": str(task.revision), "action": "submit", **fields}
    return client.post(f"/tasks/{task.id}", data=data)


# --- the renderer ---

def test_a_unit_picker_groups_units_by_kind_shows_names_and_marks_each_units_tier():
    schema = {"type": "object", "properties": {"org_unit": {"type": "string", "title": "承接单位"}}}
    ui = {"org_unit": {"ui:widget": "orgunit", "ui:options": {"tier_field": "tier"}}}
    units = [("county", "珙县政协", "县政协", "county"),
             ("committee_economy", "经济委员会", "专门委员会", "committee"),
             ("sector_cpc", "中共界别小组", "界别小组", "committee"),
             ("township_xunchang", "巡场镇", "乡镇", "township")]
    page = _dom(render_form(schema, ui, {"org_unit": "township_xunchang"}, {}, FieldContext(units=units)))
    select = page.xpath(".//select[@name='org_unit']")[0]
    assert select.get("data-tier-field") == "tier"
    assert [g.get("label") for g in select.xpath("optgroup")] == ["县政协", "专门委员会", "界别小组", "乡镇"]
    options = select.xpath(".//optgroup/option")
    assert [(o.text, o.get("value"), o.get("data-tier")) for o in options] == [
        ("珙县政协", "county", "county"), ("经济委员会", "committee_economy", "committee"),
        ("中共界别小组", "sector_cpc", "committee"), ("巡场镇", "township_xunchang", "township")]
    assert select.xpath(".//option[@selected]")[0].text == "巡场镇"
    assert "township_" not in select.text_content()


def test_a_place_picker_offers_the_halls_by_village_and_another_place_written_out():
    schema = {"type": "object", "properties": {"venue": {"type": "string", "title": "协商地点"},
                                               "venue_other": {"type": "string", "title": "其他地点"}}}
    ui = {"venue": {"ui:widget": "orgunit", "ui:options": {"kind": "hall", "other": True}}}
    halls = [("t_hall", "巡场镇珙桐议事厅", "巡场镇"), ("t_v01_hall", "清溪社区珙桐议事室", "清溪社区")]
    context = FieldContext(places={"venue": halls})
    page = _dom(render_form(schema, ui, {"venue": "t_v01_hall"}, {}, context))
    select = page.xpath(".//select[@name='venue']")[0]
    assert [g.get("label") for g in select.xpath("optgroup")] == ["巡场镇", "清溪社区"]
    assert select.xpath(".//option[@selected]")[0].text == "清溪社区珙桐议事室"
    assert [o.get("value") for o in select.xpath("option")][-1] == "other"   # last, outside the groups
    assert page.xpath(".//input[@name='venue_other']")
    kept = _dom(render_form(schema, ui, {"venue": "老礼堂"}, {}, context))      # an old free-text venue stays
    assert kept.xpath(".//select[@name='venue']//option[@selected]")[0].text == "老礼堂"


def test_a_person_reads_as_name_unit_and_what_they_are():
    assert label(PersonChoice("m001", "王建国", "巡场镇", "member:county")) == "王建国 · 巡场镇 · 县政协委员"
    assert label(PersonChoice("a1", "李四", "珙县政协", "member:advisor")) == "李四 · 珙县政协 · 资政员"
    assert label(PersonChoice("l1", "赵六", "县住房和城乡建设局", "department")) == \
        "赵六 · 县住房和城乡建设局 · 承办单位联络员"
    assert label(PersonChoice("x", "孤身")) == "孤身"


def test_attendance_rows_of_residents_parse_and_stay_bounded():
    schema, ui = form("hold_meeting")
    rows = schema["properties"]["other_attendees"]
    assert rows["maxItems"] <= 100 and rows["items"]["properties"]["name"]["maxLength"] <= 50
    posted = MultiDict([("other_attendees", "0"), ("other_attendees/0/name", "张桂芳"),
                        ("other_attendees/0/identity", "resident"), ("other_attendees", "1"),
                        ("other_attendees/1/name", ""), ("other_attendees/1/identity", ""),
                        ("department_attendees", "liaison_housing")])
    data = parse_form(schema, ui, posted, MultiDict(), None)
    assert data["other_attendees"] == [{"name": "张桂芳", "identity": "resident"}]   # the empty row is skipped
    assert data["department_attendees"] == ["liaison_housing"]


# --- the pages ---

def test_triage_offers_the_unit_tree_by_name_preselected_by_routing(web_engine, login):
    _id, triage, _ = _task(web_engine, "triage")
    web_engine.claim_task(triage.id, "office")        # the one who holds it may hand it on (转办)
    html = login("office").get(f"/tasks/{triage.id}").get_data(as_text=True)
    select = _dom(html).xpath(".//select[@name='org_unit']")[0]
    assert [g.get("label") for g in select.xpath("optgroup")] == ["县政协", "专门委员会", "界别小组", "乡镇"]
    assert select.xpath(".//option[@selected]")[0].get("value") == "township_xunchang"
    assert select.xpath(".//option[@selected]")[0].text == "巡场镇"
    assert len(select.xpath(".//optgroup[@label='乡镇']/option")) == 13
    assert not select.xpath(".//option[contains(., '_')]"), "an option shows a code"
    assert "承接单位代码" not in html
    reassign = _dom(html).xpath(".//select[@name='to']/option")
    assert reassign and all(" · 珙县政协 · 政协办公室" in o.text and "(" not in o.text for o in reassign)


def test_a_unit_outside_the_chosen_tier_is_refused_with_a_clear_message(web_engine, login, client):
    _id, triage, _ = _task(web_engine, "triage")
    page = login("office").get(f"/tasks/{triage.id}").get_data(as_text=True)
    response = _post(client, triage, page, decision="accept", tier="township", org_unit="committee_economy")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    message = _dom(body).get_element_by_id("f-org_unit-error").text_content()
    assert "经济委员会不能承接" in message and "请选择乡镇" in message
    kept = _dom(body).xpath(".//select[@name='org_unit']//option[@selected]")[0]
    assert kept.get("value") == "committee_economy"                          # what was chosen stays on the page
    assert web_engine.list_tasks(instance_id=_id)[0].task_spec == "triage"


def test_the_plan_offers_its_townships_halls_and_researchers_by_name_and_unit(web_engine, web_services, login):
    _id, draft, _ = _task(web_engine, "draft_plan")
    html = login("organizer_xunchang").get(f"/tasks/{draft.id}").get_data(as_text=True)
    venue = _dom(html).xpath(".//select[@name='venue']")[0]
    assert [g.get("label") for g in venue.xpath("optgroup")] == ["巡场镇"]    # villages' rooms under their township
    names = [o.text for o in venue.xpath(".//option")]
    assert "巡场镇珙桐议事厅" in names and "清溪社区珙桐议事室" in names and names[-1] == "其他地点（在下方填写）"
    assert not [n for n in names if n.startswith("珙泉")], "another township's halls are offered"
    assert len(names) == 1 + 1 + 26 + 1       # 请选择, the township's hall, its 26 villages' rooms, other
    boxes = _dom(html).xpath(".//fieldset[.//input[@name='researchers']]//label")
    first = name_of(web_services, "m001")
    assert f"{first} · 巡场镇 · 市政协委员" in [b.text_content() for b in boxes]
    people = " ".join(b.text_content() for b in boxes)
    assert not CODE_TEXT.search(people) and "（m0" not in people


def test_a_hall_of_another_township_and_a_missing_other_place_are_refused(web_engine, login, client):
    _id, draft, scenario = _task(web_engine, "draft_plan")
    page = login("organizer_xunchang").get(f"/tasks/{draft.id}").get_data(as_text=True)
    fields = {"plan_goal": "摸清照明缺口", "meeting_date": "2026-04-15", "researchers": "m001",
              "research_questions": "路灯损坏数量"}
    body = _post(client, draft, page, venue="township_gongquan_hall", **fields).get_data(as_text=True)
    assert "“珙泉镇珙桐议事厅”不是本平台可选的议事厅（室），请从名单中选择" in \
        _dom(body).get_element_by_id("f-venue-error").text_content()
    body = _post(client, draft, page, venue="other", venue_other="", **fields).get_data(as_text=True)
    assert _dom(body).get_element_by_id("f-venue_other-error").text_content()
    response = _post(client, draft, page, venue="other", venue_other="老街社区活动中心", **fields)
    assert response.status_code == 302
    assert web_engine.show_instance(_id).data["venue_other"] == "老街社区活动中心"
    review = web_engine.list_tasks(instance_id=_id)[0]
    case = _dom(case_of(login(review.candidates[0]).get(f"/tasks/{review.id}").get_data(as_text=True)))
    venue = case.xpath(".//dt[.='协商地点']/following-sibling::dd[1]")[-1].text_content()
    assert venue == "其他地点" and "老街社区活动中心" in case.text_content()


def test_meeting_attendance_records_members_department_staff_and_residents(web_engine, web_services, login, client):
    _id, meeting, scenario = _task(web_engine, "hold_meeting")
    html = login("organizer_xunchang").get(f"/tasks/{meeting.id}").get_data(as_text=True)
    staff = [b.text_content() for b in _dom(html).xpath(".//fieldset[.//input[@name='department_attendees']]//label")]
    liaison = name_of(web_services, "liaison_housing")
    assert f"{liaison} · 县住房和城乡建设局 · 承办单位联络员" in staff
    assert len(staff) == 66        # two liaisons for each of the 33 departments
    assert _dom(html).xpath(".//select[@name='other_attendees/0/identity']//option[.='群众代表']")
    data = scenario.answer("hold_meeting", web_engine.show_instance(_id).data)
    fields = {"csrf_token": csrf_of(html), "revision": str(meeting.revision), "action": "submit",
              "meeting_held_on": data["meeting_held_on"], "minutes": data["minutes"],
              "attendees": data["attendees"], "department_attendees": ["liaison_housing", "m014"],
              "other_attendees": ["0"], "other_attendees/0/name": "张桂芳", "other_attendees/0/identity": "resident",
              "suggestions": ["0"], "suggestions/0/text": "增设老街路灯 20 盏",
              "suggestions/0/department": "dept_housing"}
    refused = client.post(f"/tasks/{meeting.id}", data=fields)
    assert refused.status_code == 422
    assert "不是承办单位联络员，请从名单中选择" in \
        _dom(refused.get_data(as_text=True)).get_element_by_id("f-department_attendees-error").text_content()
    fields["department_attendees"] = ["liaison_housing"]
    assert client.post(f"/tasks/{meeting.id}", data=fields).status_code == 302
    report = advance_to(web_engine, _id, scenario, "draft_report")
    case = case_of(login(report.candidates[0]).get(f"/tasks/{report.id}").get_data(as_text=True))
    assert liaison in case and "张桂芳" in case and "群众代表" in case
    assert "liaison_housing" not in _visible_text(case)


def test_a_committee_case_offers_every_hall_grouped_by_township(web_engine, login):
    scenario = copy.deepcopy(SCENARIOS["committee"])
    _id, draft, _ = _task(web_engine, "draft_plan", scenario)
    html = login(draft.candidates[0]).get(f"/tasks/{draft.id}").get_data(as_text=True)
    venue = _dom(html).xpath(".//select[@name='venue']")[0]
    assert len(venue.xpath("optgroup")) == 13 and len(venue.xpath(".//optgroup/option")) == 190


def test_a_person_not_offered_as_researcher_is_refused(web_engine, login, client):
    _id, draft, _ = _task(web_engine, "draft_plan")
    page = login("organizer_xunchang").get(f"/tasks/{draft.id}").get_data(as_text=True)
    response = _post(client, draft, page, plan_goal="摸清照明缺口", meeting_date="2026-04-15",
                     venue="township_xunchang_hall", researchers="m002", research_questions="路灯损坏数量")
    message = _dom(response.get_data(as_text=True)).get_element_by_id("f-researchers-error").text_content()
    assert response.status_code == 422 and "不是巡场镇的政协委员" in message and "m002" not in message


@pytest.mark.parametrize("spec", ["answer_suggestion"])
def test_department_rows_in_the_inbox_name_their_suggestion(web_engine, login, spec):
    _id, answer, scenario = _task(web_engine, spec)
    inbox = login("liaison_housing").get("/inbox?tab=claimable").get_data(as_text=True)
    rows = _dom(inbox).xpath(".//table[contains(@class,'inbox')]//tr[.//a[.='办理答复']]")
    assert [r.xpath(".//*[contains(@class,'item-label')]")[0].text for r in rows] == ["增设老街路灯 20 盏"]


def test_the_instance_page_names_the_plans_hall(web_engine, login, client):
    _id, draft, _ = _task(web_engine, "draft_plan")
    page = login("organizer_xunchang").get(f"/tasks/{draft.id}").get_data(as_text=True)
    response = _post(client, draft, page, plan_goal="摸清照明缺口", meeting_date="2026-04-15", researchers="m001",
                     venue="township_xunchang_v01_hall", research_questions="路灯损坏数量")
    assert response.status_code == 302
    detail = _dom(client.get(f"/instances/{_id}").get_data(as_text=True))
    plan = detail.xpath(".//div[contains(@class,'card')][h2='协商方案']")[0]
    assert plan.xpath(".//dt[.='地点']/following-sibling::dd[1]")[0].text_content() == "清溪社区珙桐议事室"
    assert "township_xunchang_v01_hall" not in plan.text_content()


@pytest.mark.parametrize("venue", [{"venue": "township_xunchang_v01_hall"},
                                   {"venue": "other", "venue_other": "老街社区活动中心"}])
def test_the_timeline_reads_a_plan_as_done_not_as_a_decision_on_its_venue(web_engine, login, client, venue):
    _id, draft, _ = _task(web_engine, "draft_plan")
    page = login("organizer_xunchang").get(f"/tasks/{draft.id}").get_data(as_text=True)
    response = _post(client, draft, page, plan_goal="摸清照明缺口", meeting_date="2026-04-15", researchers="m001",
                     research_questions="路灯损坏数量", **venue)
    assert response.status_code == 302
    timeline = _dom(client.get(f"/instances/{_id}").get_data(as_text=True)).xpath(".//*[contains(@class,'timeline')]")
    text = " ".join(t.text_content() for t in timeline)
    assert "拟定协商方案" in text
    assert "township_xunchang_v01_hall" not in text and "other" not in text and "老街社区活动中心" not in text
