"""The suggestion ledger (建议办理台账) `/ledger`: every suggestion raised at a meeting, its department, answers,
promise, follow-up and evidence; filtered by address parameters (other pages link to a filtered ledger), sorted,
paged, exported as CSV or XLSX. Supervisors urge from a row through its open task's page."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _

from domain.consultation import ledger as records
from domain.people import policy
from engine.store import keyset

from . import engine_of
from .exports import MAX_ROWS, table_response
from .labels import adoption_names, tier_names
from .security import current_user, login_required

bp = Blueprint("ledger", __name__, template_folder="templates")


def satisfaction_names() -> dict:
    """Residents' satisfaction code → name."""
    return {"satisfied": _("满意"), "basically_satisfied": _("基本满意"), "unsatisfied": _("不满意")}


def status_names() -> dict:
    """Where a suggestion stands, in words."""
    return {"awaiting_answer": _("待答复"), "rerouting": _("退回政协办公室改派"),
            "awaiting_visit": _("已答复，待回访"), "unsatisfied": _("群众不满意，待督办"),
            "supervised": _("督办中，再次办理"), "reanswered": _("已再次答复，待回访"),
            "overdue": _("逾期未办结"), "closed": _("已办结")}


def _messages() -> dict[str, str]:
    return {"period": _("期间应为年份（如 2026）、季度（如 2026-Q2）或年月（如 2026-04）"),
            "sort": _("排序方式无效"), "tier": _("层级无效"), "unit": _("单位代码无效"),
            "department": _("承办单位代码无效"),
            "adoption": _("办理结果应为 adopted、partly、not_adopted、solved、none，可用逗号分隔多个"),
            "answered": _("“是否已答复”应为 1 或 0"),
            "satisfaction": _("满意度应为 satisfied、basically_satisfied、unsatisfied、none，可用逗号分隔多个"),
            "overdue": _("“逾期未办结”应为 1 或 0"),
            "page": _("翻页链接无效或已过期（可能被改动过），请从第一页重新翻页"),
            "per_page": _("每页条数应在 1 到 %(most)d 之间", most=records.MAX_PER_PAGE)}


def _read_filter():
    try:
        # `?adoption=adopted,partly` and `?adoption=adopted&adoption=partly` read alike
        args = {key: ",".join(request.args.getlist(key)) for key in request.args}
        return records.parse_filter(args, _messages()), None
    except records.BadFilter as bad:
        return None, bad


def _may_urge(user, row) -> bool:
    return row.open_task is not None and policy.may_urge_suggestion(user, row.unit)


@bp.get("/ledger")
@login_required
def index():
    """The ledger page."""
    engine, user = engine_of(current_app), current_user()
    wanted, bad = _read_filter()
    with engine.reading() as session:
        choices = records.choices(session)
        if bad is None:
            try:
                page = records.ledger(session, user, wanted, engine.clock.now())
            except keyset.BadCursor:
                bad = records.BadFilter("after", _messages()["page"])
        if bad is not None:
            page = records.LedgerPage([], 0, records.LedgerFilter(), records.unit_names(session))
    mine = {org for role, org in user.memberships if role == "department"}
    held = set(user.memberships)
    body = render_template(
        "ledger/index.html", page=page, bad=bad, query=request.args, choices=choices, mine=mine,
        acting={row.suggestion_id for row in page.rows
                if row.open_task and (row.open_task.role, row.open_task.org_unit) in held},
        urging={row.suggestion_id for row in page.rows if _may_urge(user, row)},
        satisfaction_names=satisfaction_names(), ledger_status_names=status_names(),
        adoption_codes=records.ADOPTIONS, satisfaction_codes=records.SATISFACTIONS, sorts=_sort_names())
    return body, 400 if bad else 200


def _sort_names() -> dict:
    return {"meeting": _("按会议日期"), "promised": _("按承诺办结日期"), "department": _("按承办单位"),
            "topic": _("按议题")}


@bp.get("/ledger.<fmt>")
@login_required
def export(fmt: str):
    """The filtered ledger as a CSV or XLSX download (every matching row, up to the export bound)."""
    engine, user = engine_of(current_app), current_user()
    wanted, bad = _read_filter()
    if bad is not None:
        return bad.message, 400
    with engine.reading() as session:
        rows = records.all_rows(session, user, wanted, engine.clock.now(), MAX_ROWS)
        names = records.unit_names(session)
    adoption, satisfaction, status, tiers = adoption_names(), satisfaction_names(), status_names(), tier_names()
    headers = [_("议题"), _("案件编号"), _("层级"), _("单位"), _("会议日期"), _("建议编号"), _("建议内容"),
               _("承办单位"), _("此前承办单位"), _("办理结果"), _("理由"), _("办理措施"), _("承诺办结日期"),
               _("答复轮次"), _("回访落实情况"), _("群众满意度"), _("逾期未办结"), _("状态"), _("佐证材料")]
    table = [[row.topic, row.instance_id, tiers.get(row.tier, row.tier), names.get(row.unit, row.unit),
              row.meeting_date, row.number, row.text, names.get(row.department, row.department),
              "、".join(names.get(code, code) for code in row.departments_before),
              adoption.get(row.adoption, ""), row.reason, row.measures, row.promised_date, row.answer_round,
              row.follow_up, satisfaction.get(row.satisfaction, ""), row.overdue, status[row.status],
              "、".join(name for _id, name in row.evidence)] for row in rows]
    return table_response(fmt, _("建议办理台账"), headers, table, sheet=_("建议办理台账"))
