"""Working days on the Chinese calendar: the chinese-calendar package, days admins entered, else Monday to Friday."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache, cached_property, lru_cache
from itertools import accumulate

import chinese_calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.calendar.models import CalendarDay
from domain.people import policy
from domain.people.accounts import UserView
from engine.clock import LOCAL_TZ
from engine.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from engine.store.models import AuditEvent

KINDS = ("holiday", "workday")
KIND_ALIASES = {"holiday": "holiday", "休": "holiday", "假": "holiday", "workday": "workday", "班": "workday"}
YEARS = range(2000, 2101)
MAX_SPAN_DAYS = 366 * 20       # a guard against a calendar with (almost) no working days at all
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CACHE_KEY = "xieshang_workdays"  # per-session cache of YearCalendar by year, in Session.info


@dataclass(frozen=True)
class SpecialDay:
    """A day that is not an ordinary weekday or weekend: a holiday or a make-up working day (调休上班)."""

    day: date
    kind: str                      # holiday | workday
    note: str
    source: str                    # package | entered
    entered_by: str | None = None
    entered_at: datetime | None = None

    @property
    def working(self) -> bool:
        """Whether people work on this day."""
        return self.kind == "workday"

    def as_dict(self) -> dict:
        """JSON-ready form."""
        return {"date": self.day.isoformat(), "kind": self.kind, "working": self.working, "note": self.note,
                "source": self.source, "entered_by": self.entered_by,
                "entered_at": self.entered_at.isoformat() if self.entered_at else None}


@dataclass(frozen=True)
class YearCalendar:
    """One year's working days and where they come from (basis: package | entered | weekends-only)."""

    year: int
    basis: str
    working: tuple[bool, ...]      # by day of the year, 1 January first
    days: tuple[SpecialDay, ...]   # the special days, by date; entered ones replace the package's

    def is_working(self, day: date) -> bool:
        """Whether `day` (in this year) is a working day."""
        return self.working[day.timetuple().tm_yday - 1]

    def working_days(self, first: date, last: date) -> int:
        """How many working days from `first` through `last` (both in this year; 0 when `last` is before `first`)."""
        return max(0, self._through[last.timetuple().tm_yday] - self._through[first.timetuple().tm_yday - 1])

    @cached_property
    def _through(self) -> tuple[int, ...]:
        """Working days from 1 January up to each day of the year (the first entry, 0, is before the year)."""
        return tuple(accumulate(self.working, initial=0))

    @property
    def entered(self) -> tuple[SpecialDay, ...]:
        """The days an admin entered."""
        return tuple(d for d in self.days if d.source == "entered")

    @property
    def warning(self) -> str | None:
        """The weekends-only warning, when the year has no schedule."""
        return _warning_text(self.year) if self.basis == "weekends-only" else None


# --- what the lead's deadlines call -----------------------------------------------------------------
def is_working_day(session: Session, day: date) -> bool:
    """Entered day first, then chinese-calendar for the years it covers, else Monday to Friday."""
    return year_calendar(session, day.year).is_working(day)


def add_working_days(session: Session, start: datetime, days: int) -> tuple[datetime, str]:
    """The moment `days` working days after `start` (same Beijing time of day), and the basis:
    "working", or "working-weekends-only" when a year touched has neither the package's data nor entered days.
    A start on a non-working day counts from the next working day."""
    if days < 0:
        raise ValueError("days must be >= 0")
    local = (start if start.tzinfo else start.replace(tzinfo=UTC)).astimezone(LOCAL_TZ)
    day, first = local.date(), local.date()
    years: dict[int, YearCalendar] = {}

    def working(d: date) -> bool:
        if d.year not in years:
            years[d.year] = year_calendar(session, d.year)
        return years[d.year].is_working(d)

    remaining = days if working(day) else days + 1
    while remaining:
        day += timedelta(days=1)
        if (day - first).days > MAX_SPAN_DAYS:
            raise InvalidState("日历中几乎没有工作日，无法计算期限 (the calendar has almost no working days)")
        remaining -= working(day)
    moment = datetime.combine(day, local.timetz())
    moment = moment.astimezone(start.tzinfo) if start.tzinfo else moment.astimezone(UTC).replace(tzinfo=None)
    basis = "working-weekends-only" if any(y.basis == "weekends-only" for y in years.values()) else "working"
    return moment, basis


def calendar_warning(session: Session, year: int) -> str | None:
    """A Chinese-first sentence when `year` falls back to weekends only, else None."""
    return year_calendar(session, year).warning


def year_basis(session: Session, year: int) -> str:
    """Where the year's working days come from: "package" | "entered" | "weekends-only"."""
    return year_calendar(session, year).basis


def year_calendar(session: Session, year: int) -> YearCalendar:
    """The year's calendar: one small query for its entered days, the rest cached in memory."""
    cache = session.info.setdefault(_CACHE_KEY, {})
    if year not in cache:
        rows = session.execute(select(CalendarDay.day, CalendarDay.kind, CalendarDay.note, CalendarDay.entered_by,
                                      CalendarDay.entered_at)
                               .where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
                               .order_by(CalendarDay.day)).all()
        cache[year] = _build(year, tuple(tuple(r) for r in rows))
    return cache[year]


def package_covers(year: int) -> bool:
    """Whether the installed chinese-calendar package has the year's schedule (asked, not assumed)."""
    return _package_year(year) is not None


def package_coverage() -> tuple[int, int] | None:
    """The first and last year the package covers, found by asking it."""
    covered = [y for y in YEARS if package_covers(y)]
    return (covered[0], covered[-1]) if covered else None


def _warning_text(year: int) -> str:
    return (f"{year} 年的节假日安排尚未录入：工作日暂按周一至周五计算，未计法定节假日和调休，"
            f"请管理员录入国务院公布的放假安排 "
            f"(no holiday schedule for {year}: working days count Monday to Friday only "
            f"until an admin enters the State Council's schedule)")


def _days_of(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days)]


@cache
def _package_year(year: int) -> tuple[tuple[bool, ...], tuple[SpecialDay, ...]] | None:
    """The package's working flags and named days for a year, or None when it does not cover the year."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
        chinese_calendar.is_workday(date(year, 12, 31))
    except NotImplementedError:
        return None
    flags, special = [], []
    for day in _days_of(year):
        off, name = chinese_calendar.get_holiday_detail(day)
        flags.append(not off)
        if name:
            special.append(SpecialDay(day, "holiday" if off else "workday", _chinese_name(name), "package"))
    return tuple(flags), tuple(special)


def _chinese_name(name: str) -> str:
    try:
        return chinese_calendar.Holiday(name).chinese
    except ValueError:
        return name


@lru_cache(maxsize=128)
def _build(year: int, rows: tuple[tuple, ...]) -> YearCalendar:
    """A year's calendar from the package (or weekends) overlaid with the entered rows; keyed on the rows themselves,
    so any change to the entered days (even at the same frozen moment) builds afresh."""
    package = _package_year(year)
    if package:
        flags, special = list(package[0]), {d.day: d for d in package[1]}
    else:
        flags, special = [d.weekday() < 5 for d in _days_of(year)], {}
    for day, kind, note, entered_by, entered_at in rows:
        flags[day.timetuple().tm_yday - 1] = kind == "workday"
        special[day] = SpecialDay(day, kind, note or "", "entered", entered_by, entered_at)
    basis = "package" if package else ("entered" if rows else "weekends-only")
    return YearCalendar(year, basis, tuple(flags), tuple(special[d] for d in sorted(special)))


# --- admin commands: enter the State Council's schedule ----------------------------------------------
def parse_lines(text: str) -> list[dict]:
    """Entries from lines like `2027-02-06 holiday 春节` (blank lines and lines starting with # are skipped)."""
    entries = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        parts = line.strip().split(None, 2)
        if parts and not parts[0].startswith("#"):
            entries.append({"date": parts[0], "kind": parts[1] if len(parts) > 1 else "",
                            "note": parts[2] if len(parts) > 2 else "", "line": number})
    return entries


class WorkCalendar:
    """Admins enter and remove holidays and make-up working days; `unit_of_work` comes from the engine service.
    `actor` None stands for the operator at the command line without --as (trusted like `xieshang init`)."""

    def __init__(self, unit_of_work: Callable[[], AbstractContextManager[Session]], clock):
        self._uow = unit_of_work
        self.clock = clock

    def year(self, year: int) -> YearCalendar:
        """The year's calendar, its basis and its special days."""
        with self._uow() as session:
            return year_calendar(session, year)

    def set_day(self, actor: UserView | None, day: str, kind: str, note: str = "") -> SpecialDay:
        """Enter one day (replacing what was entered for it before)."""
        return self.enter_days(actor, [{"date": day, "kind": kind, "note": note}])[0]

    def enter_days(self, actor: UserView | None, entries: Sequence) -> list[SpecialDay]:
        """Enter many days at once: all of them, or none when any entry is wrong (every problem is reported)."""
        _require_admin(actor)
        cleaned = _clean_entries(entries)
        now, by = self.clock.now(), actor.username if actor else "system"
        with self._uow() as session:
            existing = {row.day: row for row in session.scalars(
                select(CalendarDay).where(CalendarDay.day.in_([day for day, _, _ in cleaned])))}
            for day, kind, note in cleaned:
                row = existing.get(day) or CalendarDay(day=day)
                row.kind, row.note, row.entered_by, row.entered_at = kind, note, by, now
                session.add(row)
            session.add(AuditEvent(kind="calendar_days_entered", actor=by, at=now, detail={
                "days": [{"date": d.isoformat(), "kind": k, "note": n} for d, k, n in cleaned]}))
            session.info.pop(_CACHE_KEY, None)
        return [SpecialDay(d, k, n, "entered", by, now) for d, k, n in cleaned]

    def unset_day(self, actor: UserView | None, day: str) -> None:
        """Remove an entered day; the package (or Monday to Friday) decides it again."""
        _require_admin(actor)
        parsed = _parse_date(day)
        if isinstance(parsed, str):
            raise ValidationFailed({"date": [parsed]})
        by = actor.username if actor else "system"
        with self._uow() as session:
            row = session.get(CalendarDay, parsed)
            if row is None:
                raise NotFound(f"{parsed.isoformat()} 没有录入过 (no day entered for this date)")
            session.delete(row)
            session.add(AuditEvent(kind="calendar_day_removed", actor=by, at=self.clock.now(),
                                   detail={"date": parsed.isoformat(), "kind": row.kind, "note": row.note}))
            session.info.pop(_CACHE_KEY, None)


def _require_admin(actor: UserView | None) -> None:
    if not policy.may_manage_calendar(actor):
        raise PermissionDenied("需要管理员权限 (admins only)")


def _parse_date(value) -> date | str:
    """The date, or the message saying what is wrong with it."""
    text = value.strip() if isinstance(value, str) else ""
    if not _ISO_DATE.match(text):
        return f"日期无效：{value!r}，应为 YYYY-MM-DD (not a date; use YYYY-MM-DD)"
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return f"日期无效：{text} 不存在 (no such date)"
    if day.year not in YEARS:
        return f"年份应在 {YEARS[0]}–{YEARS[-1]} 之间 (year out of range)"
    return day


def _clean_entry(entry) -> tuple[tuple[date, str, str] | None, list[str]]:
    if not isinstance(entry, dict):
        return None, ["应为 {date, kind, note} 对象 (each entry must be an object with date, kind, note)"]
    errors = []
    day = _parse_date(entry.get("date"))
    if isinstance(day, str):
        errors.append(day)
    kind = KIND_ALIASES.get(str(entry.get("kind") or "").strip().lower())
    if kind is None:
        errors.append(f"类型未知：{entry.get('kind')!r}，应为 holiday（休）或 workday（班） "
                      f"(unknown kind; use holiday or workday)")
    note = entry.get("note") or ""
    if not isinstance(note, str) or len(note.strip()) > 100 or any(ord(c) < 32 for c in note):
        errors.append("备注须为不超过 100 字的文字 (note: text of at most 100 characters)")
    return (None if errors else (day, kind, note.strip())), errors


def _clean_entries(entries: Sequence) -> list[tuple[date, str, str]]:
    """Validated (day, kind, note) triples; ValidationFailed naming each wrong line or item."""
    if not isinstance(entries, list | tuple) or not entries:
        raise ValidationFailed({"days": ["没有要录入的日期 (nothing to enter)"]})
    cleaned, errors, seen = [], {}, {}
    for index, entry in enumerate(entries, start=1):
        line = entry.get("line") if isinstance(entry, dict) else None
        zh, en = (f"第 {line} 行", f"line {line}") if line else (f"第 {index} 项", f"item {index}")
        triple, messages = _clean_entry(entry)
        if triple and triple[0] in seen:
            messages = [f"{triple[0].isoformat()} 与{seen[triple[0]][0]}重复 (same date as {seen[triple[0]][1]})"]
        if messages:
            errors[f"{zh} ({en})"] = messages
        else:
            seen[triple[0]] = (zh, en)
            cleaned.append(triple)
    if errors:
        raise ValidationFailed(errors)
    return cleaned
