"""The monthly report against hand-made records (tests/support/report_fixture.py): what it counts, what it lists, and
the PDF read back — its text, its embedded Chinese font, its pages drawn."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pypdf
import pypdfium2
import pytest
from sqlalchemy import select

from domain.consultation import report as rep
from domain.consultation import report_pdf
from domain.consultation.demo import load_demo
from engine.store.models import User
from tests.conftest import CONSULTATION
from tests.support import report_fixture
from tests.support.report_fixture import NOW


@pytest.fixture
def db(service):
    service.clock.set(NOW)
    with service.unit_of_work() as session:
        load_demo(session, NOW)
    service.deploy([CONSULTATION], actor="owner")
    with service.unit_of_work() as session:
        ids = report_fixture.load(session)
    return service, ids


def build(service, month="2026-05", now=NOW, **scope):
    with service.reading() as session:
        return rep.build(session, rep.parse_month(month), now, hooks=service.hooks, **scope)


def text_of(pdf: bytes) -> str:
    """The PDF's text as pypdf reads it, whitespace taken out: pypdf reads each code through the font's ToUnicode map
    but puts a space or NUL between glyphs of a CID font with an embedded encoding CMap (PDFium does not)."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "".join(squeeze(page.extract_text()) for page in reader.pages)


def squeeze(text: str) -> str:
    return "".join(ch for ch in text if not ch.isspace() and ch != "\x00")


@pytest.mark.parametrize("text", ["2026-13", "2026-5", "26-05", "2026", "2026-Q2", "", "1999-12", "2026-05-01"])
def test_a_month_is_yyyy_mm(text):
    with pytest.raises(rep.MonthError):
        rep.parse_month(text)


def test_the_months_figures_overdue_tasks_and_suggestions(db):
    service, ids = db
    report = build(service)
    assert report.title == "2026年5月 全县 协商工作月报" and report.month_closed
    f = report.figures
    assert (f.held, f.suggestions, f.attendances) == (2, 4, 3)
    assert (f.adoption.numerator, f.adoption.denominator, f.adoption.percent) == (2, 3, 66.7)
    assert (f.satisfaction.numerator, f.satisfaction.denominator) == (1, 2)
    # at the end of May: the county's report (still open) and the hall's minutes (finished in June); not the
    # visit due in June
    assert [(r.instance_id, r.step) for r in report.overdue] == [(ids["county"], 5), (ids["xunchang"], 4)]
    county = report.overdue[0]
    assert county.topic == report_fixture.LONG_TOPIC and county.escalation_level == 1
    assert county.days_late == 7 and county.holder != "organizer_county"     # 21–29 May: 7 working days; a name
    assert report.overdue_total == 2
    ledger = report.ledger
    assert ledger.total == 4 and ledger.by_answer == {"adopted": 1, "partly": 1, "not_adopted": 1, "solved": 0,
                                                      "none": 1}
    by_department = {line.code: (line.raised, line.answered, line.adopted, line.unanswered)
                     for line in ledger.by_department}
    assert by_department == {"dept_housing": (2, 2, 1, 0), "dept_transport": (1, 1, 1, 0), "dept_water": (1, 0, 0, 1)}


def test_the_month_under_way_lists_what_is_late_now(db):
    service, ids = db
    report = build(service, "2026-06")
    assert not report.month_closed and report.overdue_as_of == NOW
    assert [(r.instance_id, r.step) for r in report.overdue] == [(ids["county"], 5), (ids["xunchang"], 6)]
    assert report.figures.held == 0 and report.ledger.total == 0


def test_a_townships_report_holds_only_its_township(db):
    service, ids = db
    report = build(service, units=frozenset({"township_xunchang"}))
    assert report.title == "2026年5月 巡场镇 协商工作月报"
    assert report.figures.held == 1 and report.figures.adoption.denominator == 0
    assert [r.instance_id for r in report.overdue] == [ids["xunchang"]]
    assert [row.department for row in report.ledger.rows] == ["dept_water"]


def test_a_tiers_report_is_named_for_it(db):
    service, _ = db
    report = build(service, tier="county")
    assert report.title == "2026年5月 县政协 协商工作月报"
    assert report.figures.held == 1 and [r.step for r in report.overdue] == [5] and report.ledger.total == 3


def test_the_pdf_says_the_figures_overdue_rows_and_departments_in_chinese(db):
    service, _ = db
    pdf = report_pdf.render(build(service))
    assert pdf.startswith(b"%PDF-")
    text = text_of(pdf)
    assert "2026年5月全县协商工作月报" in text
    assert "66.7%" in text and "采纳+部分采纳2/已答复3" in text and "满意+基本满意1/已回访2" in text
    with service.reading() as session:
        names = dict(session.execute(select(User.username, User.display_name)).all())
    assert f"报告协商结果report_results{names['organizer_county']}（珙县政协）2026-05-207一级" in text   # a row
    assert f"组织协商会议write_minutes{names['organizer_xunchang']}（巡场镇珙桐议事厅）2026-05-254—" in text
    assert "".join(report_fixture.LONG_TOPIC.split()) in text                         # wrapped, not cut
    assert "县住房和城乡建设局" in text and "县交通运输局" in text and "县水务局" in text
    assert "采纳1、部分采纳1、未采纳1、已解决0、未答复1" in text
    assert "截至月末2026-05-3124:00" in text and "第1页/共" in text and "生成时间2026-06-1009:00（北京时间）" in text


def test_the_chinese_font_is_embedded(db):
    service, _ = db
    reader = pypdf.PdfReader(io.BytesIO(report_pdf.render(build(service))))
    fonts = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            fonts[font["/BaseFont"]] = font
    assert fonts and all(name.endswith(("+NotoSansCJKSC", "+NotoSansCJKSCBold")) for name in fonts)  # subsets
    for font in fonts.values():
        descendant = font["/DescendantFonts"][0].get_object()
        program = descendant["/FontDescriptor"].get_object()["/FontFile3"].get_object()
        assert font["/Subtype"] == "/Type0" and descendant["/Subtype"] == "/CIDFontType0"
        assert program["/Subtype"] == "/CIDFontType0C" and len(program.get_data()) > 1000


def test_the_pages_draw_the_glyphs(db):
    """Drawn by PDFium: the title's band has ink, and PDFium reads the title back (through the embedded encoding)."""
    service, _ = db
    document = pypdfium2.PdfDocument(report_pdf.render(build(service)))
    try:
        page = document[0]
        _width, height = page.get_size()
        bitmap = page.render(scale=1, crop=(0, height - 80, 0, 0), grayscale=True)    # the top 80 points: the title
        ink = sum(1 for value in bytes(bitmap.buffer) if value < 128)
        textpage = page.get_textpage()
        text = textpage.get_text_range()
        assert ink > 500 and "2026年5月 全县 协商工作月报" in text
        assert len(document) >= 2                                 # the long tables run on to a second page
        for held in (textpage, bitmap, page):
            held.close()
    finally:
        document.close()


def test_an_empty_month_is_a_valid_pdf_that_says_so(db):
    service, _ = db
    pdf = report_pdf.render(build(service, "2025-02"))
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    text = text_of(pdf)
    assert "本月没有召开协商会议" in text and "没有逾期任务" in text and "没有形成意见建议" in text
    assert "采纳率—" in text and "0.0%" not in text


def test_headings_repeat_when_a_table_runs_over_a_page(db):
    service, _ = db
    report = build(service)
    rows = tuple(report.overdue[0].__class__(**{**report.overdue[0].__dict__, "task_id": f"x{i}"}) for i in range(60))
    many = rep.MonthlyReport(**{**report.__dict__, "overdue": rows, "overdue_total": 60})
    reader = pypdf.PdfReader(io.BytesIO(report_pdf.render(many)))
    pages = [squeeze(page.extract_text()) for page in reader.pages]
    with_heading = [p for p in pages if "逾期工作日督办级别" in p]
    assert len(with_heading) >= 3


def test_a_missing_font_is_named(tmp_path):
    with pytest.raises(report_pdf.FontMissing, match="fonts-noto-cjk"):
        report_pdf.find_fonts((str(tmp_path),))


def test_the_font_is_the_simplified_chinese_face():
    fonts = report_pdf.find_fonts()
    assert set(fonts) == {"", "B"} and all(font.path.suffix == ".ttc" for font in fonts.values())


def test_the_report_counts_at_the_given_moment(db):
    service, ids = db
    early = datetime(2026, 5, 21, 1, tzinfo=UTC)          # 21 May, 09:00: the county's report one day late
    report = build(service, now=early)
    assert report.overdue_as_of == early and [r.instance_id for r in report.overdue] == [ids["county"]]
    assert report.overdue[0].days_late == 1
