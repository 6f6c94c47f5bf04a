"""The county's figures (/figures), the six-step heatmap (/figures/heatmap) and each member's 履职 record
(/members/<username>/record, with its CSV/XLSX export). The numbers come from domain.consultation.figures."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from domain.consultation import figures as figs
from domain.consultation.vocabulary import TIER_NAMES
from domain.people import policy
from engine.clock import LOCAL_TZ
from engine.store.models import ProcessVersion

from . import engine_of, labels, services_of
from .security import current_user, login_required

bp = Blueprint("figures", __name__, template_folder="templates")
PROCESS_ID = "consultation"
HEAT_MODES = ("median", "breach")


def _today():
    return engine_of(current_app).clock.now().astimezone(LOCAL_TZ).date()


def _filters():
    """The period and tier asked for; a bad period falls back to this year with a message (input kept)."""
    today, error = _today(), None
    asked = request.args.get("period", "")[:10]
    try:
        period = figs.parse_period(asked, today)
    except figs.PeriodError:
        error = _("时段“%(text)s”无法识别：请写成 2026、2026-Q2 或 2026-05。", text=asked)
        period = figs.parse_period(None, today)
    tier = request.args.get("tier") or None
    if tier not in (None, *TIER_NAMES):
        error, tier = _("没有这个层级。"), None
    return period, tier, asked, error


def _allowed_units():
    user = current_user()
    if not policy.may_see_figures(user):
        abort(403)
    return policy.figures_units(user)


@bp.get("/figures")
@login_required
def index():
    """Per period and tier: consultations held, participation, suggestions, adoption, on-time and satisfaction."""
    units = _allowed_units()
    period, tier, asked, error = _filters()
    engine = engine_of(current_app)
    with engine.reading() as session:
        numbers = figs.compute(session, period, tier, units)
    status = 422 if error else 200
    return render_template("figures/index.html", f=numbers, period=period, tier=tier, asked=asked, error=error,
                           units=_unit_names(units), charts=_charts(numbers), org_names=_org_names(),
                           ledger=_ledger_filters(period, tier, units)), status


def _unit_names(units: frozenset[str] | None) -> list[str] | None:
    """The names of the units a reader's figures are limited to (None: all)."""
    if units is None:
        return None
    names = _org_names()
    return [names.get(code, code) for code in sorted(units)]


def _org_names() -> dict[str, str]:
    return {unit.code: unit.name for unit in services_of(current_app).accounts.org_units()}


def _ledger_filters(period: figs.Period, tier: str | None, units: frozenset[str] | None) -> dict:
    """The suggestion ledger's URL filters that select this page's suggestions."""
    found = {"period": period.key}
    if tier:
        found["tier"] = tier
    if units is not None and len(units) == 1:
        found["unit"] = next(iter(units))
    return found


def _charts(numbers: figs.Figures) -> dict:
    """The chart specs the page's script draws (the same numbers are in the tables)."""
    months = list(numbers.period.months)
    names, steps = labels.tier_names(), labels.step_names()
    tiers = [t for t in names if any(numbers.held_by_month.get(m, {}).get(t) for m in months)] or list(names)
    rates = [(_("采纳率"), numbers.answered_by_month), (_("满意率"), numbers.satisfaction_by_month)]
    return {
        "held": {"labels": months, "stacked": True, "datasets": [
            {"label": names[t], "data": [numbers.held_by_month.get(m, {}).get(t, 0) for m in months]}
            for t in tiers]},
        "rates": {"labels": months, "percent": True, "datasets": [
            {"label": label, "data": [by.get(m).percent if by.get(m) else None for m in months]}
            for label, by in rates]},
        "on_time": {"labels": [steps[s] for s in figs.STEPS], "percent": True, "horizontal": True,
                    "datasets": [{"label": _("按期完成率"), "data": [numbers.on_time[s].percent for s in figs.STEPS]}]},
    }


@bp.get("/figures/heatmap")
@login_required
def heatmap():
    """The consultation diagram with each step coloured by median time spent or by breach rate."""
    units = _allowed_units()
    period, tier, asked, error = _filters()
    mode = request.args.get("mode") if request.args.get("mode") in HEAT_MODES else "median"
    engine = engine_of(current_app)
    with engine.reading() as session:
        times = figs.step_times(session, period, engine.clock.now(), tier, units)
        xml = _diagram_xml(session)
    bands = _bands(MEDIAN_BANDS, " " + _("天")) if mode == "median" else _bands(BREACH_BANDS, "%")
    return render_template("figures/heatmap.html", times=times, period=period, tier=tier, asked=asked, error=error,
                           mode=mode, units=_unit_names(units), diagram=_heat_payload(xml, times, mode),
                           bands=bands), 422 if error else 200


def _diagram_xml(session) -> str:
    """The newest deployed consultation diagram."""
    version = session.scalar(select(ProcessVersion).where(ProcessVersion.process_id == PROCESS_ID)
                             .order_by(ProcessVersion.id.desc()).limit(1))
    return next((text for path, text in sorted(version.files.items()) if path.endswith(".bpmn")), "") \
        if version else ""


def _heat_payload(xml: str, times: dict[int, figs.StepTime], mode: str) -> dict:
    """What the page's script needs: the diagram, each step's level and its tag (long, and short for a phone)."""
    return {"xml": xml,
            "levels": {f"step{s}": heat_level(times[s], mode) for s in figs.STEPS},
            "tags": {f"step{s}": _("第 %(n)d 步：%(value)s", n=s, value=heat_text(times[s], mode)) for s in figs.STEPS},
            "short": {f"step{s}": heat_text(times[s], mode) for s in figs.STEPS}}


MEDIAN_BANDS = (3, 7, 15, 30)           # days: up to 3 is level 1 … over 30 is level 5
BREACH_BANDS = (5, 15, 30, 50)          # percent of tasks with a due time that broke it


def _bands(edges: tuple[int, ...], unit: str) -> list[str]:
    """The legend's words for levels 1–5."""
    pairs = zip(edges, edges[1:], strict=False)
    return [f"≤ {edges[0]}{unit}", *(f"{a}–{b}{unit}" for a, b in pairs), f"> {edges[-1]}{unit}"]


def heat_text(time: figs.StepTime, mode: str) -> str:
    """The number a step's tag on the diagram shows: its median days or its breach rate, "—" without data."""
    value = time.median_days if mode == "median" else time.breach.percent
    if value is None:
        return "—"
    return f"{value} {_('天')}" if mode == "median" else f"{value}%"


def heat_level(time: figs.StepTime, mode: str) -> int:
    """0 for no data, else 1 (cool) … 5 (hot) by the mode's bands."""
    value = time.median_days if mode == "median" else time.breach.percent
    if value is None:
        return 0
    bands = MEDIAN_BANDS if mode == "median" else BREACH_BANDS
    return 1 + sum(value > band for band in bands)


@bp.get("/members/me/record")
@login_required
def my_record():
    """The former address of one's own record: the member's page (/members/me) holds it now."""
    return redirect(url_for("members.mine", **request.args.to_dict()), 301)


@bp.get("/members/<username>/record")
@login_required
def member(username: str):
    """The former address of a member's record: their page (/members/<username>) holds it now, with the export."""
    return redirect(url_for("members.page", username=username[:64], **request.args.to_dict()), 301)
