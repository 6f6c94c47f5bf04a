"""The monthly report (协商工作月报) as a PDF download, `/figures/report.pdf?month=2026-05&tier=county`: for the people
who see the figures, over the units their figures count (a township's staff: their township). /figures and /board
link to it (`report_month` names the month a page's period points at)."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import gettext as _

from domain.consultation import figures as figs
from domain.consultation import report as rep
from domain.consultation import report_pdf
from domain.consultation.vocabulary import TIER_NAMES
from domain.people import policy
from engine.clock import LOCAL_TZ

from . import engine_of
from .security import current_user, login_required

bp = Blueprint("report", __name__, template_folder="templates")


def _today() -> date:
    return engine_of(current_app).clock.now().astimezone(LOCAL_TZ).date()


@bp.app_template_global()
def report_month(period: figs.Period | None = None) -> str:
    """The month a page's report link asks for: the period's month; for a year or quarter its last month that has
    begun (this month while it runs); without a period, this month."""
    current = f"{_today():%Y-%m}"
    if period is None:
        return current
    begun = [month for month in period.months if month <= current]
    return begun[-1] if begun else period.months[0]


@bp.app_template_global()
def may_download_report() -> bool:
    """Whether the signed-in person may download the monthly report (the figures' readers)."""
    return policy.may_see_figures(current_user())


def _scope(user, asked_unit: str | None) -> frozenset[str] | None:
    """The units the report counts: the reader's figures units, or the one unit asked for within them."""
    allowed = policy.figures_units(user)
    if not asked_unit:
        return allowed
    if allowed is not None and asked_unit not in allowed:
        abort(403)
    return frozenset({asked_unit})


@bp.get("/figures/report.pdf")
@login_required
def monthly():
    """The month's report for the tier (optional) as a PDF; a month that cannot be read is a 400 saying how to write
    it, with the input kept."""
    user = current_user()
    if not policy.may_see_figures(user):
        abort(403)
    asked, tier = request.args.get("month", "")[:20], request.args.get("tier") or None
    error = None
    try:
        month = rep.parse_month(asked or report_month())
    except rep.MonthError:
        error = _("月份“%(text)s”无法识别：请写成 2026-05 这样的年-月（2000 年至 2100 年）。", text=asked)
    if tier not in (None, *TIER_NAMES):
        error = _("没有这个层级。")
    if error:
        return render_template("report/bad_request.html", error=error, asked=asked, tier=tier), 400
    units = _scope(user, (request.args.get("unit") or "")[:64] or None)
    engine = engine_of(current_app)
    with engine.reading() as session:
        report = rep.build(session, month, engine.clock.now(), tier, units, engine.hooks)
    try:
        body = report_pdf.render(report)
    except report_pdf.FontMissing:
        current_app.logger.exception("monthly report: the Chinese font is not installed")
        error = _("服务器没有安装中文字体（fonts-noto-cjk），暂时无法生成 PDF，请联系管理员。")
        return render_template("report/bad_request.html", asked=asked, tier=tier, error=error), 503
    return _pdf_response(body, f"协商工作月报-{month.key}{'-' + tier if tier else ''}.pdf")


def _pdf_response(body: bytes, name: str) -> Response:
    response = Response(body, mimetype="application/pdf")
    ascii_name = name.encode("ascii", "ignore").decode().lstrip("-") or "report.pdf"
    response.headers["Content-Disposition"] = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response
