"""Working-day calendar administration: see a year's holidays and make-up working days, enter the State Council's
schedule for years the chinese-calendar package does not cover, and remove entered days."""

from __future__ import annotations

import calendar as month_calendar

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext, pgettext

from domain.calendar.workdays import YEARS, WorkCalendar, YearCalendar, package_coverage, parse_lines
from domain.people import policy
from engine.clock import LOCAL_TZ
from engine.errors import ValidationFailed

from . import engine_of, services_of
from .errors import readable
from .params import int_arg
from .security import allowed_if

bp = Blueprint("calendar_admin", __name__, template_folder="templates")

WEEKDAYS = [lazy_gettext("周一"), lazy_gettext("周二"), lazy_gettext("周三"), lazy_gettext("周四"),
            lazy_gettext("周五"), lazy_gettext("周六"), lazy_gettext("周日")]
MONTHS = [lazy_gettext("一月"), lazy_gettext("二月"), lazy_gettext("三月"), lazy_gettext("四月"), lazy_gettext("五月"),
          lazy_gettext("六月"), lazy_gettext("七月"), lazy_gettext("八月"), lazy_gettext("九月"), lazy_gettext("十月"),
          lazy_gettext("十一月"), lazy_gettext("十二月")]

# The package names its holidays in Chinese (chinese_calendar.Holiday.chinese); English pages show these instead.
HOLIDAY_NAMES = {"元旦": lazy_gettext("元旦"), "春节": lazy_gettext("春节"), "清明": lazy_gettext("清明"),
                 "劳动节": lazy_gettext("劳动节"), "端午": lazy_gettext("端午"), "中秋": lazy_gettext("中秋"),
                 "国庆节": lazy_gettext("国庆节"),
                 "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日": lazy_gettext("抗战胜利70周年纪念日")}


def _weekday_initials() -> list[str]:
    """Column heads of the month grids, one letter wide so that a month fits half of a phone's width."""
    return [pgettext("weekday", "一"), pgettext("weekday", "二"), pgettext("weekday", "三"), pgettext("weekday", "四"),
            pgettext("weekday", "五"), pgettext("weekday", "六"), pgettext("weekday", "日")]


def _calendar() -> WorkCalendar:
    return services_of(current_app).calendar()


def _months(view: YearCalendar) -> list[tuple[str, list[list[dict | None]]]]:
    """Each month's weeks (Monday first) of day cells; None pads the days of other months."""
    special = {d.day: d for d in view.days}
    weeks_of = month_calendar.Calendar(firstweekday=0).monthdatescalendar
    return [(MONTHS[month - 1], [[{"day": d, "working": view.is_working(d), "special": special.get(d)}
                                  if d.month == month else None for d in week]
                                 for week in weeks_of(view.year, month)])
            for month in range(1, 13)]


def _page(year: int, text: str = "", errors: dict | None = None, status: int = 200):
    view = _calendar().year(year)
    today = engine_of(current_app).clock.now().astimezone(LOCAL_TZ).date()
    return render_template("calendar_admin/year.html", view=view, months=_months(view), weekdays=WEEKDAYS,
                           initials=_weekday_initials(), coverage=package_coverage(), text=text,
                           errors=errors or {}, today=today, years=YEARS, holiday_names=HOLIDAY_NAMES), status


@bp.get("/admin/calendar")
@allowed_if(policy.may_manage_calendar)
def year():
    """One year: where its working days come from, a month grid, its special days and the entry form."""
    chosen = int_arg("year", None, 1, 9999)
    if chosen is None:
        chosen = engine_of(current_app).clock.now().astimezone(LOCAL_TZ).year
    if chosen not in YEARS:
        abort(404)
    return _page(chosen)


@bp.post("/admin/calendar")
@allowed_if(policy.may_manage_calendar)
def enter_days():
    """Enter the posted lines (`2027-02-06 holiday 春节`): all of them, or none with a message per wrong line."""
    shown = request.form.get("year", type=int)
    shown = shown if shown in YEARS else engine_of(current_app).clock.now().astimezone(LOCAL_TZ).year
    text = request.form.get("days", "")
    try:
        entered = _calendar().enter_days(g.user, parse_lines(text))
    except ValidationFailed as error:
        errors = {readable(where): [readable(m) for m in messages] for where, messages in error.field_errors.items()}
        return _page(shown, text, errors, 422)
    flash(gettext("已录入 %(count)s 天", count=len(entered)), "success")
    return redirect(url_for(".year", year=entered[0].day.year))


@bp.post("/admin/calendar/delete")
@allowed_if(policy.may_manage_calendar)
def delete_day():
    """Remove one entered day; the package (or Monday to Friday) decides it again."""
    day = request.form.get("date", "")
    _calendar().unset_day(g.user, day)
    flash(gettext("已删除 %(day)s", day=day), "success")
    return redirect(url_for(".year", year=day[:4]))
