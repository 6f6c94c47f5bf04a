"""Meetings: a consultation's step-4 meeting or another hall activity, who was invited, who answered and who
signed in. Attendance is what the member participation figures count."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.consultation import models as _consultation  # noqa: F401 - the consultation a meeting is for
from engine.store.db import Base, UTCDateTime


class Meeting(Base):
    """A meeting at a hall (or another venue) at a time, organised by someone, with its minutes once held."""

    __tablename__ = "meeting"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))            # consultation (协商议事会) | activity (other)
    title: Mapped[str] = mapped_column(String(200))
    consultation_id: Mapped[int | None] = mapped_column(ForeignKey("consultation.id", ondelete="SET NULL"),
                                                        index=True)
    hall_code: Mapped[str | None] = mapped_column(String(64), index=True)
    venue: Mapped[str | None] = mapped_column(String(200))  # words for a venue that is not a registered hall
    org_unit_code: Mapped[str] = mapped_column(String(64), index=True)   # the organising platform's unit
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20))          # planned | held | cancelled
    organizer: Mapped[str] = mapped_column(String(64))
    minutes: Mapped[str | None] = mapped_column(Text)
    checkin_token: Mapped[str] = mapped_column(String(64), unique=True)  # the QR code's secret
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MeetingInvitee(Base):
    """Someone invited: a member or staff (username), a department (org unit) or a resident representative (name
    and contact)."""

    __tablename__ = "meeting_invitee"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))            # member | staff | department | resident
    username: Mapped[str | None] = mapped_column(String(64), index=True)
    org_unit_code: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    contact: Mapped[str | None] = mapped_column(String(100))
    rsvp: Mapped[str] = mapped_column(String(20))            # pending | attending | declined
    rsvp_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MeetingAttendance(Base):
    """One person signed in to one meeting, once."""

    __tablename__ = "meeting_attendance"
    __table_args__ = (UniqueConstraint("meeting_id", "person_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    # "user:<username>" or "invitee:<id>": one row per person, whichever way they signed in
    person_key: Mapped[str] = mapped_column(String(80))
    username: Mapped[str | None] = mapped_column(String(64), index=True)
    invitee_id: Mapped[int | None] = mapped_column(ForeignKey("meeting_invitee.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(100))
    method: Mapped[str] = mapped_column(String(20))          # organizer | qr
    signed_in_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str | None] = mapped_column(String(64))
