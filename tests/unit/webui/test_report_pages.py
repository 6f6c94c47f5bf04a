"""The monthly report download (/figures/report.pdf): who gets which units, bad input, the PDF read back; and the
links to it and to the ledger rows behind the satisfaction figures."""

from __future__ import annotations

import io
import re
from urllib.parse import unquote

import pypdf
import pytest

from tests.support import figures_fixture, report_fixture


def text_of(pdf: bytes) -> str:
    """The PDF's text, whitespace and the NULs pypdf puts between CID glyphs taken out."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "".join(ch for page in reader.pages for ch in page.extract_text() if not ch.isspace() and ch != "\x00")


@pytest.fixture
def ids(web_engine):
    web_engine.clock.set(report_fixture.NOW)
    with web_engine.unit_of_work() as session:
        return report_fixture.load(session)


def test_the_office_downloads_the_months_report(login, ids):
    response = login("office").get("/figures/report.pdf?month=2026-05&tier=county")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "协商工作月报-2026-05-county.pdf" in unquote(disposition)
    text = text_of(response.data)
    assert "2026年5月县政协协商工作月报" in text and "66.7%" in text and "采纳+部分采纳2/已答复3" in text
    assert "县住房和城乡建设局" in text and "报告协商结果" in text
    assert "巡场镇农贸市场秩序整治" not in text                          # the township's case is not the county tier's


def test_without_a_month_the_report_is_this_months(login, ids):
    response = login("office").get("/figures/report.pdf")
    assert response.status_code == 200 and "2026年6月全县协商工作月报" in text_of(response.data)


def test_a_township_supervisor_gets_their_township_only(login, ids):
    client = login("supervisor_xunchang")
    text = text_of(client.get("/figures/report.pdf?month=2026-05").data)
    assert "2026年5月巡场镇协商工作月报" in text and "巡场镇农贸市场秩序整治" in text and "县水务局" in text
    assert "老旧小区" not in text and "县住房和城乡建设局" not in text
    assert client.get("/figures/report.pdf?month=2026-05&unit=county").status_code == 403
    assert client.get("/figures/report.pdf?month=2026-05&unit=township_xunchang").status_code == 200


def test_an_organizer_of_the_township_gets_its_ledger_too(login, ids):
    text = text_of(login("organizer_xunchang").get("/figures/report.pdf?month=2026-05").data)
    assert "镇级建议：规范摊位" in text and "县水务局" in text


@pytest.mark.parametrize("who", ["m001", "liaison_housing"])
def test_members_and_departments_get_no_report(login, ids, who):
    assert login(who).get("/figures/report.pdf?month=2026-05").status_code == 403


@pytest.mark.parametrize("month", ["2026-13", "2026-5", "五月", "2026-05-01", "1999-12", "x" * 30])
def test_a_month_that_cannot_be_read_is_a_400_that_says_how(login, ids, month):
    response = login("office").get(f"/figures/report.pdf?month={month}")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "无法识别" in page and "2026-05" in page
    assert f'value="{month[:20]}"' in page                                          # the input kept


def test_a_tier_that_does_not_exist_is_a_400(login, ids):
    response = login("office").get("/figures/report.pdf?month=2026-05&tier=village")
    assert response.status_code == 400 and "没有这个层级" in response.get_data(as_text=True)


def test_figures_and_board_link_to_the_report(login, ids):
    client = login("supervisor_county")
    page = client.get("/figures?period=2026-05&tier=county").get_data(as_text=True)
    assert 'href="/figures/report.pdf?month=2026-05&amp;tier=county"' in page and "下载月报 (PDF)" in page
    year = client.get("/figures?period=2026").get_data(as_text=True)       # this year: the month under way
    assert 'href="/figures/report.pdf?month=2026-06"' in year
    board = client.get("/board").get_data(as_text=True)
    assert 'href="/figures/report.pdf?month=2026-06"' in board


def test_the_board_offers_no_report_to_who_may_not_see_figures(login, ids):
    assert "report.pdf" not in login("m001").get("/inbox").get_data(as_text=True)


@pytest.fixture
def year_ids(web_engine):
    with web_engine.unit_of_work() as session:
        return figures_fixture.load(session)


def test_the_satisfaction_figures_link_to_the_suggestions_behind_them(login, year_ids):
    client = login("office")
    page = client.get("/figures?period=2026").get_data(as_text=True)
    numerator = "/ledger?period=2026&amp;satisfaction=satisfied,basically_satisfied"
    denominator = "/ledger?period=2026&amp;satisfaction=satisfied,basically_satisfied,unsatisfied"
    assert f'href="{numerator}"' in page and f'href="{denominator}"' in page
    month = "/ledger?period=2026-03&amp;satisfaction=satisfied,basically_satisfied"          # the monthly table's
    assert f'href="{month}"' in page
    for link, count in ((numerator, 2), (denominator, 3), (month, 2)):
        ledger = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
        assert f"共 {count} 项" in ledger, link
    assert re.search(r'<b>66\.7%</b><span>满意率', page)


def test_without_the_chinese_font_the_page_says_what_to_install(login, ids, monkeypatch):
    from domain.consultation import report_pdf

    def missing(*_args):
        raise report_pdf.FontMissing("NotoSansCJK-Regular.ttc not found")

    monkeypatch.setattr(report_pdf, "find_fonts", missing)
    response = login("office").get("/figures/report.pdf?month=2026-05")
    assert response.status_code == 503 and "fonts-noto-cjk" in response.get_data(as_text=True)
    assert 'value="2026-05"' in response.get_data(as_text=True)
