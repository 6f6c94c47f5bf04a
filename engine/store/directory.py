"""People and org units: password hashing, the directory's rules, and who may act on what."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import MappingProxyType

from sqlalchemy import bindparam, select, tuple_
from sqlalchemy.orm import Session

from engine.store.models import Membership, OrgUnit, User

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_VOUCHED: ContextVar[tuple[str, frozenset[tuple[str, str]]] | None] = ContextVar("xieshang-vouched", default=None)


@contextmanager
def vouched(username: str, memberships: Iterable[tuple[str, str]]) -> Iterator[None]:
    """Inside the block, `username` is taken to be active with these (role, org unit code) memberships without
    asking the database: for a caller that has just read them itself (a web request's signed-in person, read in the
    same request). Only that one name is answered so; everyone else is read as always."""
    token = _VOUCHED.set((username, frozenset(memberships)))
    try:
        yield
    finally:
        _VOUCHED.reset(token)


def _vouched_memberships(username: str | None) -> frozenset[tuple[str, str]] | None:
    known = _VOUCHED.get()
    return known[1] if known is not None and username and known[0] == username else None


class AnyRole(Collection):
    """Every role name: with no configured roles, each lane a diagram draws names a role someone may hold."""

    def __contains__(self, item) -> bool:
        return isinstance(item, str)

    def __iter__(self):
        return iter(())

    def __len__(self) -> int:
        return 0


@dataclass(frozen=True)
class DirectoryRules:
    """What the product tells the engine about its directory; the defaults keep the engine generic.

    - `roles`: every role a person can hold; a diagram's lane that maps to another role reaches nobody
      (default: any lane names a role).
    - `inherited_roles`: roles whose membership counts upwards: a holder in a unit below acts in the units above
      (default: none).
    - `tier_kinds`: the kinds of org unit that may host each tier (default: any kind hosts any tier).
    - `role_names`, `tier_names`, `kind_names`: words for messages (default: the codes themselves).
    """

    roles: Collection[str] = field(default_factory=AnyRole)
    inherited_roles: frozenset[str] = frozenset()
    tier_kinds: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    role_names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    tier_names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    kind_names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


PLAIN_RULES = DirectoryRules()


def hash_password(password: str) -> str:
    """scrypt with a random salt, stored as `scrypt$n$r$p$salt$hash`."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    enc = base64.b64encode
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${enc(salt).decode()}${enc(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches the stored hash (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), dklen=32, n=int(n), r=int(r),
                            p=int(p))
    return hmac.compare_digest(actual, base64.b64decode(digest))


def memberships_of(session: Session, username: str) -> set[tuple[str, str]]:
    """(role, org unit code) pairs a user holds (none for an inactive user)."""
    known = _vouched_memberships(username)
    if known is not None:
        return set(known)
    return {(role, code) for role, code in session.execute(_MEMBERSHIPS, {"username": username})}


_MEMBERSHIPS = (select(Membership.role, OrgUnit.code).join(User, User.id == Membership.user_id)    # built once
                .join(OrgUnit, OrgUnit.id == Membership.org_unit_id)
                .where(User.username == bindparam("username"), User.active))


def holders(session: Session, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
    """Usernames holding each (role, org unit code), sorted; one query for all pairs."""
    wanted = {p for p in pairs if p[0] and p[1]}
    result: dict[tuple[str, str], list[str]] = defaultdict(list)
    if not wanted:
        return result
    rows = session.execute(
        select(Membership.role, OrgUnit.code, User.username).join(User, User.id == Membership.user_id)
        .join(OrgUnit, OrgUnit.id == Membership.org_unit_id)
        .where(tuple_(Membership.role, OrgUnit.code).in_(list(wanted)), User.active)
        .order_by(User.username))
    for role, code, username in rows:
        result[(role, code)].append(username)
    return result


def units_within(session: Session, code: str) -> set[str]:
    """The org unit `code` and every unit below it, by code; empty when it does not exist."""
    rows = session.execute(select(OrgUnit.id, OrgUnit.code, OrgUnit.parent_id)).all()
    children: dict[int | None, list[tuple[int, str]]] = defaultdict(list)
    ids = {}
    for unit_id, unit_code, parent_id in rows:
        children[parent_id].append((unit_id, unit_code))
        ids[unit_code] = unit_id
    if code not in ids:
        return set()
    found, todo = {code}, [ids[code]]
    while todo:
        for child_id, child_code in children[todo.pop()]:
            found.add(child_code)
            todo.append(child_id)
    return found


def _acting_units(session: Session, role: str, code: str, inherited: Collection[str]) -> set[str]:
    return units_within(session, code) if role in inherited else {code}


def eligible(session: Session, role: str, org_unit: str | None,
             inherited: Collection[str] = frozenset()) -> list[tuple[str, str]]:
    """(username, display name) of the active people who may act as `role` in `org_unit`, by username
    (`inherited`: the roles whose holders in units below count too)."""
    if not role or not org_unit:
        return []
    rows = session.execute(
        select(User.username, User.display_name).join(Membership, Membership.user_id == User.id)
        .join(OrgUnit, OrgUnit.id == Membership.org_unit_id)
        .where(Membership.role == role, OrgUnit.code.in_(_acting_units(session, role, org_unit, inherited)),
               User.active)
        .distinct().order_by(User.username))
    return [(username, name) for username, name in rows]


def may_act(session: Session, username: str, role: str | None, org_unit: str | None,
            inherited: Collection[str] = frozenset()) -> bool:
    """Whether an active user may act as `role` in `org_unit` (with no role: whether the user is active;
    `inherited`: the roles whose holders in units below count too)."""
    if not role:
        return is_active(session, username)
    if not org_unit:
        return False
    return session.scalar(
        select(Membership.id).join(User, User.id == Membership.user_id)
        .join(OrgUnit, OrgUnit.id == Membership.org_unit_id)
        .where(User.username == username, User.active, Membership.role == role,
               OrgUnit.code.in_(_acting_units(session, role, org_unit, inherited))).limit(1)) is not None


def is_active(session: Session, username: str | None) -> bool:
    """Whether `username` names an active account."""
    if _vouched_memberships(username) is not None:
        return True
    return bool(username) and session.scalar(_ACTIVE, {"username": username}) is not None


_ACTIVE = select(User.id).where(User.username == bindparam("username"), User.active)    # built once: every submit


def active_usernames(session: Session, usernames: Iterable[str]) -> set[str]:
    """Those of `usernames` that name active accounts."""
    wanted = {u for u in usernames if isinstance(u, str)}
    if not wanted:
        return set()
    return set(session.scalars(select(User.username).where(User.username.in_(wanted), User.active)))


def org_unit(session: Session, code: str | None) -> OrgUnit | None:
    """The org unit with this code, or None."""
    return session.scalar(select(OrgUnit).where(OrgUnit.code == code)) if code else None


def places(session: Session, kind: str, code: str | None) -> list[OrgUnit]:
    """Units of `kind` at or below the org unit `code`, by code; every unit of `kind` when none is below it
    (a unit with no places of its own, such as a committee, meets anywhere)."""
    units = list(session.scalars(select(OrgUnit).where(OrgUnit.kind == kind).order_by(OrgUnit.code)))
    within = units_within(session, code) if code else set()
    return [u for u in units if u.code in within] or units


def holds_role(session: Session, username: str, role: str) -> bool:
    """Whether an active user holds `role` in any unit."""
    return session.scalar(
        select(Membership.id).join(User, User.id == Membership.user_id)
        .where(User.username == username, User.active, Membership.role == role).limit(1)) is not None
