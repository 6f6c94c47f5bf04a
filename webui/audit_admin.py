"""Admin page of admin actions: who created or changed an account, granted or revoked a role, saved an org unit,
revoked someone's token, edited the working-day calendar or retried an instance or a delivery, and when."""

from __future__ import annotations

from math import ceil

from flask import Blueprint, current_app, render_template, request
from flask_babel import lazy_pgettext

from domain.people import policy
from domain.people.audit import ADMIN_KINDS, admin_actions

from . import engine_of
from .security import allowed_if

bp = Blueprint("audit_admin", __name__, url_prefix="/admin", template_folder="templates")

PER_PAGE = 50
MAX_PAGE = 10_000
DETAIL_LIMIT = 160
KIND_NAMES = {
    "user_created": lazy_pgettext("audit", "新建用户"), "user_updated": lazy_pgettext("audit", "修改姓名"),
    "password_reset": lazy_pgettext("audit", "重置密码"), "user_deactivated": lazy_pgettext("audit", "停用账号"),
    "user_reactivated": lazy_pgettext("audit", "启用账号"), "role_granted": lazy_pgettext("audit", "授予角色"),
    "role_revoked": lazy_pgettext("audit", "撤销角色"), "org_unit_saved": lazy_pgettext("audit", "保存组织"),
    "token_revoked": lazy_pgettext("audit", "撤销他人令牌"),
    "calendar_days_entered": lazy_pgettext("audit", "录入节假日安排"),
    "calendar_day_removed": lazy_pgettext("audit", "删除节假日安排"),
    "instance_retried": lazy_pgettext("audit", "重试出错事项"),
    "delivery_retried": lazy_pgettext("audit", "重新发送消息")}


@bp.get("/audit")
@allowed_if(policy.may_administer)
def index():
    """Admin actions, newest first, a page at a time; filter by who or by kind of action."""
    actor = request.args.get("actor", "").strip()[:64]
    kind = request.args.get("kind", "")
    kind = kind if kind in ADMIN_KINDS else ""
    page = min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)
    with engine_of(current_app).reading() as session:
        actions, total = admin_actions(session, page, PER_PAGE, actor, kind)
    return render_template("audit_admin/index.html", actions=actions, total=total, page=page, actor=actor,
                           kind=kind, kinds=ADMIN_KINDS, kind_names=KIND_NAMES, pages=max(ceil(total / PER_PAGE), 1),
                           describe=describe)


def describe(detail: dict) -> list[tuple[str, str]]:
    """An action's detail as short (key, text) pairs: a change reads old → new, entered days list their dates."""
    pairs = []
    for key, value in sorted(detail.items()):
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            text = ", ".join(str(v.get("date", v)) for v in value)
        elif isinstance(value, list):
            text = " → ".join(str(v) for v in value)
        else:
            text = str(value)
        pairs.append((key, text if len(text) <= DETAIL_LIMIT else text[:DETAIL_LIMIT] + "…"))
    return pairs
