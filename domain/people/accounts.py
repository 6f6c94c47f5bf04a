"""People and org units as services: sign-in, API tokens, and the admin commands that manage them."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from domain.people import audit, policy, tokens
from domain.people.labels import PersonChoice, described
from domain.people.models import ApiToken
from domain.people.passwords import password_problems
from domain.people.roles import INHERITED_ROLES, ROLES
from engine.bpmn.forms import nul_free
from engine.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from engine.store import directory
from engine.store.directory import eligible, hash_password, verify_password
from engine.store.models import Membership, OrgUnit, User

ORG_KINDS = ("county", "committee", "sector", "township", "village", "hall", "department")
USERNAME = re.compile(r"^[a-z0-9_.-]{2,64}$")
CODE = re.compile(r"^[a-z0-9_]{2,64}$")
CODE_TAKEN = "编码已存在 (this code is already in use)"
PARENT_BELOW = "上级不能是本单位或其下级 (the parent cannot be the unit itself or one below it)"


@dataclass(frozen=True)
class UserView:
    """A signed-in person: who they are and the roles they hold where."""

    username: str
    display_name: str
    active: bool
    memberships: tuple[tuple[str, str], ...]
    generation: int = 0     # the session generation: sessions and tokens of an older one no longer work

    def has_role(self, role: str, org_unit: str | None = None) -> bool:
        """Whether the person holds `role` (in `org_unit`, if given)."""
        return any(r == role and (org_unit is None or o == org_unit) for r, o in self.memberships)

    @property
    def roles(self) -> frozenset[str]:
        """Every role, wherever held."""
        return frozenset(r for r, _ in self.memberships)

    @property
    def is_admin(self) -> bool:
        """Admins manage people and org units."""
        return "admin" in self.roles


@dataclass(frozen=True)
class OrgUnitView:
    """An org unit."""

    code: str
    name: str
    kind: str
    tier: str | None
    parent: str | None


class Accounts:
    """Sign-in, tokens and directory administration; `unit_of_work` comes from the engine service."""

    def __init__(self, unit_of_work, clock, reading=None):
        self._uow: Callable[[], AbstractContextManager[Session]] = unit_of_work
        self._read: Callable[[], AbstractContextManager[Session]] = reading or unit_of_work
        self.clock = clock
        self.token_lifetime: timedelta = tokens.DEFAULT_LIFETIME

    # --- sign-in --------------------------------------------------------------------------------
    def authenticate(self, username: str, password: str) -> UserView | None:
        """The user when the password matches an active account, else None (same answer, in the same time, for an
        unknown account: its guess is checked against a stand-in hash so that timing tells no usernames)."""
        if "\x00" in (username or "") or "\x00" in (password or ""):
            return None
        with self._read() as session:
            user = session.scalar(select(User).where(User.username == username))
            stored = user.password_hash if user is not None else _stand_in_hash()
            if not verify_password(password, stored) or user is None or not user.active:
                return None
            return _view(session, user)

    def change_password(self, username: str, current: str, new: str) -> UserView:
        """A person changes their own password: the current one must match and the new one meet the policy. Every
        session and API token of theirs ends; the caller starts a fresh session with the returned view."""
        if current is None or self.authenticate(username, current) is None:
            raise ValidationFailed({"current_password": ["当前密码不正确 (the current password is wrong)"]})
        if problems := password_problems(new, username):
            raise ValidationFailed({"new_password": problems})
        with self._uow() as session:
            user = _user(session, username)
            user.password_hash = hash_password(new)
            user.session_generation += 1
            return _view(session, user)

    def end_sessions(self, username: str) -> None:
        """Sign the person out everywhere: every session and API token of theirs stops working at once."""
        with self._uow() as session:
            _user(session, username).session_generation += 1

    def user(self, username: str) -> UserView:
        """One user by username (one statement: every signed-in page asks)."""
        with self._read() as session:
            rows = session.execute(_PERSON, {"username": username}).all()
        if not rows:
            raise NotFound(f"没有用户 {username} (no such user)")
        first = rows[0]
        return UserView(first.username, first.display_name, first.active,
                        tuple((row.role, row.code) for row in rows if row.role is not None),
                        first.session_generation or 0)

    def issue_token(self, username: str, label: str = "api", lifetime: timedelta | None = None) -> str:
        """A new API token for the user; shown once, only its hash is kept."""
        return self.new_token(username, label, lifetime)[0]

    def new_token(self, username: str, label: str = "api",
                  lifetime: timedelta | None = None) -> tuple[str, tokens.TokenView]:
        """A new API token (shown once) and how it is listed; it expires after `lifetime` (else the default)."""
        now = self.clock.now()
        with self._uow() as session:
            user = _user(session, username)
            token, token_id = tokens.issue(session, user, label, now, lifetime or self.token_lifetime)
            return token, next(t for t in tokens.listed(session, user.id, now) if t.id == token_id)

    def user_for_token(self, token: str) -> UserView | None:
        """The active user owning this API token while it is usable, or None. A read: the last use is written only
        when the recorded one is older than tokens.TOUCH_EVERY."""
        if not token or "\x00" in token or len(token) > 200:
            return None
        now = self.clock.now()
        with self._read() as session:
            found = tokens.find(session, token)
        if found is None or not found.usable(now):
            return None
        if tokens.needs_touch(found, now):
            with self._uow() as session:
                row = session.get(ApiToken, found.token_id)
                if row is not None:
                    row.last_used_at = now
        return UserView(found.username, found.display_name, True, found.memberships, found.user_generation)

    def tokens_of(self, actor: UserView, username: str | None = None) -> list[tokens.TokenView]:
        """The API tokens of `username` (default: the actor's own); admins may list anyone's, or everyone's ("*")."""
        username = username or actor.username
        if not policy.may_manage_token(actor, username if username != "*" else ""):
            raise PermissionDenied("只能查看自己的令牌 (you may only see your own tokens)")
        with self._read() as session:
            user_id = None if username == "*" else _user(session, username).id
            return tokens.listed(session, user_id, self.clock.now())

    def revoke_token(self, actor: UserView, token_id: int) -> tokens.TokenView:
        """Revoke (delete) one API token: its owner or an admin may; an admin revoking another's is audited."""
        now = self.clock.now()
        with self._uow() as session:
            row = session.get(ApiToken, token_id)
            owner = session.get(User, row.user_id) if row is not None else None
            if owner is None or not policy.may_manage_token(actor, owner.username):
                raise NotFound(f"没有编号为 {token_id} 的令牌 (no such token)")    # others' tokens are not told apart
            view = next(t for t in tokens.listed(session, owner.id, now) if t.id == token_id)
            if owner.username != actor.username:
                audit.record(session, actor.username, "token_revoked", now, username=owner.username,
                             token_id=token_id, label=row.label)
            session.delete(row)
            return view

    # --- directory queries ----------------------------------------------------------------------
    def org_units(self, kind: str | None = None) -> list[OrgUnitView]:
        """Org units (of one kind, if given), by code."""
        with self._read() as session:
            parents = dict(session.execute(select(OrgUnit.id, OrgUnit.code)).all())
            query = select(OrgUnit).order_by(OrgUnit.kind, OrgUnit.code)
            if kind:
                query = query.where(OrgUnit.kind == kind)
            return [OrgUnitView(u.code, u.name, u.kind, u.tier, parents.get(u.parent_id))
                    for u in session.scalars(query)]

    def users(self, search: str = "", page: int = 1, per_page: int = 50) -> tuple[list[UserView], int]:
        """Users whose username or name contains `search`; (page of users, total)."""
        with self._read() as session:
            query = select(User)
            if search:
                like = f"%{search}%"
                query = query.where(User.username.ilike(like) | User.display_name.ilike(like))
            total = session.scalar(select(func.count()).select_from(query.subquery()))
            rows = session.scalars(query.order_by(User.username).offset((page - 1) * per_page).limit(per_page))
            return [_view(session, u) for u in rows], total

    def holders(self, role: str, org_unit: str) -> list[UserView]:
        """People holding a role in an org unit (for people pickers and reassignment)."""
        with self._read() as session:
            return holders(session, role, org_unit)

    def eligible(self, role: str, org_unit: str | None) -> list[tuple[str, str]]:
        """(username, display name) of those who may act as `role` in `org_unit` (members: also units below it)."""
        with self._uow() as session:
            return eligible(session, role, org_unit, INHERITED_ROLES)

    def offered(self, role: str, org_unit: str | None) -> list[PersonChoice]:
        """Those who may act as `role` in `org_unit`, with their unit, for people pickers."""
        with self._uow() as session:
            return described(session, eligible(session, role, org_unit, INHERITED_ROLES), role)

    def offered_anywhere(self, role: str) -> list[PersonChoice]:
        """The active holders of `role` in any unit (department staff), with their unit, unit by unit."""
        with self._uow() as session:
            people = session.execute(
                select(User.username, User.display_name).join(Membership, Membership.user_id == User.id)
                .where(Membership.role == role, User.active).distinct().order_by(User.username)).all()
            return sorted(described(session, people, role), key=lambda c: (c.unit, c.username))   # by unit

    def places(self, kind: str, org_unit: str | None) -> list[tuple[str, str, str]]:
        """(code, name, township it belongs to) of the units of `kind` at or below `org_unit` (all of them when
        none is below it): the halls a plan may choose from, grouped by township."""
        with self._uow() as session:
            found = directory.places(session, kind, org_unit)
            units = {u.id: u for u in session.scalars(select(OrgUnit))}

            def township(unit_id):   # a village's hall is listed under its township
                parent = units.get(unit_id)
                if parent is not None and parent.kind == "village":
                    parent = units.get(parent.parent_id)
                return parent.name if parent is not None else ""

            return [(u.code, u.name, township(u.parent_id)) for u in found]

    def described(self, people: list[tuple[str, str]], role: str | None = None) -> list[PersonChoice]:
        """(username, name) pairs as choices with their unit, in their order."""
        with self._uow() as session:
            return described(session, people, role)

    def active_people(self) -> list[tuple[str, str]]:
        """(username, display name) of every active account, by username."""
        with self._uow() as session:
            return [(u, n) for u, n in session.execute(
                select(User.username, User.display_name).where(User.active).order_by(User.username))]

    # --- administration (admins only) -------------------------------------------------------------
    def create_user(self, actor: UserView, username: str, display_name: str, password: str) -> UserView:
        """Create an account."""
        _require_admin(actor)
        if not nul_free([username, display_name, password]):
            raise ValidationFailed({"(form)": ["不能包含控制字符 (control characters are not allowed)"]})
        errors = {}
        if not USERNAME.match(username or ""):
            errors["username"] = ["用户名须为 2–64 位小写字母、数字或 _.- (lowercase letters, digits, _.-)"]
        if not (display_name or "").strip():
            errors["display_name"] = ["此项为必填项 (required)"]
        elif len(display_name.strip()) > 100:
            errors["display_name"] = ["不能超过 100 个字 (at most 100 characters)"]
        if problems := password_problems(password, username):
            errors["password"] = problems
        if errors:
            raise ValidationFailed(errors)
        with self._uow() as session:
            if session.scalar(select(User.id).where(User.username == username)):
                raise ValidationFailed({"username": ["用户名已存在 (username taken)"]})
            user = User(username=username, display_name=display_name.strip(), password_hash=hash_password(password),
                        active=True, created_at=self.clock.now())
            session.add(user)
            session.flush()
            audit.record(session, actor.username, "user_created", self.clock.now(), username=username)
            return _view(session, user)

    def update_user(self, actor: UserView, username: str, display_name: str | None = None,
                    active: bool | None = None, password: str | None = None) -> UserView:
        """Change a user's name, active flag or password; a new password or deactivation ends the person's sessions
        and API tokens at once. Each change is audited."""
        _require_admin(actor)
        if password and (problems := password_problems(password, username)):
            raise ValidationFailed({"password": problems})
        if active is False and username == actor.username:
            raise InvalidState("不能停用自己的账号 (you cannot deactivate yourself)")
        now = self.clock.now()
        with self._uow() as session:
            user = _user(session, username)
            if display_name is not None and display_name.strip() and display_name.strip() != user.display_name:
                audit.record(session, actor.username, "user_updated", now, username=username,
                             display_name=[user.display_name, display_name.strip()])
                user.display_name = display_name.strip()
            if active is not None and active != user.active:
                user.active = active
                user.session_generation += 0 if active else 1
                audit.record(session, actor.username, "user_reactivated" if active else "user_deactivated", now,
                             username=username)
            if password:
                user.password_hash = hash_password(password)
                user.session_generation += 1
                audit.record(session, actor.username, "password_reset", now, username=username)
            return _view(session, user)

    def grant(self, actor: UserView, username: str, role: str, org_unit: str) -> UserView:
        """Give a user a role in an org unit; open tasks of that role reach them at once."""
        _require_admin(actor)
        if role not in ROLES:
            raise ValidationFailed({"role": [f"未知角色 {role} (unknown role)"]})
        with self._uow() as session:
            user, unit = _user(session, username), _unit(session, org_unit)
            exists = session.scalar(select(Membership.id).where(
                Membership.user_id == user.id, Membership.role == role, Membership.org_unit_id == unit.id))
            if not exists:
                session.add(Membership(user_id=user.id, role=role, org_unit_id=unit.id))
                session.flush()
                audit.record(session, actor.username, "role_granted", self.clock.now(), username=username, role=role,
                             org_unit=org_unit)
            return _view(session, user)

    def revoke(self, actor: UserView, username: str, role: str, org_unit: str) -> UserView:
        """Take a role away; tasks they had only through it leave their inbox at once."""
        _require_admin(actor)
        if username == actor.username and role == "admin":
            raise InvalidState("不能撤销自己的管理员角色 (you cannot remove your own admin role)")
        with self._uow() as session:
            user, unit = _user(session, username), _unit(session, org_unit)
            row = session.scalar(select(Membership).where(
                Membership.user_id == user.id, Membership.role == role, Membership.org_unit_id == unit.id))
            if row is None:
                raise NotFound(f"{username} 在 {org_unit} 没有 {role} 角色 (no such membership)")
            session.delete(row)
            user.session_generation += 1      # sessions and tokens made with the role end with it
            session.flush()
            audit.record(session, actor.username, "role_revoked", self.clock.now(), username=username, role=role,
                         org_unit=org_unit)
            return _view(session, user)

    def save_org_unit(self, actor: UserView, code: str, name: str, kind: str, parent: str | None,
                      tier: str | None, new: bool = False) -> OrgUnitView:
        """Create (`new`: its code must be free) or rename and move an org unit; a unit never sits below itself."""
        _require_admin(actor)
        with self._read() as session:
            errors = _placement_errors(session, code, parent, new)
        if errors:
            raise ValidationFailed(errors)
        if not CODE.match(code or ""):
            errors["code"] = ["编码须为 2–64 位小写字母、数字或下划线 (lowercase letters, digits, _)"]
        if not (name or "").strip():
            errors["name"] = ["此项为必填项 (required)"]
        if kind not in ORG_KINDS:
            errors["kind"] = ["请从给定选项中选择 (choose one of the options)"]
        if tier not in (None, "", "county", "committee", "township"):
            errors["tier"] = ["请从给定选项中选择 (choose one of the options)"]
        if errors:
            raise ValidationFailed(errors)
        with self._uow() as session:
            parent_row = _unit(session, parent) if parent else None
            unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
            if unit is None:
                unit = OrgUnit(code=code, name=name.strip(), kind=kind)
                session.add(unit)
            unit.name, unit.kind, unit.tier = name.strip(), kind, tier or None
            unit.parent_id = parent_row.id if parent_row else None
            session.flush()
            audit.record(session, actor.username, "org_unit_saved", self.clock.now(), code=code, name=unit.name,
                         new=new)
            return OrgUnitView(unit.code, unit.name, unit.kind, unit.tier, parent)

    def people_per_org_unit(self) -> dict[str, int]:
        """How many active people hold at least one role in each org unit, by code (units without people left out)."""
        with self._uow() as session:
            rows = session.execute(select(OrgUnit.code, func.count(func.distinct(Membership.user_id)))
                                   .join(Membership, Membership.org_unit_id == OrgUnit.id)
                                   .join(User, User.id == Membership.user_id).where(User.active)
                                   .group_by(OrgUnit.code))
            return dict(rows.all())


def holders(session: Session, role: str, org_unit: str) -> list[UserView]:
    """Active people holding a role in an org unit, by username."""
    rows = session.scalars(select(User).join(Membership, Membership.user_id == User.id)
                           .join(OrgUnit, OrgUnit.id == Membership.org_unit_id)
                           .where(Membership.role == role, OrgUnit.code == org_unit, User.active)
                           .order_by(User.username))
    return [_view(session, u) for u in rows]


@cache
def _stand_in_hash() -> str:
    """A hash of a random password, checked for unknown usernames so that they take as long as known ones."""
    return hash_password(secrets.token_urlsafe(16))


def _placement_errors(session: Session, code: str, parent: str | None, new: bool) -> dict[str, list[str]]:
    """What is wrong with where an org unit goes: a new unit's code is taken, or its parent is itself or below it."""
    units = dict(session.execute(select(OrgUnit.id, OrgUnit.code)).all())
    parents = {u.code: units.get(u.parent_id) for u in session.scalars(select(OrgUnit))}
    errors = {}
    if new and code in parents:
        errors["code"] = [CODE_TAKEN]
    if parent and parent in {code} | _below(parents, code):
        errors["parent"] = [PARENT_BELOW]
    return errors


def _below(parents: dict[str, str | None], code: str) -> set[str]:
    """Codes of the units under `code`: its children, their children, and so on."""
    found, frontier = set(), {code}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _require_admin(actor: UserView) -> None:
    if not policy.may_administer(actor):
        raise PermissionDenied("需要管理员权限 (admins only)")


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"没有用户 {username} (no such user)")
    return user


def _unit(session: Session, code: str) -> OrgUnit:
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if unit is None:
        raise NotFound(f"没有组织 {code} (no such org unit)")
    return unit


# the person with their memberships, a row each (one with none for a person who holds none): built once, columns
_user_t, _membership_t, _unit_t = User.__table__, Membership.__table__, OrgUnit.__table__
_PERSON = (select(_user_t.c.username, _user_t.c.display_name, _user_t.c.active, _user_t.c.session_generation,
                  _membership_t.c.role, _unit_t.c.code)
           .select_from(_user_t.outerjoin(_membership_t, _membership_t.c.user_id == _user_t.c.id)
                        .outerjoin(_unit_t, _unit_t.c.id == _membership_t.c.org_unit_id))
           .where(_user_t.c.username == bindparam("username")).order_by(_unit_t.c.code, _membership_t.c.role))


def _view(session: Session, user: User) -> UserView:
    rows = session.execute(select(Membership.role, OrgUnit.code).join(OrgUnit, OrgUnit.id == Membership.org_unit_id)
                           .where(Membership.user_id == user.id).order_by(OrgUnit.code, Membership.role)).all()
    return _view_of(user, tuple((r, c) for r, c in rows))


def _view_of(user: User, memberships: tuple[tuple[str, str], ...]) -> UserView:
    return UserView(user.username, user.display_name, user.active, memberships, user.session_generation or 0)
