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

from . import demo_data
from .models import Membership, OrgUnit, User

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


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


def demo_accounts(session: Session) -> list[dict]:
    """The demo accounts as `{username, password, roles, org_unit}` (one entry per account)."""
    accounts = []
    for seed in demo_data.users():
        roles = sorted({role for role, _ in seed.memberships})
        org_units = [code for _, code in seed.memberships]
        accounts.append({"username": seed.username, "password": demo_data.DEMO_PASSWORD, "roles": roles,
                         "org_unit": org_units[0] if org_units else None})
    return accounts
