"""Who is assigned to which hall. A hall is an org unit of kind ``hall`` (one per township, one per village or
community); its code is the key every other record uses (``hall_code``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

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
