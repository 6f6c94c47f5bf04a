"""Display names for codes (steps, tiers, statuses, roles), translated per request; used by templates."""

from __future__ import annotations

from datetime import datetime
from types import MappingProxyType
from weakref import WeakKeyDictionary

from flask_babel import get_translations, pgettext
from flask_babel import gettext as _

from domain.consultation.vocabulary import STEP_NAMES, TIER_NAMES
from domain.people.roles import ROLE_NAMES
from engine.clock import LOCAL_TZ


def localtime(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC time as Beijing time."""
    return "" if moment is None else moment.astimezone(LOCAL_TZ).strftime(fmt)


# The method's words come from its vocabulary; the catalogs hold their English (tests/unit/domain/test_vocabulary.py).
def step_names() -> dict:
    """Step number → name."""
    return {number: _(name) for number, name in STEP_NAMES.items()}


def tier_names() -> dict:
    """Tier code → name."""
    return {code: _(name) for code, name in TIER_NAMES.items()}


def status_names() -> dict:
    """Instance status → name."""
    return {"running": _("办理中"), "waiting": _("等待中"), "completed": _("已完成"), "cancelled": _("已取消"),
            "error": _("出错")}


def role_names() -> dict:
    """Role code → name."""
    return {code: _(name) for code, name in ROLE_NAMES.items()}      # the directory's words (domain/people/roles.py)


def adoption_names() -> dict:
    """Answer code → name."""
    return {"adopted": _("采纳"), "partly": _("部分采纳"), "not_adopted": _("未采纳"), "solved": _("已解决")}


def event_names() -> dict:
    """Audit event kind → name, in context "event" (what happened: "Claimed", where a button says "Claim")."""
    return {"instance_started": pgettext("event", "发起"), "task_completed": pgettext("event", "办理"),
            "task_claimed": pgettext("event", "认领"), "task_released": pgettext("event", "释放"),
            "task_reassigned": pgettext("event", "转办"), "task_returned": pgettext("event", "退回"),
            "timer_fired": pgettext("event", "等待期满"), "service_called": pgettext("event", "系统通知"),
            "instance_completed": pgettext("event", "办结"), "instance_cancelled": pgettext("event", "取消"),
            "script_error": pgettext("event", "出错"), "version_deployed": pgettext("event", "部署"),
            "reminder_sent": pgettext("event", "发出提醒"), "escalated": pgettext("event", "超期督办"),
            "extension_requested": pgettext("event", "申请延期"), "extension_approved": pgettext("event", "批准延期"),
            "extension_rejected": pgettext("event", "驳回延期"), "task_urged": pgettext("event", "催办"),
            "instance_migrated": pgettext("event", "迁移版本"),
            "plan_item_linked": pgettext("event", "关联年度计划议题"),
            "plan_item_unlinked": pgettext("event", "解除年度计划关联")}


def init_app(app) -> None:
    """Expose the label tables and the `localtime` filter to templates."""
    app.add_template_filter(localtime)

    @app.context_processor
    def _labels():
        now = app.extensions["xieshang"].engine.clock.now()     # the app's Services' engine
        return {"now": now, **_tables()}


# the label tables of each loaded catalog: some sixty translations per page otherwise, on every page
_TABLES: WeakKeyDictionary = WeakKeyDictionary()


def _tables() -> dict:
    """The label tables in the request's language, translated once per catalog (read-only: shared by requests)."""
    translations = get_translations()
    found = _TABLES.get(translations)
    if found is None:
        found = _TABLES[translations] = {name: MappingProxyType(table()) for name, table in (
            ("step_names", step_names), ("tier_names", tier_names), ("status_names", status_names),
            ("role_names", role_names), ("adoption_names", adoption_names), ("event_names", event_names))}
    return found
