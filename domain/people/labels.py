"""Who a person is, for a picker: their name, the unit where they hold the role in question (the most local one)
and what they are there (a role, or a member's kind of seat), never their username. The web layer words it
(王建国 · 巡场镇 · 县政协委员)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.models import Membership, OrgUnit, User

# Which of a person's units names them best: the most local first (a member sits for a township and a sector).
_UNIT_ORDER = ("village", "township", "department", "sector", "committee", "county")


@dataclass(frozen=True)
class PersonChoice:
    """One person a picker offers; `role`: the role held in `unit`, or for a member `member:<kind of seat>`."""

    username: str
    name: str
    unit: str = ""
    role: str = ""


def _unit_rank(kind: str) -> int:
    return _UNIT_ORDER.index(kind) if kind in _UNIT_ORDER else len(_UNIT_ORDER)


def described(session: Session, people: Iterable[tuple[str, str]], role: str | None) -> list[PersonChoice]:
    """(username, display name) pairs as choices, in their order, with the unit where each holds `role` (any
    role when None) and what they are there."""
    people = list(people)
    wanted = sorted({username for username, _name in people})
    if not wanted:
        return []
    seats = dict(session.execute(select(User.username, User.member_kind).where(User.username.in_(wanted))).all())
    query = (select(User.username, Membership.role, OrgUnit.name, OrgUnit.kind)
             .join(Membership, Membership.user_id == User.id).join(OrgUnit, OrgUnit.id == Membership.org_unit_id)
             .where(User.username.in_(wanted)))
    if role:
        query = query.where(Membership.role == role)
    places: dict[str, list[tuple[int, str, str]]] = {}
    for username, held, unit, kind in session.execute(query):
        places.setdefault(username, []).append((_unit_rank(kind), unit, held))
    choices = []
    for username, name in people:
        if not places.get(username):
            choices.append(PersonChoice(username, name))
            continue
        _rank, unit, held = min(places[username])
        word = f"member:{seats.get(username) or ''}" if held == "member" else held
        choices.append(PersonChoice(username, name, unit, word))
    return choices
