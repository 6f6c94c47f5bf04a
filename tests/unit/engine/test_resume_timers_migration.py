"""Revision 0026 gives the cases a ready timer left waiting with no next timer their last change as the next one,
so the next sweep runs them; every other case keeps what it had."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from engine.store import db
from engine.store.db import UTCDateTime

AT = datetime(2026, 12, 2, 10, tzinfo=UTC)
VERSION = sa.table("process_version", sa.column("id", sa.Integer), sa.column("process_id", sa.String),
                   sa.column("content_hash", sa.String), sa.column("number", sa.Integer), sa.column("note", sa.String),
                   sa.column("files", sa.JSON), sa.column("created_at", UTCDateTime))
INSTANCE = sa.table("process_instance", sa.column("id", sa.Integer), sa.column("version_id", sa.Integer),
                    sa.column("process_id", sa.String), sa.column("status", sa.String), sa.column("state", sa.Text),
                    sa.column("revision", sa.Integer), sa.column("next_timer_at", UTCDateTime),
                    sa.column("created_at", UTCDateTime), sa.column("updated_at", UTCDateTime))


def test_cases_waiting_for_no_timer_are_swept_again_and_no_other(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    db.upgrade(url, "0025")
    engine = db.make_engine(url)
    later = AT + timedelta(days=90)
    cases = {1: ("waiting", None), 2: ("waiting", later), 3: ("running", None), 4: ("completed", None),
             5: ("error", None)}
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(VERSION).values(id=1, process_id="p", content_hash="h", number=1, note="",
                                                         files={}, created_at=AT))
            for case, (status, timer) in cases.items():
                connection.execute(sa.insert(INSTANCE).values(
                    id=case, version_id=1, process_id="p", status=status, state="{}", revision=1,
                    next_timer_at=timer, created_at=AT, updated_at=AT + timedelta(hours=case)))
        db.upgrade(url)
        with engine.begin() as connection:
            rows = dict(connection.execute(sa.select(INSTANCE.c.id, INSTANCE.c.next_timer_at)).all())
        assert rows == {1: AT + timedelta(hours=1), 2: later, 3: None, 4: None, 5: None}
    finally:
        engine.dispose()
