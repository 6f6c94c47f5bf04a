"""The plan pages: a township organizer draws up and submits, bad input comes back with its message and the input
kept, the office approves, a consultation started from an item is linked, the completion figure links its items."""

from __future__ import annotations

import re

import pytest

from tests.unit.webui.conftest import csrf_of

HALL = "township_xunchang_hall"


def post(client, url, page_url, **data):
    token = csrf_of(client.get(page_url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


@pytest.fixture
def year(web_services):
    return web_services.engine.clock.now().year


def test_a_township_plan_is_drawn_up_refused_bad_input_approved_and_started(login, year, web_services):
    client = login("organizer_xunchang")
    opened = post(client, "/plans/open", "/plans", year=str(year), unit="township_xunchang")
    plan_url = opened.headers["Location"]
    plan_id = int(plan_url.rsplit("/", 1)[1])
    bad = post(client, f"/plans/{plan_id}/items", plan_url, title="老街停车难", description="字" * 20,
               hall_code="", target_month="")
    page = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "乡镇的议题须选择议事厅（室）" in page and 'value="老街停车难"' in page
    assert "请选择计划月份（1–12 月）" in page                     # every bad field at once
    good = post(client, f"/plans/{plan_id}/items", plan_url, title="老街停车难", description="老街片区停车位不足",
                hall_code=HALL, lead_username="m001", target_month="5")
    assert good.status_code == 302
    post(client, f"/plans/{plan_id}/submit", plan_url)
    other = login("organizer_gongquan")
    denied = post(other, f"/plans/{plan_id}/items", plan_url, title="x", hall_code=HALL, target_month="5")
    assert denied.status_code == 403
    office = login("office")
    review = office.get("/plans/review").get_data(as_text=True)
    assert "巡场镇" in review and f"/plans/{plan_id}#decision" in review
    refused = post(office, f"/plans/{plan_id}/return", plan_url, note="")
    assert refused.status_code == 422 and "退回须写明理由" in refused.get_data(as_text=True)
    post(office, f"/plans/{plan_id}/approve", plan_url)
    shown = office.get(plan_url).get_data(as_text=True)
    assert "已批准" in shown and "老街停车难" in shown and "发起协商" in shown and "添加议题" not in shown
    item_id = int(re.search(r"/plans/items/(\d+)/start", shown).group(1))
    client = login("organizer_xunchang")
    short = post(client, f"/plans/items/{item_id}/start", f"/plans/items/{item_id}/start", title="老街",
                 description="太短", category="transport")
    assert short.status_code == 422 and 'value="老街"' in short.get_data(as_text=True)
    started = post(client, f"/plans/items/{item_id}/start", f"/plans/items/{item_id}/start", title="老街停车难",
                   description="老街片区停车位不足，群众反映强烈", category="transport")
    assert started.status_code == 302
    instance_url = started.headers["Location"]
    case = client.get(instance_url).get_data(as_text=True)
    assert "年度协商计划" in case and "1. 老街停车难" in case
    again = post(client, f"/plans/items/{item_id}/start", f"/plans/items/{item_id}/start", title="老街停车难",
                 description="老街片区停车位不足，群众反映强烈", category="transport")
    assert again.status_code == 422 and "一个议题只能关联一个协商事项" in again.get_data(as_text=True)
    office = login("office")
    unlinked = post(office, "/plans/link", instance_url, instance_id=instance_url.rsplit("/", 1)[1], item="")
    assert unlinked.status_code == 302
    case = office.get(instance_url).get_data(as_text=True)
    assert "解除年度计划关联" in case and "关联计划议题" in case     # the timeline says so; it may be linked again
    instance_id = instance_url.rsplit("/", 1)[1]
    relinked = post(office, "/plans/link", instance_url, instance_id=instance_id, item=str(item_id))
    assert relinked.status_code == 302 and "关联年度计划议题" in office.get(instance_url).get_data(as_text=True)
    figures = login("office").get(f"/figures?period={year}").get_data(as_text=True)
    assert "年度计划完成情况" in figures
    assert f'href="/plans/completion?year={year}&amp;unit=township_xunchang&amp;measure=started">1</a>' in figures
    behind = office.get(f"/plans/completion?year={year}&unit=township_xunchang&measure=started").get_data(as_text=True)
    assert "老街停车难" in behind and instance_url.rsplit("/", 1)[1] in behind


def test_members_do_not_see_plans_and_the_menu_shows_them_to_staff(login):
    assert login("m001").get("/plans").status_code == 403
    assert "年度计划" in login("organizer_xunchang").get("/plans").get_data(as_text=True)


def test_a_bad_year_says_so(login):
    response = login("office").get("/plans?year=20x6")
    assert response.status_code == 422 and "20x6" in response.get_data(as_text=True)


def test_the_plan_downloads_as_a_sheet_with_its_items(login, year):
    import io

    from openpyxl import load_workbook

    client = login("organizer_xunchang")
    plan_url = post(client, "/plans/open", "/plans", year=str(year), unit="township_xunchang").headers["Location"]
    post(client, plan_url.replace("/plans/", "/plans/") + "/items", plan_url, title="老街停车难", description="",
         hall_code=HALL, lead_username="m001", target_month="5")
    response = client.get(plan_url + "?format=xlsx")
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.values)
    assert rows[0][:3] == ("序号", "议题", "来源")
    assert rows[1][:2] == (1, "老街停车难") and rows[1][3] == "巡场镇珙桐议事厅" and rows[1][5] == 5
    assert rows[1][4] not in ("", "m001")                     # the lead's name, not their account


def test_the_office_links_a_topic_to_a_plan_item_at_triage(login, year, web_services):
    from domain.plans.service import ItemInput
    from domain.plans.start import person
    from domain.plans.views import linked_item

    engine = web_services.engine
    with engine.reading() as session:
        organizer, office = person(session, "organizer_county"), person(session, "office")
    plan_id = web_services.plans.open_plan(organizer, year, "county")
    item_id = web_services.plans.add_item(organizer, plan_id, ItemInput("县城供水保障", "", "", "", "", "4"))
    web_services.plans.submit(organizer, plan_id)
    web_services.plans.approve(office, plan_id)
    instance_id = engine.start_instance("consultation", {
        "title": "县城老城区停水频繁", "description": "老城区夏季经常停水，影响生活", "category": "infrastructure",
        "scope": "county", "source": "online"})
    [triage] = engine.list_tasks(instance_id=instance_id)
    client = login("office")
    task_url = f"/tasks/{triage.id}"
    page = client.get(task_url).get_data(as_text=True)
    assert "关联计划议题" in page and "1. 县城供水保障" in page
    linked = post(client, "/plans/link", task_url, instance_id=str(instance_id), item=str(item_id), next=task_url)
    assert linked.status_code == 302 and linked.headers["Location"].endswith(task_url)
    with engine.reading() as session:
        assert linked_item(session, instance_id)[0].id == item_id
    assert "承接" in client.get(task_url).get_data(as_text=True)
