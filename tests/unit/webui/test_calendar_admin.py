"""The working-day calendar admin page: admins only; the year's basis and warning; entering and removing days."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from domain.calendar.models import CalendarDay
from domain.calendar.workdays import add_working_days, package_coverage
from engine.clock import LOCAL_TZ
from tests.unit.webui.conftest import csrf_of

SCHEDULE_2027 = "\n".join([f"2027-02-{d:02d} holiday 春节" for d in range(5, 12)]
                          + ["2027-01-31 workday 春节调休", "", "# 调休上班", "2027-02-20 班 春节调休"])
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")


def _page(client, year: int = 2027, lang: str = "zh_CN"):
    response = client.get(f"/admin/calendar?year={year}&lang={lang}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _enter(client, text: str, year: int = 2027):
    return client.post("/admin/calendar", data={"days": text, "year": str(year),
                                                "csrf_token": csrf_of(_page(client, year))})


def _entered(web_engine) -> int:
    with web_engine.unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(CalendarDay))


def _due(web_engine, start: datetime, days: int) -> tuple[datetime, str]:
    with web_engine.unit_of_work() as session:
        return add_working_days(session, start, days)


@pytest.mark.parametrize("who", [None, "office", "m001"])
def test_only_admins_reach_the_calendar(web_engine, client, login, who):
    if who:
        login(who)
    token = csrf_of(client.get("/overview" if who else "/login").get_data(as_text=True))
    for method, path, data in [("GET", "/admin/calendar?year=2027", {}),
                               ("POST", "/admin/calendar", {"days": "2027-02-05 holiday 春节", "year": "2027"}),
                               ("POST", "/admin/calendar/delete", {"date": "2027-02-05"})]:
        response = client.open(path, method=method, data={**data, "csrf_token": token})
        if who is None:
            assert response.status_code == 302 and response.headers["Location"].startswith("/login"), path
        else:
            assert response.status_code == 403 and "没有权限" in response.get_data(as_text=True), path
    assert _entered(web_engine) == 0


def test_a_package_year_shows_its_holidays_and_make_up_days(client, login):
    login("admin")
    page = _page(client, 2026)
    first, last = package_coverage()
    assert f"该软件包覆盖 {first}–{last} 年" in page and "仅按周末" not in page and "尚未录入" not in page
    assert 'title="2026-02-15 休 春节"' in page and 'title="2026-02-14 班 春节"' in page
    assert "<b>2026-02-23</b>" in page and 'action="/admin/calendar/delete"' not in page   # nothing entered to delete
    assert "工作日历 · 2026" in page and 'href="/admin/calendar?year=2027"' in page


def test_entering_2027_schedule_on_the_page_removes_the_warning_and_moves_deadlines(web_engine, client, login):
    start = datetime(2027, 2, 4, 10, 0, tzinfo=LOCAL_TZ).astimezone(UTC)
    assert _due(web_engine, start, 5) == (datetime(2027, 2, 11, 2, 0, tzinfo=UTC), "working-weekends-only")
    login("admin")
    page = _page(client)
    assert "仅按周末" in page and "2027 年的节假日安排尚未录入" in page and "这一年没有节假日或调休安排。" in page
    response = _enter(client, SCHEDULE_2027)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/calendar?year=2027"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已录入 9 天" in page and "依据管理员录入的国务院放假安排（共 9 天）" in page
    assert "尚未录入" not in page and "仅按周末" not in page
    assert 'title="2027-01-31 班 春节调休"' in page and page.count('aria-label="删除 2027-') == 9
    assert _due(web_engine, start, 5) == (datetime(2027, 2, 18, 2, 0, tzinfo=UTC), "working")
    sunday_before = datetime(2027, 1, 29, 10, 0, tzinfo=LOCAL_TZ).astimezone(UTC)
    assert _due(web_engine, sunday_before, 1)[0] == datetime(2027, 1, 31, 2, 0, tzinfo=UTC)


def test_bad_lines_are_named_and_nothing_is_entered(web_engine, client, login):
    login("admin")
    text = "2027-02-05 holiday 春节\n2027-02-30 holiday 春节\n2027-02-08 vacation\n2027/02/09 holiday"
    response = _enter(client, text)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "没有录入任何日期" in page
    assert "第 2 行 (line 2)：日期无效：2027-02-30 不存在 (no such date)" in page
    assert "第 3 行 (line 3)：类型未知：&#39;vacation&#39;" in page and "第 4 行 (line 4)：日期无效" in page
    assert "第 1 行" not in page and f">{text}</textarea>" in page            # the input is kept to correct
    assert _entered(web_engine) == 0 and "仅按周末" in page
    empty = _enter(client, "  \n# nothing\n")
    assert empty.status_code == 422 and "没有要录入的日期" in empty.get_data(as_text=True)


def test_deleting_entered_days_brings_back_the_warning(web_engine, client, login):
    login("admin")
    _enter(client, "2027-02-05 holiday 春节\n2026-02-24 holiday 补休")
    for day in ("2027-02-05", "2026-02-24"):
        response = client.post("/admin/calendar/delete", data={"date": day, "csrf_token": csrf_of(_page(client))})
        assert response.status_code == 302 and response.headers["Location"] == f"/admin/calendar?year={day[:4]}"
    page = client.get("/admin/calendar?year=2027").get_data(as_text=True)
    assert "已删除 2026-02-24" in page and "仅按周末" in page and _entered(web_engine) == 0
    missing = client.post("/admin/calendar/delete", data={"date": "2027-02-05", "csrf_token": csrf_of(page)})
    assert missing.status_code == 404 and "2027-02-05 没有录入过" in missing.get_data(as_text=True)
    assert client.get("/admin/calendar?year=1850").status_code == 404


def test_the_page_reads_in_english(web_services, web_engine, client, login):
    login("admin")
    _enter(client, "2027-02-05 holiday 春节")
    _page(client)                                                    # shows (and so clears) the Chinese flash
    name = web_services.accounts.user("admin").display_name
    for year, words in [(2027, ("Working-day calendar", "Entered", "Holidays and make-up working days", "Remove")),
                        (2028, ("Weekends only", "No holiday schedule for 2028 yet", "Enter the holiday schedule")),
                        (2026, ("Spring Festival", "National Day", "Package", "Off", "Work"))]:
        page = _page(client, year, "en")
        chrome = page.replace(name, "").replace(">中文</a>", "").replace("春节</td>", "").replace(
            "春节\"", "")
        leftover = sorted({m.group() for m in re.finditer(r"[^<>\s]*" + CJK.pattern + r"[^<>\s]*", chrome)})
        assert not leftover, (year, leftover)
        assert all(word in page for word in words), year
