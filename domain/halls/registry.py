"""The halls registry: the halls (org units of kind "hall") with the unit each serves and its township, their
profiles (address, opening, contacts), the members assigned to them, their photos and evidence files, and the
consultations and meetings held there."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, aliased

from domain.consultation.models import Consultation
from domain.halls.models import HallContact, HallFile, HallMember, HallProfile
from domain.halls.standard import HallUnit, Refused
from domain.meetings.models import Meeting
from domain.people import audit
from domain.work.models import Upload
from engine.clock import LOCAL_TZ
from engine.store.models import AuditEvent, OrgUnit, User

MAX_CONTACTS = 3
MAX_PHOTOS = 12
MAX_EVIDENCE = 10             # files per entered item
MAX_MEMBERS = 60
LIMITS = {"address": 200, "opening_hours": 500, "name": 50, "role": 50, "phone": 30}
CAPACITIES = ("municipal_member", "county_member", "adviser")    # 市政协委员, 县政协委员, 资政员
CAPACITY_OF_KIND = {"municipal": "municipal_member", "county": "county_member", "advisor": "adviser"}
PHONE = re.compile(r"[0-9+\- ]{5,30}")
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")


def halls(session: Session, townships: frozenset[str] | None = None) -> list[HallUnit]:
    """Every hall (or those of `townships`), township halls first within each township, by code: one query."""
    served, above = aliased(OrgUnit), aliased(OrgUnit)
    rows = session.execute(
        select(OrgUnit.code, OrgUnit.name, served.code, served.name, served.kind, above.code, above.name)
        .join(served, served.id == OrgUnit.parent_id).outerjoin(above, above.id == served.parent_id)
        .where(OrgUnit.kind == "hall").order_by(OrgUnit.code))
    found = []
    for code, name, s_code, s_name, s_kind, a_code, a_name in rows:
        township = (s_code, s_name) if s_kind == "township" else (a_code, a_name)
        if township[0] is None or (townships is not None and township[0] not in townships):
            continue
        found.append(HallUnit(code, name, s_code, s_name, township[0], township[1]))
    return sorted(found, key=lambda h: (h.township_code, h.served_code != h.township_code, h.code))


def hall(session: Session, code: str) -> HallUnit | None:
    """One hall, or None."""
    served, above = aliased(OrgUnit), aliased(OrgUnit)
    row = session.execute(
        select(OrgUnit.name, served.code, served.name, served.kind, above.code, above.name)
        .join(served, served.id == OrgUnit.parent_id).outerjoin(above, above.id == served.parent_id)
        .where(OrgUnit.kind == "hall", OrgUnit.code == code)).first()
    if row is None:
        return None
    name, s_code, s_name, s_kind, a_code, a_name = row
    township = (s_code, s_name) if s_kind == "township" else (a_code, a_name)
    return HallUnit(code, name, s_code, s_name, township[0] or s_code, township[1] or s_name)


def townships(session: Session) -> list[tuple[str, str]]:
    """(code, name) of every township, by code."""
    return [(code, name) for code, name in session.execute(
        select(OrgUnit.code, OrgUnit.name).where(OrgUnit.kind == "township").order_by(OrgUnit.code))]


# --- the profile ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Contact:
    """A contact person."""

    name: str
    role: str | None
    phone: str | None


@dataclass(frozen=True)
class Profile:
    """A hall's address, opening arrangements and contacts (empty when nobody entered them yet)."""

    address: str | None
    opening_hours: str | None
    contacts: tuple[Contact, ...]
    updated_by: str | None
    updated_at: datetime | None


def profile(session: Session, code: str) -> Profile:
    """The hall's profile."""
    row = session.scalar(select(HallProfile).where(HallProfile.hall_code == code))
    contacts = tuple(Contact(c.name, c.role, c.phone) for c in session.scalars(
        select(HallContact).where(HallContact.hall_code == code).order_by(HallContact.position)))
    if row is None:
        return Profile(None, None, contacts, None, None)
    return Profile(row.address, row.opening_hours, contacts, row.updated_by, row.updated_at)


def contact_problems(contact: Contact) -> list[tuple[str, str]]:
    """(field, problem code) for a contact that cannot be saved: name missing, a value too long, a bad phone."""
    problems = [] if contact.name else [("name", "required")]
    for field in ("name", "role", "phone"):
        if len(getattr(contact, field) or "") > LIMITS[field]:
            problems.append((field, "too_long"))
    if contact.phone and not PHONE.fullmatch(contact.phone):
        problems.append(("phone", "phone"))
    return problems


def save_profile(session: Session, code: str, address: str | None, opening_hours: str | None,
                 contacts: list[Contact], actor: str, now: datetime) -> None:
    """Replace the hall's profile and contacts (values already checked; Refused when they are not)."""
    if len(contacts) > MAX_CONTACTS or len(address or "") > LIMITS["address"] or \
            len(opening_hours or "") > LIMITS["opening_hours"] or any(contact_problems(c) for c in contacts):
        raise Refused("profile")
    row = session.scalar(select(HallProfile).where(HallProfile.hall_code == code))
    if row is None:
        row = HallProfile(hall_code=code)
        session.add(row)
    row.address, row.opening_hours, row.updated_by, row.updated_at = address or None, opening_hours or None, actor, now
    session.execute(delete(HallContact).where(HallContact.hall_code == code))
    session.add_all(HallContact(hall_code=code, position=i, name=c.name, role=c.role or None, phone=c.phone or None)
                    for i, c in enumerate(contacts, start=1))
    audit.record(session, actor, "hall_profile_saved", now, hall=code)


# --- members --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AssignedMember:
    """A member assigned to a hall."""

    username: str
    display_name: str
    capacity: str
    assigned_at: datetime


def members(session: Session, code: str) -> list[AssignedMember]:
    """The hall's members, by capacity then name."""
    rows = session.execute(select(HallMember.username, User.display_name, HallMember.capacity, HallMember.assigned_at)
                           .join(User, User.username == HallMember.username).where(HallMember.hall_code == code))
    order = {c: i for i, c in enumerate(CAPACITIES)}
    return sorted((AssignedMember(*row) for row in rows), key=lambda m: (order.get(m.capacity, 9), m.username))


def member_capacity(session: Session, username: str) -> str | None:
    """The capacity a member is assigned in (from their kind), or None when `username` is no active member."""
    kind = session.scalar(select(User.member_kind).where(User.username == username, User.active.is_(True)))
    return CAPACITY_OF_KIND.get(kind or "")


def assign(session: Session, code: str, username: str, capacity: str, actor: str, now: datetime) -> None:
    """Assign a member to the hall (Refused: unknown capacity, already assigned, the hall full)."""
    if capacity not in CAPACITIES:
        raise Refused("capacity")
    here = set(session.scalars(select(HallMember.username).where(HallMember.hall_code == code)))
    if username in here:
        raise Refused("assigned")
    if len(here) >= MAX_MEMBERS:
        raise Refused("members_full")
    session.add(HallMember(hall_code=code, username=username, capacity=capacity, assigned_at=now))
    audit.record(session, actor, "hall_member_assigned", now, hall=code, member=username, capacity=capacity)


def unassign(session: Session, code: str, username: str, actor: str, now: datetime) -> None:
    """Take a member off the hall (Refused when they were not on it)."""
    gone = session.execute(delete(HallMember).where(HallMember.hall_code == code, HallMember.username == username))
    if not gone.rowcount:
        raise Refused("not_assigned")
    audit.record(session, actor, "hall_member_unassigned", now, hall=code, member=username)


# --- files: photos and evidence -------------------------------------------------------------------------------
@dataclass(frozen=True)
class HallFileView:
    """A hall's stored file."""

    upload_id: str
    purpose: str
    filename: str
    content_type: str
    size: int
    added_by: str
    added_at: datetime


def files(session: Session, code: str) -> list[HallFileView]:
    """The hall's photos and evidence files, oldest first."""
    rows = session.execute(select(HallFile.upload_id, HallFile.purpose, Upload.filename, Upload.content_type,
                                  Upload.size, HallFile.added_by, HallFile.added_at)
                           .join(Upload, Upload.id == HallFile.upload_id).where(HallFile.hall_code == code)
                           .order_by(HallFile.added_at, HallFile.id))
    return [HallFileView(*row) for row in rows]


def file_count(session: Session, code: str, purpose: str) -> int:
    """How many files of one purpose the hall has."""
    return len(session.scalars(select(HallFile.id).where(HallFile.hall_code == code, HallFile.purpose == purpose))
               .all())


def add_files(session: Session, code: str, purpose: str, upload_ids: list[str], actor: str, now: datetime) -> None:
    """Give stored uploads to the hall (they are attached now: the uploads sweep keeps them)."""
    limit = MAX_PHOTOS if purpose == "photo" else MAX_EVIDENCE
    if file_count(session, code, purpose) + len(upload_ids) > limit:
        raise Refused("files_full")
    for upload in session.scalars(select(Upload).where(Upload.id.in_(upload_ids))):
        upload.attached_at = now
    session.add_all(HallFile(hall_code=code, purpose=purpose, upload_id=u, added_by=actor, added_at=now)
                    for u in upload_ids)
    audit.record(session, actor, "hall_files_added", now, hall=code, purpose=purpose, count=len(upload_ids))


def remove_file(session: Session, code: str, upload_id: str, actor: str, now: datetime) -> str:
    """Take a file off the hall (its upload goes with it: the caller removes the stored file); its purpose."""
    row = session.scalar(select(HallFile).where(HallFile.hall_code == code, HallFile.upload_id == upload_id))
    if row is None:
        raise Refused("no_file")
    purpose = row.purpose
    session.delete(row)
    upload = session.get(Upload, upload_id)
    if upload is not None:
        session.delete(upload)
    audit.record(session, actor, "hall_file_removed", now, hall=code, purpose=purpose)
    return purpose


def file_of(session: Session, code: str, upload_id: str) -> HallFileView | None:
    """One of the hall's files, or None."""
    return next((f for f in files(session, code) if f.upload_id == upload_id), None)


# --- its history ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Change:
    """One audited change to a hall."""

    at: datetime
    actor: str | None
    kind: str
    detail: dict


def history(session: Session, code: str, limit: int = 30) -> list[Change]:
    """The hall's audited changes (profile, members, files, 七有 entries and decisions), newest first."""
    rows = session.scalars(select(AuditEvent).where(AuditEvent.instance_id.is_(None), AuditEvent.kind.like("hall_%"),
                                                    AuditEvent.detail["hall"].as_string() == code)
                           .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit))
    return [Change(r.at, r.actor, r.kind, dict(r.detail or {})) for r in rows]


# --- what was held there --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HeldHere:
    """A consultation or meeting at the hall, as its page lists it."""

    kind: str                # consultation | meeting
    id: int
    instance_id: int | None
    title: str
    day: date | None
    status: str


def held_here(session: Session, code: str, limit: int = 100) -> tuple[list[HeldHere], list[HeldHere]]:
    """The consultations (by hall) and meetings at the hall, newest first, at most `limit` of each."""
    consultations = [HeldHere("consultation", c.id, c.instance_id, c.title, c.meeting_date, c.status)
                     for c in session.scalars(select(Consultation).where(Consultation.hall_code == code)
                                              .order_by(Consultation.meeting_date.desc().nulls_last(),
                                                        Consultation.id.desc()).limit(limit))]
    meetings = [HeldHere("meeting", m.id, instance_id, m.title, m.starts_at.astimezone(LOCAL_TZ).date(), m.status)
                for m, instance_id in session.execute(
                    select(Meeting, Consultation.instance_id)
                    .outerjoin(Consultation, Consultation.id == Meeting.consultation_id)
                    .where(Meeting.hall_code == code).order_by(Meeting.starts_at.desc()).limit(limit))]
    return consultations, meetings
