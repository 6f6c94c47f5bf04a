"""The consultation's records: intake items, consultations, suggestions and answers."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.plans import models as _plans  # noqa: F401 - plan_item, which a consultation may refer to
from engine.store.db import Base, UTCDateTime


class IntakeItem(Base):
    """A topic submitted by the public (社情民意) with its tracking code."""

    __tablename__ = "intake_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_code: Mapped[str] = mapped_column(String(20), unique=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(30))
    scope: Mapped[str | None] = mapped_column(String(30))
    township: Mapped[str | None] = mapped_column(String(64))
    village: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Consultation(Base):
    """The consultation an instance carries out: topic, tier, org unit, progress and published result."""

    __tablename__ = "consultation"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), unique=True)
    intake_id: Mapped[int | None] = mapped_column(ForeignKey("intake_item.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(30))
    tier: Mapped[str | None] = mapped_column(String(20), index=True)
    org_unit_code: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(20))
    step: Mapped[int | None] = mapped_column(Integer)
    plan: Mapped[dict | None] = mapped_column(JSON)
    report_title: Mapped[str | None] = mapped_column(String(200))
    instruction: Mapped[str | None] = mapped_column(Text)
    satisfaction: Mapped[str | None] = mapped_column(String(20))
    public_reason: Mapped[str | None] = mapped_column(Text)      # a declined topic's explanation for the proposer
    meeting_date: Mapped[date | None] = mapped_column(Date, index=True)     # held on (else planned for)
    hall_code: Mapped[str | None] = mapped_column(String(64), index=True)    # the plan's venue, when a hall
    plan_item_id: Mapped[int | None] = mapped_column(ForeignKey("plan_item.id", ondelete="SET NULL"), index=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Suggestion(Base):
    """One suggestion (意见建议) from the meeting, its responsible department and the answer."""

    __tablename__ = "suggestion"
    __table_args__ = (UniqueConstraint("consultation_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    department_code: Mapped[str] = mapped_column(String(64), index=True)
    adoption: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    measures: Mapped[str | None] = mapped_column(Text)
    promised_date: Mapped[date | None] = mapped_column(Date)
    answer_round: Mapped[int] = mapped_column(Integer, default=0)
    satisfaction: Mapped[str | None] = mapped_column(String(20))
    departments_before: Mapped[list | None] = mapped_column(JSON)     # where it was before re-routing, in order
    follow_up: Mapped[str | None] = mapped_column(Text)                # the latest visit's finding (落实情况)
