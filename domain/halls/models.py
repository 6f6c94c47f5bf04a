"""Who is assigned to which hall. A hall is an org unit of kind ``hall`` (one per township, one per village or
community); its code is the key every other record uses (``hall_code``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.work import models as _work  # noqa: F401 - upload, which a hall's files are
from engine.store.db import Base, UTCDateTime


class HallMember(Base):
    """A CPPCC member or adviser assigned to a hall's front line (联系议事厅)."""

    __tablename__ = "hall_member"
    __table_args__ = (UniqueConstraint("hall_code", "username"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_code: Mapped[str] = mapped_column(String(64), index=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    # municipal_member (市政协委员) | county_member (县政协委员) | adviser (资政员)
    capacity: Mapped[str] = mapped_column(String(20))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HallProfile(Base):
    """Where a hall is and when it is open (one row per hall; the hall itself is its org unit)."""

    __tablename__ = "hall_profile"
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_code: Mapped[str] = mapped_column(String(64), unique=True)
    address: Mapped[str | None] = mapped_column(String(200))
    opening_hours: Mapped[str | None] = mapped_column(String(500))     # 开放安排, as written
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HallContact(Base):
    """One of a hall's contact people (at most MAX_CONTACTS), in the order shown."""

    __tablename__ = "hall_contact"
    __table_args__ = (UniqueConstraint("hall_code", "position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_code: Mapped[str] = mapped_column(String(64), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(50))
    role: Mapped[str | None] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(30))


class HallFile(Base):
    """A stored upload that belongs to a hall: a photo of it, or evidence for one of the four entered 七有 items."""

    __tablename__ = "hall_file"
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_code: Mapped[str] = mapped_column(String(64), index=True)
    purpose: Mapped[str] = mapped_column(String(20))         # photo | venue | signage | rules | people
    upload_id: Mapped[str] = mapped_column(ForeignKey("upload.id", ondelete="CASCADE"), unique=True)
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HallStandard(Base):
    """One entered 七有 item of a hall (有阵地 有标识 有制度 有人员): the township's note and evidence, the county
    office's decision. No row: missing."""

    __tablename__ = "hall_standard"
    __table_args__ = (UniqueConstraint("hall_code", "item"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_code: Mapped[str] = mapped_column(String(64), index=True)
    item: Mapped[str] = mapped_column(String(20))            # venue | signage | rules | people
    state: Mapped[str] = mapped_column(String(20))           # submitted | confirmed | returned
    note: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)         # why the office returned it
    submitted_by: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
