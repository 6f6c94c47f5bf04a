"""The county's directory rules: the roles people hold, which count upwards, which units host each tier, and their
names in messages. The composition root (domain/services.py) gives them to the engine."""

from __future__ import annotations

from types import MappingProxyType

from engine.store.directory import DirectoryRules

# Every role a person can hold; a diagram's lane that maps to another role reaches nobody.
ROLES = ("admin", "process_owner", "supervisor", "office", "platform_lead", "organizer", "member", "department")
# CPPCC membership counts upwards: a member on a township's or a sector group's roster is a member of the county
# CPPCC too. Staff roles (organizer, platform lead, supervisor …) belong to their own unit only.
INHERITED_ROLES = frozenset({"member"})
# The kinds of org unit that host each platform tier (分层分流).
TIER_KINDS = MappingProxyType({"county": ("county",), "committee": ("committee", "sector"),
                               "township": ("township",)})
ROLE_NAMES = MappingProxyType({
    "admin": "管理员", "process_owner": "流程管理员", "supervisor": "督办人员", "office": "政协办公室",
    "platform_lead": "平台负责人", "organizer": "协商组织者", "member": "政协委员", "department": "承办单位联络员"})
KIND_NAMES = MappingProxyType({"county": "县政协", "committee": "专委会", "sector": "界别小组", "township": "乡镇",
                               "village": "村（社区）", "hall": "议事厅（室）"})

# The tiers' names are the method's words (domain/consultation/vocabulary.py): the composition root adds them.
RULES = DirectoryRules(roles=ROLES, inherited_roles=INHERITED_ROLES, tier_kinds=TIER_KINDS, role_names=ROLE_NAMES,
                       kind_names=KIND_NAMES)
