"""Tables of the working-day calendar: holidays and make-up working days admins entered."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.db import Base, UTCDateTime


class CalendarDay(Base):
    """A day whose status an admin entered from the State Council's schedule (holiday or make-up working day)."""

    __tablename__ = "calendar_day"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))        # holiday | workday
    note: Mapped[str] = mapped_column(String(100), default="")
    entered_by: Mapped[str | None] = mapped_column(String(64))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
