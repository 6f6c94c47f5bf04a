"""The annual consultation plan and its items. A plan counts once the county CPPCC has approved it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.db import Base, UTCDateTime


class ConsultationPlan(Base):
    """One unit's plan for one year: the county CPPCC's (tier county), a committee's or a township's."""

    __tablename__ = "consultation_plan"
    __table_args__ = (UniqueConstraint("year", "org_unit_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    tier: Mapped[str] = mapped_column(String(20))
    org_unit_code: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))          # draft | submitted | approved | returned
    note: Mapped[str | None] = mapped_column(Text)           # the office's reason when it returns a plan
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PlanItem(Base):
    """A planned topic: from the CPPCC's annual work plan or proposed by a township, on a platform, at a hall,
    led by a member, aimed at a month."""

    __tablename__ = "plan_item"
    __table_args__ = (UniqueConstraint("plan_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("consultation_plan.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))          # work_plan (年度工作要点) | township
    platform: Mapped[str] = mapped_column(String(20))        # county | committee | township
    org_unit_code: Mapped[str] = mapped_column(String(64))   # the platform's unit
    hall_code: Mapped[str | None] = mapped_column(String(64), index=True)
    lead_username: Mapped[str | None] = mapped_column(String(64))
    target_month: Mapped[int] = mapped_column(Integer)       # 1..12 of the plan's year
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
