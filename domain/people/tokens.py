"""Personal API tokens: issued with a lifetime, carrying their owner's session generation, listed and revoked.

Only a token's SHA-256 is kept. A token works while it has not expired, has not been revoked (deleted) and its
generation is still its owner's (signing out, a password reset, a role taken away and deactivation bump that)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.people.models import ApiToken
from engine.store.models import Membership, OrgUnit, User

DEFAULT_LIFETIME = timedelta(days=90)
MAX_LIFETIME = timedelta(days=366)
TOUCH_EVERY = timedelta(minutes=5)     # last use is written at most this often, so reads stay reads
PREFIX = "xs_"


@dataclass(frozen=True)
class TokenView:
    """A token as its owner and admins see it (never the token itself)."""

    id: int
    username: str
    label: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    valid: bool       # not expired and of its owner's current generation


def digest(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue(session: Session, user: User, label: str, now: datetime, lifetime: timedelta) -> tuple[str, int]:
    """A new token for `user` (shown once) and its id."""
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=digest(token), label=label[:100], created_at=now,
                   expires_at=now + min(lifetime, MAX_LIFETIME), generation=user.session_generation)
    session.add(row)
    session.flush()
    return token, row.id


def find(session: Session, token: str) -> tuple[ApiToken, User, tuple[tuple[str, str], ...]] | None:
    """The token's row, its owner and the owner's (role, org unit code) memberships while the token may be used,
    else None: one statement, a row per membership (one with no membership for a person who holds none)."""
    rows = session.execute(select(ApiToken, User, Membership.role, OrgUnit.code)
                           .join(User, User.id == ApiToken.user_id)
                           .outerjoin(Membership, Membership.user_id == User.id)
                           .outerjoin(OrgUnit, OrgUnit.id == Membership.org_unit_id)
                           .where(ApiToken.token_hash == digest(token))
                           .order_by(OrgUnit.code, Membership.role)).all()
    if not rows:
        return None
    row, user = rows[0][0], rows[0][1]
    memberships = tuple((role, code) for _row, _user, role, code in rows if role is not None)
    return (row, user, memberships) if user.active else None


def usable(row: ApiToken, user: User, now: datetime) -> bool:
    """Not expired and issued in the owner's current session generation."""
    return (row.expires_at is None or row.expires_at > now) and row.generation == user.session_generation


def needs_touch(row: ApiToken, now: datetime) -> bool:
    """Whether the last use recorded is old enough to be written again."""
    return row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY


def listed(session: Session, user_id: int | None, now: datetime) -> list[TokenView]:
    """The tokens of one person (or everyone's, for None), newest first."""
    query = select(ApiToken, User).join(User, User.id == ApiToken.user_id)
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    rows = session.execute(query.order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))
    return [TokenView(row.id, user.username, row.label, row.created_at, row.expires_at, row.last_used_at,
                      usable(row, user, now)) for row, user in rows]
