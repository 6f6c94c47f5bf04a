"""Demo hall profiles and 七有 records for the demo county: addresses, contacts, members, entered items in every
state, and for the computed items an approved township plan naming some halls and meetings held at others, so the
registry shows halls that meet all seven beside halls missing different items. Bulk inserts: a few hundred rows."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.halls import registry
from domain.halls.models import HallContact, HallMember, HallProfile, HallStandard
from domain.halls.standard import ENTERED
from domain.meetings.models import Meeting
from domain.plans.models import ConsultationPlan, PlanItem
from engine.clock import LOCAL_TZ
from engine.store.models import Membership, OrgUnit, User

# The entered items' states by a hall's place in its township: most confirmed, some waiting, some returned/missing.
_PATTERNS = (("confirmed",) * 4, ("confirmed",) * 4, ("confirmed", "confirmed", "submitted", "confirmed"),
             ("confirmed", "returned", "confirmed", "confirmed"), ("missing", "confirmed", "confirmed", "confirmed"),
             ("confirmed", "confirmed", "confirmed", "missing"), ("confirmed",) * 4)
_SURNAMES = "王李张刘陈杨黄赵吴周"


def has_profiles(session: Session) -> bool:
    """Whether demo profiles were loaded already."""
    return session.scalar(select(HallProfile.id).limit(1)) is not None


def load(session: Session, now: datetime) -> int:
    """Insert the demo hall records (once: nothing if any profile exists); how many halls got a profile."""
    if has_profiles(session):
        return 0
    halls = registry.halls(session)
    year = now.astimezone(LOCAL_TZ).year
    members = _members_by_township(session)
    by_township: dict[str, list] = {}
    for hall in halls:
        by_township.setdefault(hall.township_code, []).append(hall)
    for township, group in by_township.items():
        keeper = f"organizer_{township.removeprefix('township_')}"
        _plan(session, township, group, year, keeper, now)
        pool = members.get(township, [])
        for place, hall in enumerate(group):
            _profile(session, hall, place, keeper, now)
            for offset in range(2 if pool else 0):
                username, kind = pool[(place * 2 + offset) % len(pool)]
                session.add(HallMember(hall_code=hall.code, username=username, assigned_at=now,
                                       capacity=registry.CAPACITY_OF_KIND.get(kind or "", "county_member")))
            for item, state in zip(ENTERED, _PATTERNS[place % len(_PATTERNS)], strict=True):
                if state != "missing":
                    session.add(HallStandard(
                        hall_code=hall.code, item=item, state=state, note="见附件及现场照片", submitted_by=keeper,
                        submitted_at=now - timedelta(days=30), decided_by=None if state == "submitted" else "office",
                        decided_at=None if state == "submitted" else now - timedelta(days=20),
                        reason="制度未上墙，请补充上墙照片" if state == "returned" else None))
            if place % 3 != 2:
                session.add(Meeting(kind="activity", title=f"{hall.served_name}议事活动", hall_code=hall.code,
                                    org_unit_code=township, starts_at=now - timedelta(days=40 + place),
                                    status="held", organizer=keeper, checkin_token=secrets.token_urlsafe(24),
                                    created_at=now, updated_at=now))
    session.flush()
    return len(halls)


def _profile(session: Session, hall, place: int, keeper: str, now: datetime) -> None:
    session.add(HallProfile(hall_code=hall.code, address=f"{hall.township_name}{hall.served_name}便民服务中心二楼"
                            if hall.served_code != hall.township_code else f"{hall.township_name}政府院内一楼",
                            opening_hours="每月 10 日为固定议事日；工作日 9:00—17:00 可预约", updated_by=keeper,
                            updated_at=now))
    surname = _SURNAMES[place % len(_SURNAMES)]
    session.add(HallContact(hall_code=hall.code, position=1, name=f"{surname}书记", role="村（社区）党组织书记",
                            phone=f"138{place:04d}{len(hall.code):04d}"))
    if place % 2 == 0:
        session.add(HallContact(hall_code=hall.code, position=2, name=f"{surname}主任", role="议事厅管理员",
                                phone=f"0831-46{place:05d}"))


def _plan(session: Session, township: str, group: list, year: int, keeper: str, now: datetime) -> None:
    """The township's approved plan for the year naming two of every three halls (unless it has a plan already)."""
    if session.scalar(select(ConsultationPlan.id).where(ConsultationPlan.year == year,
                                                        ConsultationPlan.org_unit_code == township)):
        return
    plan = ConsultationPlan(year=year, tier="township", org_unit_code=township, status="approved",
                            submitted_at=now - timedelta(days=300), approved_at=now - timedelta(days=290),
                            approved_by="office", created_by=keeper, created_at=now - timedelta(days=310),
                            updated_at=now - timedelta(days=290))
    session.add(plan)
    session.flush()
    session.add_all(PlanItem(plan_id=plan.id, number=number, title=f"{hall.served_name}民生实事协商",
                             source="township", platform="township", org_unit_code=township, hall_code=hall.code,
                             target_month=1 + number % 12, created_at=now)
                    for number, hall in enumerate((h for i, h in enumerate(group) if i % 4 != 3), start=1))


def _members_by_township(session: Session) -> dict[str, list[tuple[str, str | None]]]:
    """Each township's members (username, kind), by username."""
    rows = session.execute(select(OrgUnit.code, User.username, User.member_kind)
                           .join(Membership, Membership.org_unit_id == OrgUnit.id)
                           .join(User, User.id == Membership.user_id)
                           .where(Membership.role == "member", OrgUnit.kind == "township")
                           .order_by(User.username))
    found: dict[str, list[tuple[str, str | None]]] = {}
    for code, username, kind in rows:
        found.setdefault(code, []).append((username, kind))
    return found
