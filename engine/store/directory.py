"""People and org units: password hashing, demo data loading, and who may act on what."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from domain.consultation import demo_data
from engine.store.models import Membership, OrgUnit, User

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
# CPPCC membership counts upwards: a member on a township's or a sector group's roster is a member of the county
# CPPCC too. Staff roles (organizer, platform lead, supervisor …) belong to their own unit only.
# Every role a person can hold; a diagram's lane that maps to another role reaches nobody.
ROLES = ("admin", "process_owner", "supervisor", "office", "platform_lead", "organizer", "member", "department")
INHERITED_ROLES = frozenset({"member"})
# The kinds of org unit that host each platform tier (分层分流).
TIER_KINDS = {"county": ("county",), "committee": ("committee", "sector"), "township": ("township",)}


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


def has_demo_data(session: Session) -> bool:
    """Whether the demo org units are already loaded."""
    return session.scalar(select(OrgUnit.id).where(OrgUnit.code == "county")) is not None


def load_demo(session: Session, now: datetime) -> int:
    """Insert the demo org units, users and memberships that are missing; returns users added."""
    units = {u.code: u for u in session.scalars(select(OrgUnit))}
    for seed in demo_data.org_units():
        if seed.code not in units:
            unit = OrgUnit(code=seed.code, name=seed.name, kind=seed.kind, tier=seed.tier,
                           parent_id=units[seed.parent].id if seed.parent else None)
            session.add(unit)
            session.flush()
            units[seed.code] = unit
    existing = set(session.scalars(select(User.username)))
    # One hash for the shared, published demo password keeps loading fast; real accounts get their own salt.
    shared_hash = hash_password(demo_data.DEMO_PASSWORD)
    added = 0
    for seed in demo_data.users():
        if seed.username in existing:
            continue
        user = User(username=seed.username, display_name=seed.display_name, password_hash=shared_hash,
                    member_kind=seed.member_kind, active=True, created_at=now)
        session.add(user)
        session.flush()
        for role, code in seed.memberships:
            session.add(Membership(user_id=user.id, role=role, org_unit_id=units[code].id))
        added += 1
    session.flush()
    return added


def memberships_of(session: Session, username: str) -> set[tuple[str, str]]:
    """(role, org unit code) pairs a user holds."""
    rows = session.execute(
        select(Membership.role, OrgUnit.code).join(User, User.id == Membership.user_id)
        .join(OrgUnit, OrgUnit.id == Membership.org_unit_id).where(User.username == username, User.active))
    return {(role, code) for role, code in rows}


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


def _acting_units(session: Session, role: str, code: str) -> set[str]:
    return units_within(session, code) if role in INHERITED_ROLES else {code}


def eligible(session: Session, role: str, org_unit: str | None) -> list[tuple[str, str]]:
    """(username, display name) of the active people who may act as `role` in `org_unit`, by username."""
    if not role or not org_unit:
        return []
    rows = session.execute(
        select(User.username, User.display_name).join(Membership, Membership.user_id == User.id)
        .join(OrgUnit, OrgUnit.id == Membership.org_unit_id)
        .where(Membership.role == role, OrgUnit.code.in_(_acting_units(session, role, org_unit)), User.active)
        .distinct().order_by(User.username))
    return [(username, name) for username, name in rows]


def may_act(session: Session, username: str, role: str | None, org_unit: str | None) -> bool:
    """Whether an active user may act as `role` in `org_unit` (with no role: whether the user is active)."""
    if not role:
        return is_active(session, username)
    if not org_unit:
        return False
    return session.scalar(
        select(Membership.id).join(User, User.id == Membership.user_id)
        .join(OrgUnit, OrgUnit.id == Membership.org_unit_id)
        .where(User.username == username, User.active, Membership.role == role,
               OrgUnit.code.in_(_acting_units(session, role, org_unit))).limit(1)) is not None


def is_active(session: Session, username: str | None) -> bool:
    """Whether `username` names an active account."""
    return bool(username) and session.scalar(
        select(User.id).where(User.username == username, User.active)) is not None


def active_usernames(session: Session, usernames: Iterable[str]) -> set[str]:
    """Those of `usernames` that name active accounts."""
    wanted = {u for u in usernames if isinstance(u, str)}
    if not wanted:
        return set()
    return set(session.scalars(select(User.username).where(User.username.in_(wanted), User.active)))


def org_unit(session: Session, code: str | None) -> OrgUnit | None:
    """The org unit with this code, or None."""
    return session.scalar(select(OrgUnit).where(OrgUnit.code == code)) if code else None


def demo_accounts(session: Session) -> list[dict]:
    """The demo accounts as `{username, password, roles, org_unit}` (one entry per account)."""
    accounts = []
    for seed in demo_data.users():
        roles = sorted({role for role, _ in seed.memberships})
        org_units = [code for _, code in seed.memberships]
        accounts.append({"username": seed.username, "password": demo_data.DEMO_PASSWORD, "roles": roles,
                         "org_unit": org_units[0] if org_units else None})
    return accounts
