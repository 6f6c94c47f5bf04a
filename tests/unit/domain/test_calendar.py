"""Working days on the Chinese calendar: the package's Spring Festival, entered schedules, weekends-only years, CLI."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import chinese_calendar
import pytest
from click.testing import CliRunner
from sqlalchemy import event, func, select

from cli.main import cli
from domain.calendar.models import CalendarDay
from domain.calendar.workdays import (
    WorkCalendar,
    add_working_days,
    calendar_warning,
    is_working_day,
    package_coverage,
    year_basis,
)
from domain.consultation.demo import load_demo
from engine.clock import LOCAL_TZ
from engine.errors import PermissionDenied, ValidationFailed
from engine.store.models import AuditEvent
from tests.conftest import make_service

# A plausible 2027 Spring Festival schedule (the State Council publishes the real one late in 2026):
# off Friday 5 – Thursday 11 February, make-up working days Sunday 31 January and Saturday 20 February.
SCHEDULE_2027 = ([{"date": f"2027-02-{d:02d}", "kind": "holiday", "note": "春节"} for d in range(5, 12)]
                 + [{"date": "2027-01-31", "kind": "workday", "note": "春节调休"},
                    {"date": "2027-02-20", "kind": "workday", "note": "春节调休"}])


def beijing(*args) -> datetime:
    """A moment given in Beijing time, as the engine stores it (UTC)."""
    return datetime(*args, tzinfo=LOCAL_TZ).astimezone(UTC)


def package_reference(start: date, days: int, overrides: dict[date, bool] | None = None) -> date:
    """The expected day, counted naively with the package (and overrides) one day at a time."""
    overrides = overrides or {}

    def working(d: date) -> bool:
        return overrides.get(d, chinese_calendar.is_workday(d))

    day, remaining = start, days if working(start) else days + 1
    while remaining:
        day += timedelta(days=1)
        remaining -= working(day)
    return day


def add(service, start: datetime, days: int) -> tuple[datetime, str]:
    with service.unit_of_work() as session:
        return add_working_days(session, start, days)


def basis_and_warning(service, year: int) -> tuple[str, str | None]:
    with service.unit_of_work() as session:
        return year_basis(session, year), calendar_warning(session, year)


@pytest.fixture
def admin(services, service):
    """An admin (and a member) in the directory; returns the admin's UserView."""
    with service.unit_of_work() as session:
        load_demo(session, service.clock.now())
    return services.accounts.user("admin")


# --- the package's 2026 schedule ------------------------------------------------------------------
def test_spring_festival_2026_holiday_is_skipped(service):
    assert all(not chinese_calendar.is_workday(date(2026, 2, d)) for d in range(15, 24))   # the known facts
    friday = beijing(2026, 2, 13, 10, 0)
    due, basis = add(service, friday, 5)
    expected = package_reference(date(2026, 2, 13), 5)
    assert expected > date(2026, 2, 23)
    assert due == datetime.combine(expected, friday.astimezone(LOCAL_TZ).timetz()).astimezone(UTC)
    assert due.astimezone(LOCAL_TZ).time() == friday.astimezone(LOCAL_TZ).time()
    assert basis == "working"
    assert basis_and_warning(service, 2026) == ("package", None)
    with service.unit_of_work() as session:
        assert not any(is_working_day(session, date(2026, 2, d)) for d in range(15, 24))
        assert is_working_day(session, date(2026, 2, 24))


def test_make_up_saturdays_and_sundays_count_as_working_days(service):
    make_up = [d for d in (date(2026, 1, 1) + timedelta(days=i) for i in range(365))
               if d.weekday() >= 5 and chinese_calendar.is_workday(d)]
    assert {d.weekday() for d in make_up} == {5, 6}      # the package has make-up Saturdays and Sundays in 2026
    for day in make_up:
        before = day - timedelta(days=1)
        while not chinese_calendar.is_workday(before):
            before -= timedelta(days=1)
        due, _ = add(service, beijing(before.year, before.month, before.day, 9, 30), 1)
        assert due == beijing(day.year, day.month, day.day, 9, 30), day
        with service.unit_of_work() as session:
            assert is_working_day(session, day)


def test_a_start_on_a_holiday_counts_from_the_next_working_day(service):
    first_back = package_reference(date(2026, 2, 15), 0)
    assert first_back > date(2026, 2, 23)
    assert add(service, beijing(2026, 2, 15, 10, 0), 0)[0] == beijing(2026, 2, 24, 10, 0) \
        == beijing(first_back.year, first_back.month, first_back.day, 10, 0)
    after = package_reference(first_back, 1)
    assert add(service, beijing(2026, 2, 15, 10, 0), 1)[0] == beijing(after.year, after.month, after.day, 10, 0)


def test_days_are_counted_in_beijing_time(service):
    start = datetime(2026, 2, 13, 16, 30, tzinfo=UTC)          # Saturday 14 February 00:30 in Beijing
    assert chinese_calendar.is_workday(date(2026, 2, 14))
    due, _ = add(service, start, 1)
    assert due == datetime(2026, 2, 23, 16, 30, tzinfo=UTC)     # Tuesday 24 February 00:30 in Beijing
    assert due.tzinfo is UTC
    naive, _ = add(service, datetime(2026, 2, 13, 16, 30), 1)     # naive means UTC, and stays naive
    assert naive == datetime(2026, 2, 23, 16, 30)
    with pytest.raises(ValueError):
        add(service, start, -1)


def test_the_package_coverage_is_asked_not_assumed():
    first, last = package_coverage()
    assert first <= 2026 <= last
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(last + 1, 6, 1))


# --- a year the package does not cover --------------------------------------------------------------
def test_2027_falls_back_to_weekends_only_with_a_warning(service):
    basis, warning = basis_and_warning(service, 2027)
    assert basis == "weekends-only"
    assert warning.startswith("2027 年的节假日安排尚未录入") and "周一至周五" in warning and "2027" in warning
    assert add(service, beijing(2027, 2, 4, 10, 0), 5) == (beijing(2027, 2, 11, 10, 0), "working-weekends-only")
    assert add(service, beijing(2026, 12, 28, 10, 0), 5)[1] == "working-weekends-only"   # touches 2027
    assert add(service, beijing(2026, 12, 21, 10, 0), 5)[1] == "working"                # stays in 2026


def test_entering_2027_schedule_changes_deadlines_and_removes_the_warning(service, admin):
    WorkCalendar(service.unit_of_work, service.clock).enter_days(admin, SCHEDULE_2027)
    assert basis_and_warning(service, 2027) == ("entered", None)
    assert add(service, beijing(2027, 2, 4, 10, 0), 5) == (beijing(2027, 2, 18, 10, 0), "working")
    assert add(service, beijing(2027, 1, 29, 10, 0), 1)[0] == beijing(2027, 1, 31, 10, 0)   # make-up Sunday
    assert add(service, beijing(2026, 12, 28, 10, 0), 5)[1] == "working"
    with service.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(CalendarDay)) == 9
        [audit] = session.scalars(select(AuditEvent).where(AuditEvent.kind == "calendar_days_entered")).all()
        assert audit.actor == "admin" and len(audit.detail["days"]) == 9


def test_entered_days_override_the_package_and_changes_are_seen_at_once(service, admin):
    calendar = WorkCalendar(service.unit_of_work, service.clock)
    friday = beijing(2026, 2, 13, 10, 0)
    plain = add(service, friday, 5)[0]
    calendar.set_day(admin, "2026-02-14", "holiday", "改为休息")           # the package's make-up Saturday
    calendar.set_day(admin, "2026-02-24", "holiday")
    overridden = package_reference(date(2026, 2, 13), 5, {date(2026, 2, 14): False, date(2026, 2, 24): False})
    assert add(service, friday, 5) == (beijing(overridden.year, overridden.month, overridden.day, 10, 0), "working")
    assert basis_and_warning(service, 2026) == ("package", None)
    assert calendar.year(2026).entered[0].note == "改为休息"
    calendar.unset_day(admin, "2026-02-24")                                  # same frozen moment: no stale cache
    calendar.unset_day(admin, "2026-02-14")
    assert add(service, friday, 5)[0] == plain
    calendar.set_day(admin, "2026-02-25", "holiday")
    assert add(service, friday, 5)[0] == plain + timedelta(days=1)


def test_ninety_working_days_take_one_query_per_year(service):
    bind = service.sessions.kw["bind"]
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(bind, "before_cursor_execute", count)
    try:
        due, _ = add(service, beijing(2026, 3, 2, 9, 0), 90)
        in_one_year = len(statements)
        statements.clear()
        add(service, beijing(2026, 11, 2, 9, 0), 90)
        across_two = len(statements)
    finally:
        event.remove(bind, "before_cursor_execute", count)
    assert due.astimezone(LOCAL_TZ).date() == package_reference(date(2026, 3, 2), 90)
    assert (in_one_year, across_two) == (1, 2)


def test_bad_entries_are_refused_with_every_problem_named_and_nothing_stored(services, service, admin):
    calendar = WorkCalendar(service.unit_of_work, service.clock)
    with pytest.raises(ValidationFailed) as refused:
        calendar.enter_days(admin, [{"date": "2027-02-05", "kind": "holiday"},
                                    {"date": "2027-02-30", "kind": "holiday"}, {"date": "5 Feb", "kind": "holiday"},
                                    {"date": "2027-02-08", "kind": "vacation"}, "2027-02-09",
                                    {"date": "2027-02-05", "kind": "workday"}])
    errors = refused.value.field_errors
    assert errors["第 2 项 (item 2)"] == ["日期无效：2027-02-30 不存在 (no such date)"]
    assert errors["第 3 项 (item 3)"][0].startswith("日期无效：'5 Feb'，应为 YYYY-MM-DD")
    assert errors["第 4 项 (item 4)"][0].startswith("类型未知：'vacation'")
    assert "对象" in errors["第 5 项 (item 5)"][0]
    assert errors["第 6 项 (item 6)"] == ["2027-02-05 与第 1 项重复 (same date as item 1)"]
    assert "第 1 项 (item 1)" not in errors
    with pytest.raises(ValidationFailed):
        calendar.enter_days(admin, [])
    member = services.accounts.user("m001")
    with pytest.raises(PermissionDenied):
        calendar.enter_days(member, SCHEDULE_2027)
    with pytest.raises(PermissionDenied):
        calendar.unset_day(member, "2027-02-05")
    with service.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(CalendarDay)) == 0
    assert basis_and_warning(service, 2027)[0] == "weekends-only"


# --- the CLI ----------------------------------------------------------------------------------------------
@pytest.fixture
def run(sqlite_url, clock, monkeypatch):
    """Invoke the CLI on a migrated SQLite database with the demo people; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("XIESHANG_DATABASE_URL", sqlite_url)
    service = make_service(sqlite_url, clock)
    with service.unit_of_work() as session:
        load_demo(session, clock.now())
    service.sessions.kw["bind"].dispose()
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return invoke


def _shown(run, year: int) -> dict:
    code, out, _ = run("calendar", "show", str(year), "--json")
    assert code == 0
    return json.loads(out)


def test_cli_shows_the_package_year_and_warns_about_an_uncovered_one(run):
    shown = _shown(run, 2026)
    assert (shown["basis"], shown["warning"], shown["package"]["covers"]) == ("package", None, list(package_coverage()))
    spring = {d["date"]: d for d in shown["days"] if d["note"] == "春节"}
    assert all(not spring[f"2026-02-{d}"]["working"] for d in range(15, 24))
    assert {d for d, v in spring.items() if v["kind"] == "workday"} == {
        d.isoformat() for d in map(date.fromisoformat, spring) if chinese_calendar.is_workday(d)}
    code, out, err = run("calendar", "show", "2027")
    assert code == 0 and out.startswith("2027 basis: weekends-only") and "警告 (warning): 2027 年" in err
    assert _shown(run, 2027)["days"] == [] and _shown(run, 2027)["warning"].startswith("2027 年")


def test_cli_import_set_and_unset_change_the_year(run, tmp_path, sqlite_url, clock):
    schedule = tmp_path / "2027.json"
    schedule.write_text(json.dumps(SCHEDULE_2027[:-1], ensure_ascii=False), encoding="utf-8")
    code, _, err = run("calendar", "import", str(schedule), "--as", "admin")
    assert code == 0 and "entered 8 day(s) in 2027" in err
    code, _, _ = run("calendar", "set", "2027-02-20", "workday", "--note", "春节调休")     # the command-line operator
    assert code == 0
    shown = _shown(run, 2027)
    assert (shown["basis"], shown["warning"]) == ("entered", None)
    assert [(d["date"], d["kind"], d["entered_by"]) for d in shown["days"]][-2:] == [
        ("2027-02-11", "holiday", "admin"), ("2027-02-20", "workday", "system")]
    service = make_service(sqlite_url, clock)
    try:
        assert add(service, beijing(2027, 2, 4, 10, 0), 5) == (beijing(2027, 2, 18, 10, 0), "working")
        assert add(service, beijing(2027, 2, 19, 10, 0), 1)[0] == beijing(2027, 2, 20, 10, 0)
        assert run("calendar", "unset", "2027-02-20", "--as", "admin")[0] == 0
        assert add(service, beijing(2027, 2, 19, 10, 0), 1)[0] == beijing(2027, 2, 22, 10, 0)
    finally:
        service.sessions.kw["bind"].dispose()
    code, _, err = run("calendar", "unset", "2027-02-20")
    assert code == 1 and "2027-02-20 没有录入过" in err


@pytest.mark.parametrize("args", [("set", "2027-02-05", "holiday"), ("unset", "2027-02-05"), ("import", "FILE")])
def test_cli_refuses_non_admins_and_unknown_users(run, tmp_path, args):
    run("calendar", "set", "2027-02-05", "holiday", "--note", "春节")
    schedule = tmp_path / "2027.json"
    schedule.write_text(json.dumps(SCHEDULE_2027), encoding="utf-8")
    args = tuple(str(schedule) if a == "FILE" else a for a in args)
    before = _shown(run, 2027)
    code, out, err = run("calendar", *args, "--as", "m001")
    assert code == 1 and "需要管理员权限 (admins only)" in err and "Traceback" not in out + err
    code, _, err = run("calendar", *args, "--as", "nobody")
    assert code == 1 and "没有用户 nobody" in err
    assert _shown(run, 2027) == before


def test_cli_bad_input_gets_a_clear_message_and_changes_nothing(run, tmp_path):
    code, _, err = run("calendar", "set", "2027-02-30", "holiday")
    assert code == 1 and "日期无效：2027-02-30 不存在" in err
    code, _, err = run("calendar", "set", "2027-02-05", "vacation")
    assert code == 1 and "类型未知：'vacation'，应为 holiday（休）或 workday（班）" in err
    broken = tmp_path / "broken.json"
    broken.write_text('[{"date": "2027-02-05", "kind": "holiday"', encoding="utf-8")
    code, _, err = run("calendar", "import", str(broken))
    assert code == 1 and "broken.json 不是有效的 JSON 文件 (not valid JSON)" in err and "Traceback" not in err
    not_a_list = tmp_path / "object.json"
    not_a_list.write_text('{"date": "2027-02-05", "kind": "holiday"}', encoding="utf-8")
    code, _, err = run("calendar", "import", str(not_a_list))
    assert code == 1 and "应为 JSON 列表" in err
    half_bad = tmp_path / "half.json"
    half_bad.write_text(json.dumps([{"date": "2027-02-05", "kind": "holiday"}, {"date": "2027-02-06", "kind": "off"}]),
                        encoding="utf-8")
    code, _, err = run("calendar", "import", str(half_bad))
    assert code == 1 and "第 2 项 (item 2): 类型未知" in err
    assert _shown(run, 2027)["days"] == [] and _shown(run, 2027)["basis"] == "weekends-only"
    code, _, err = run("calendar", "show", "1850")
    assert code == 2 and "1850" in err
