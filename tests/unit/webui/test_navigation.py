"""The header menu: supervision's pages under one 督办 group (a <details>, so it opens without script and from the
keyboard), a group of one shown as its one link, the entry of the page you are on marked, nobody shown what they may
not open."""

from __future__ import annotations

import lxml.html


def _menu(html: str):
    return lxml.html.fromstring(html).xpath("//header//nav[contains(@class,'nav')]")[0]


def _top_level(nav) -> list[str]:
    return [e.text_content().strip() for e in nav.xpath("./a | ./details/summary")]


def test_a_county_supervisor_finds_supervision_in_one_group(client, login):
    login("supervisor_county")
    nav = _menu(client.get("/board").get_data(as_text=True))
    assert _top_level(nav) == ["待办", "发起流程", "协商事项", "督办", "平台", "概览"]
    group, platforms = nav.xpath("./details[contains(@class,'nav-group')]")
    assert platforms.xpath(".//a/text()") == ["议事厅", "年度计划"]
    links = [(a.text, a.get("href")) for a in group.xpath(".//div[@class='nav-menu']/a")]
    assert links == [("督办看板", "/board"), ("建议台账", "/ledger"), ("数据", "/figures"), ("时限规则", "/deadlines")]
    assert "on" in group.get("class").split() and group.get("open") is None    # on its page, still closed
    assert group.xpath(".//a[@aria-current='page']")[0].text == "督办看板"


def test_a_member_sees_the_ledger_as_a_plain_link_and_no_supervision(client, login):
    login("m001")
    nav = _menu(client.get("/ledger").get_data(as_text=True))
    assert _top_level(nav) == ["待办", "提出议题", "发起流程", "协商事项", "建议台账", "概览"]
    assert nav.xpath("//header//a[@class='who']/@href") == ["/members/me"]         # their own page: their name
    assert not nav.xpath(".//details") and not nav.xpath(".//a[@href='/board' or @href='/figures']")
    assert nav.xpath("./a[@aria-current='page']")[0].text == "建议台账"


def test_an_admin_has_the_group_and_administration(client, login):
    login("admin")
    nav = _menu(client.get("/admin/users").get_data(as_text=True))
    assert _top_level(nav) == ["待办", "发起流程", "协商事项", "督办", "平台", "概览", "管理"]
    supervision, platforms, administration = nav.xpath("./details")
    assert "on" not in supervision.get("class").split() and "on" in administration.get("class").split()
    assert platforms.xpath(".//a/text()") == ["议事厅", "年度计划", "会议活动"]
    assert administration.xpath(".//a/text()") == ["用户与单位", "流程工作室"]


def test_a_process_owner_finds_the_studio(client, login):
    login("owner")
    nav = _menu(client.get("/studio/processes").get_data(as_text=True))
    assert "流程工作室" in _top_level(nav) and "管理" not in _top_level(nav)
    assert nav.xpath("./a[@aria-current='page']")[0].text == "流程工作室"


def test_a_citizen_sees_the_public_way_in_only(client):
    nav = _menu(client.get("/login").get_data(as_text=True))
    assert _top_level(nav) == ["线上社情民意直通车"] and not nav.xpath(".//details")


def test_the_menu_speaks_english(client, login):
    login("supervisor_county")
    client.get("/lang/en")
    nav = _menu(client.get("/board").get_data(as_text=True))
    assert "Supervision" in _top_level(nav) and nav.get("aria-label") == "Main menu"
    assert [a.text for a in nav.xpath(".//div[@class='nav-menu']/a")] == [
        "Overdue board", "Ledger", "Figures", "Deadlines", "Halls", "Annual plan"]
