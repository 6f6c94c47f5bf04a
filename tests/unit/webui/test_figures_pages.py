"""The figures pages: who sees them, what they show (hand-computed records, tests/support/figures_fixture.py), the
member record's scope and its export read back."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from openpyxl import load_workbook

from tests.support import figures_fixture


@pytest.fixture
def ids(web_engine):
    with web_engine.unit_of_work() as session:
        return figures_fixture.load(session)


def test_the_office_sees_the_years_figures_with_their_parts_and_ledger_links(login, ids):
    page = login("office").get("/figures?period=2026").get_data(as_text=True)
    assert "66.7%" in page                                                    # adoption, numerator / denominator:
    assert re.search(r'>2</a> / <a href="/ledger\?period=2026&amp;answered=1"[^>]*>3</a>', page)     # both links
    assert 'href="/ledger?period=2026&amp;adoption=adopted,partly"' in page
    assert 'href="/ledger?period=2026&amp;answered=1"' in page
    assert "50.0%" in page                                                 # step 1 on time: one of two
    charts = {m.group(1): json.loads(m.group(2)) for m in re.finditer(
        r'<script type="application/json" id="chart-([a-z-]+)">(.*?)</script>', page, re.S)}
    assert set(charts) == {"held", "rates", "on-time"}
    assert charts["held"]["labels"][2] == "2026-03" and charts["held"]["datasets"][0]["data"][2] == 1
    assert charts["on-time"]["datasets"][0]["data"][0] == 50.0 and charts["on-time"]["datasets"][0]["data"][1] is None
    assert re.search(r"charts/charts\.[0-9a-f]{12}\.js", page) and "“组织协商会议”一步办理完成即计为召开一次" in page


@pytest.mark.parametrize("query, count", [("period=2026&adoption=adopted,partly", 2), ("period=2026&answered=1", 3),
                                          ("period=2026", 6)])
def test_the_ledger_behind_each_link_holds_as_many_suggestions(login, ids, query, count):
    page = login("office").get(f"/ledger?{query}").get_data(as_text=True)
    assert f"共 {count} 项" in page                      # numerator, denominator, all raised (A's five, B's one)


def test_an_empty_period_shows_dashes_not_zero_percent(login, ids):
    page = login("office").get("/figures?period=2024-Q1").get_data(as_text=True)
    assert "0.0%" not in page and "—" in page and "本期没有召开协商会议" in page


def test_a_bad_period_says_so_and_keeps_the_input(login, ids):
    response = login("office").get("/figures?period=2026-13")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "2026-13" in page and "无法识别" in page


def test_a_township_supervisor_sees_only_their_township(login, ids):
    page = login("supervisor_xunchang").get("/figures?period=2026").get_data(as_text=True)
    assert "只统计你所在单位的协商" in page
    assert 'href="/ledger?period=2026&amp;unit=township_xunchang"' in page          # their one suggestion
    assert "66.7%" not in page and "2 / 3" not in page                  # the county's answers are not theirs
    assert re.search(r"<b>1</b><span>开展协商（次）", page)


def test_members_do_not_see_figures(login, ids):
    client = login("m001")
    assert client.get("/figures").status_code == 403 and client.get("/figures/heatmap").status_code == 403
    assert "/figures" not in client.get("/inbox").get_data(as_text=True)       # nor the menu entry


def test_the_heatmap_colours_steps_and_says_the_numbers(login, ids):
    page = login("supervisor_county").get("/figures/heatmap?period=2026&mode=breach").get_data(as_text=True)
    data = json.loads(re.search(r'id="heatmap-data">(.*?)</script>', page, re.S).group(1))
    assert "<bpmn:subProcess" in data["xml"] and data["levels"]["step1"] == 4 and data["levels"]["step6"] == 0
    assert "1 / 2" in page and "19.0" in page and re.search(r"bpmn/viewer\.[0-9a-f]{12}\.js", page)


@pytest.mark.parametrize("who, status", [("m001", 200), ("m002", 403), ("office", 200), ("supervisor_xunchang", 200),
                                         ("organizer_xunchang", 403)])
def test_a_members_record_is_for_them_the_office_and_supervisors(login, ids, who, status):
    client = login(who)
    old = client.get("/members/m001/record?year=2026")                 # the former address leads to the page
    assert old.status_code == 301 and old.headers["Location"] == "/members/m001?year=2026"
    response = client.get("/members/m001?year=2026")
    assert response.status_code == status
    if status == 200:
        page = response.get_data(as_text=True)
        assert f"主题{ids['a']}" in page and f"主题{ids['b']}" in page and f"议题{ids['b']}" in page


def test_the_member_record_exports_read_back(login, ids):
    client = login("m001")
    text = client.get("/members/m001?year=2026&format=csv").get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["委员", "联系议事厅", "类别", "事项编号", "会议编号", "事项", "日期", "状态"]
    assert ["调查研究", str(ids["a"]), "", f"主题{ids['a']}", "2026-02-10", "已完成"] in [row[2:] for row in rows]
    assert sum(row[2] == "参加会议活动" for row in rows) == 2 and sum(row[2] == "会议意见建议" for row in rows) == 6
    book = load_workbook(io.BytesIO(client.get("/members/m001?year=2026&format=xlsx").get_data()))
    sheet = book.active
    assert sheet.title == "委员履职" and sheet.max_row == len(rows)
    assert [c.value for c in sheet[1]] == rows[0]


def test_a_member_reaches_their_own_record_from_their_name(login, ids):
    client = login("m001")
    assert 'href="/members/me"' in client.get("/inbox").get_data(as_text=True)
    page = client.get("/members/me?year=2026").get_data(as_text=True)
    assert f"主题{ids['a']}" in page and "m001" in page


def test_an_unknown_member_or_year_is_not_found(login, ids):
    client = login("office")
    assert client.get("/members/nobody").status_code == 404
    assert client.get("/members/m001?year=abcd").status_code == 404
