"""Who may see a restricted form field (`"ui:audience": [roles]` in a UI schema) on an instance's case file and API."""

from __future__ import annotations

from collections.abc import Iterable

from domain.people.accounts import UserView
from domain.people.policy import COUNTY_WIDE

AUDIENCE = "ui:audience"


def audiences(ui: dict | None) -> dict[str, tuple[str, ...]]:
    """The top-level fields of a form that name an audience, with the roles that may see them."""
    return {name: tuple(options[AUDIENCE]) for name, options in (ui or {}).items()
            if isinstance(options, dict) and isinstance(options.get(AUDIENCE), list | tuple)}


def may_see_field(user: UserView, audience: Iterable[str], org_unit: str | None) -> bool:
    """Whether `user` may see a field restricted to `audience` on an instance of `org_unit`: they hold one of its
    roles in the instance's org unit (its platform's organizer), or a county-wide one at the county (the office,
    the county's supervisors)."""
    held = set(user.memberships)
    return any((role, org_unit) in held or (role in COUNTY_WIDE and (role, "county") in held) for role in audience)


def hidden_fields(user: UserView, restricted: dict[str, tuple[str, ...]], org_unit: str | None) -> frozenset[str]:
    """The restricted field names `user` may not see on an instance of `org_unit`."""
    return frozenset(name for name, audience in restricted.items() if not may_see_field(user, audience, org_unit))
