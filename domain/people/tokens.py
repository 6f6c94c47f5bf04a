"""Personal API tokens: issued with a lifetime, carrying their owner's session generation, listed and revoked.

Only a token's SHA-256 is kept. A token works while it has not expired, has not been revoked (deleted) and its
generation is still its owner's (signing out, a password reset, a role taken away and deactivation bump that)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
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


@dataclass(frozen=True)
class Found:
    """A token as a request sees it: its row's id, lifetime and generation, its owner and their (role, org unit
    code) memberships."""

    token_id: int
    expires_at: datetime | None
    last_used_at: datetime | None
    generation: int
    username: str
    display_name: str
    user_generation: int
    memberships: tuple[tuple[str, str], ...]

    def usable(self, now: datetime) -> bool:
        """Not expired and issued in the owner's current session generation."""
        return _usable(self.expires_at, self.generation, self.user_generation, now)


# Every authenticated request runs this: built once (its SQL is compiled once per database), columns rather than
# ORM objects. A row per membership, one with no membership for a person who holds none.
_token, _user, _membership, _unit = ApiToken.__table__, User.__table__, Membership.__table__, OrgUnit.__table__
FIND = (select(_token.c.id, _token.c.expires_at, _token.c.last_used_at, _token.c.generation, _user.c.username,
               _user.c.display_name, _user.c.active, _user.c.session_generation, _membership.c.role, _unit.c.code)
        .select_from(_token.join(_user, _user.c.id == _token.c.user_id)
                     .outerjoin(_membership, _membership.c.user_id == _user.c.id)
                     .outerjoin(_unit, _unit.c.id == _membership.c.org_unit_id))
        .where(_token.c.token_hash == bindparam("token_hash"))
        .order_by(_unit.c.code, _membership.c.role))


def find(session: Session, token: str) -> Found | None:
    """The token with its owner and their memberships while the owner is active, else None (one statement)."""
    rows = session.execute(FIND, {"token_hash": digest(token)}).all()
    if not rows or not rows[0].active:
        return None
    first = rows[0]
    return Found(first.id, first.expires_at, first.last_used_at, first.generation or 0, first.username,
                 first.display_name, first.session_generation or 0,
                 tuple((row.role, row.code) for row in rows if row.role is not None))


def usable(row: ApiToken, user: User, now: datetime) -> bool:
    """Not expired and issued in the owner's current session generation."""
    return _usable(row.expires_at, row.generation, user.session_generation, now)


def _usable(expires_at: datetime | None, generation: int, user_generation: int, now: datetime) -> bool:
    return (expires_at is None or expires_at > now) and generation == user_generation


def needs_touch(found: Found, now: datetime) -> bool:
    """Whether the last use recorded is old enough to be written again."""
    return found.last_used_at is None or now - found.last_used_at >= TOUCH_EVERY


def listed(session: Session, user_id: int | None, now: datetime) -> list[TokenView]:
    """The tokens of one person (or everyone's, for None), newest first."""
    query = select(ApiToken, User).join(User, User.id == ApiToken.user_id)
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    rows = session.execute(query.order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))
    return [TokenView(row.id, user.username, row.label, row.created_at, row.expires_at, row.last_used_at,
                      usable(row, user, now)) for row, user in rows]
