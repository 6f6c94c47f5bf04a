"""The method's words in one place: the six steps (六步工作法), the three platform tiers, where a topic comes from,
and what the public tracking page says of a topic — each in Chinese (what pages and records show) and in English.

The steps are worded as the county's own account of the method has them (确定协商主题、拟定协商方案、充分调查研究、
组织协商会议、报告协商结果、回访督促问效). The web translates each Chinese word with its catalogs; a test checks that
they hold exactly the English given here, and that the bundle's diagram and forms use the same Chinese.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Term:
    """One word of the method: its code (a step number or a stored value), its Chinese and its English."""

    code: int | str
    zh: str
    en: str


# Step 0 comes before the method: the office reviews a raised topic and routes it to a platform.
ACCEPTANCE = Term(0, "受理分流", "Review and routing")
STEPS = (
    Term(1, "确定协商主题", "Determine the topic"),
    Term(2, "拟定协商方案", "Draft the plan"),
    Term(3, "充分调查研究", "Investigate and research"),
    Term(4, "组织协商会议", "Hold the consultation meeting"),
    Term(5, "报告协商结果", "Report the results"),
    Term(6, "回访督促问效", "Follow up and check the effect"),
)
# The three platforms (三级平台), by the `tier` value triage stores; `TIER_LEVELS` are their short names.
TIERS = (
    Term("county", "县政协·要事会商", "County CPPCC · major matters"),
    Term("committee", "专委会/界别·专事专商", "Committees and sectors · specialist matters"),
    Term("township", "乡镇·众事众商", "Township · community matters"),
)
TIER_LEVELS = (Term("county", "县级", "County"), Term("committee", "专委会级", "Committee"),
               Term("township", "乡镇级", "Township"))
# Where a topic comes from (the intake form's `source`): the online direct line, a member's own proposal, or what a
# resident raised offline and staff recorded for them (`RESIDENT_SOURCES`: at a hall, on a visit, by phone, other).
SOURCES = (
    Term("online", "线上直通车", "Online direct line"),
    Term("hall", "线下议事厅", "Deliberation hall"),
    Term("visit", "走访", "Home visit"),
    Term("phone", "来电", "Phone call"),
    Term("other", "其他", "Other"),
    Term("member", "委员提出", "Raised by a member"),
    Term("plan", "年度计划", "Annual plan"),
)
RESIDENT_SOURCES = ("hall", "visit", "phone", "other")
# What the public tracking page says of a topic, by its consultation record's status.
PUBLIC_STATUSES = (
    Term("intake", "受理中", "Being reviewed"),
    Term("in_progress", "已受理", "Accepted"),
    Term("declined", "不予受理", "Not accepted"),
    Term("completed", "已完成", "Done"),
    Term("cancelled", "已终止", "Stopped"),
)

STEP_NAMES = MappingProxyType({term.code: term.zh for term in (ACCEPTANCE, *STEPS)})   # 0–6 → name
TIER_NAMES = MappingProxyType({term.code: term.zh for term in TIERS})
TIER_LEVEL_NAMES = MappingProxyType({term.code: term.zh for term in TIER_LEVELS})
SOURCE_NAMES = MappingProxyType({term.code: term.zh for term in SOURCES})
PUBLIC_STATUS_NAMES = MappingProxyType({term.code: term.zh for term in PUBLIC_STATUSES})
ALL_TERMS = (ACCEPTANCE, *STEPS, *TIERS, *TIER_LEVELS, *SOURCES, *PUBLIC_STATUSES)
