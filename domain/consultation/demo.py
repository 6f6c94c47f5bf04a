"""Loading the demo directory (org units, people, memberships) and listing its accounts, from demo_data.py."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.consultation import demo_data
from engine.store.directory import hash_password
from engine.store.models import Membership, OrgUnit, User


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



def demo_accounts(session: Session) -> list[dict]:
    """The demo accounts as `{username, password, roles, org_unit}` (one entry per account)."""
    accounts = []
    for seed in demo_data.users():
        roles = sorted({role for role, _ in seed.memberships})
        org_units = [code for _, code in seed.memberships]
        accounts.append({"username": seed.username, "password": demo_data.DEMO_PASSWORD, "roles": roles,
                         "org_unit": org_units[0] if org_units else None})
    return accounts
