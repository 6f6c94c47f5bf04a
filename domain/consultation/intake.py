"""How a topic may come in: the rules checked when a consultation starts, whichever page or API started it.

Three ways (the article's 线上社情民意直通车, 线下珙桐议事厅 and members' own proposals): anyone online; a member
raising a topic of their own, credited to them; the office or an organizer recording what a resident raised at a
hall, on a visit or by phone. The person who starts the instance is the member (the proposer) or the recorder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from domain.consultation.models import Consultation, IntakeItem
from domain.consultation.vocabulary import RESIDENT_SOURCES
from domain.people import policy
from domain.plans import start as plan_start
from engine.errors import PermissionDenied, ValidationFailed
from engine.store import directory
from engine.store.models import OrgUnit, ProcessInstance

NOT_A_MEMBER = "只有政协委员可以提出委员议题 (only CPPCC members may raise a topic as a member)"
NOT_A_RECORDER = "只有政协办公室和协商组织者可以代群众登记议题 (only the office and organizers record for residents)"
NOT_SELF = "须为提交人本人 (must be the person submitting)"
NOT_SIGNED_IN = "须登录后提交 (sign in first)"
ONLINE_UNCREDITED = "线上直通车提交的议题不记录提出委员或登记人 (an online topic names no member or recorder)"
VILLAGE_UNKNOWN = "请从所选乡镇的村（社区）列表中选择 (choose a village from the list)"
VILLAGE_WITHOUT_TOWNSHIP = "请先选择村（社区）所在的乡镇 (choose the village's township first)"
VILLAGE_ELSEWHERE = "所选村（社区）不属于所选乡镇 (the village is not in the chosen township)"
TOWNSHIP_NOT_OWN = "您只能登记本乡镇群众反映的事项 (you record topics of your own township only)"


def check_start(session: Session, actor: str | None, data: dict) -> None:
    """Refuse a start whose source does not fit who starts it, or whose village is not in its township.

    PermissionDenied when the person may not raise a topic this way; ValidationFailed (by field) otherwise."""
    source = data.get("source")
    if data.get("plan_item") and source != "plan":
        raise ValidationFailed({"plan_item": [plan_start.NOT_FROM_PLAN]})
    if source == "member":
        _check_member(session, actor, data)
    elif source in RESIDENT_SOURCES:
        _check_recorder(session, actor, data)
    elif source == "plan":
        plan_start.check_start(session, actor, data)
    else:
        errors = {name: [ONLINE_UNCREDITED] for name in ("proposer", "recorded_by", "plan_item") if data.get(name)}
        if errors:
            raise ValidationFailed(errors)
    _check_village(session, data)


@dataclass(frozen=True)
class RaisedTopic:
    """A topic a person raised (a member) or recorded (for a resident), for their own list."""

    instance_id: int
    title: str
    source: str | None
    status: str
    step: int | None
    tracking_code: str
    created_at: datetime


def raised_by(session: Session, username: str, sources: tuple[str, ...], limit: int = 20) -> tuple[RaisedTopic, ...]:
    """The newest topics `username` started from one of `sources` (("member",): their own; the resident sources:
    those they recorded)."""
    rows = session.execute(
        select(IntakeItem.instance_id, IntakeItem.title, IntakeItem.source, Consultation.status, Consultation.step,
               IntakeItem.tracking_code, IntakeItem.created_at)
        .join(ProcessInstance, ProcessInstance.id == IntakeItem.instance_id)
        .join(Consultation, Consultation.intake_id == IntakeItem.id)
        .where(ProcessInstance.started_by == username, IntakeItem.source.in_(sources))
        .order_by(IntakeItem.created_at.desc(), IntakeItem.id.desc()).limit(limit))
    return tuple(RaisedTopic(*row) for row in rows)


def villages_by_township(session: Session) -> dict[str, list[tuple[str, str]]]:
    """Each township's villages and communities from the directory, as (code, name) in code order."""
    township = aliased(OrgUnit)
    rows = session.execute(select(township.code, OrgUnit.code, OrgUnit.name)
                           .join(township, township.id == OrgUnit.parent_id)
                           .where(OrgUnit.kind == "village", township.kind == "township").order_by(OrgUnit.code))
    found: dict[str, list[tuple[str, str]]] = {}
    for parent, code, name in rows:
        found.setdefault(parent, []).append((code, name))
    return found


def _check_member(session: Session, actor: str | None, data: dict) -> None:
    if actor is None:
        raise PermissionDenied(NOT_SIGNED_IN)
    if not policy.may_propose_topic(directory.memberships_of(session, actor)):
        raise PermissionDenied(NOT_A_MEMBER)
    if data.get("proposer") != actor:
        raise ValidationFailed({"proposer": [NOT_SELF]})


def _check_recorder(session: Session, actor: str | None, data: dict) -> None:
    if actor is None:
        raise PermissionDenied(NOT_SIGNED_IN)
    held = directory.memberships_of(session, actor)
    if not policy.may_record_for_residents(held):
        raise PermissionDenied(NOT_A_RECORDER)
    if data.get("recorded_by") != actor:
        raise ValidationFailed({"recorded_by": [NOT_SELF]})
    townships = session.scalars(select(OrgUnit.code).where(OrgUnit.kind == "township")).all()
    allowed = policy.recording_townships(held, townships)
    if allowed is not None and data.get("township") not in allowed:
        raise ValidationFailed({"township": [TOWNSHIP_NOT_OWN]})


def village_problem(villages: dict[str, list[tuple[str, str]]], data: dict) -> str | None:
    """Why the chosen village cannot stand (not in the directory, no township, another township's), or None."""
    village = data.get("village")
    if not village:
        return None
    township = next((t for t, rows in villages.items() if any(code == village for code, _ in rows)), None)
    if township is None:
        return VILLAGE_UNKNOWN
    if not data.get("township"):
        return VILLAGE_WITHOUT_TOWNSHIP
    return VILLAGE_ELSEWHERE if township != data["township"] else None


def _check_village(session: Session, data: dict) -> None:
    problem = village_problem(villages_by_township(session), data) if data.get("village") else None
    if problem:
        raise ValidationFailed({"village": [problem]})
