"""Revision 0018 numbers the versions deployed before it per process, in the order they were deployed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from engine.store import db
from engine.store.db import UTCDateTime

AT = datetime(2026, 1, 1, tzinfo=UTC)
BEFORE = sa.table("process_version", sa.column("process_id", sa.String), sa.column("content_hash", sa.String),
                  sa.column("files", sa.JSON), sa.column("created_at", UTCDateTime))
AFTER = sa.table("process_version", sa.column("id", sa.Integer), sa.column("process_id", sa.String),
                 sa.column("content_hash", sa.String), sa.column("number", sa.Integer), sa.column("note", sa.String),
                 sa.column("files", sa.JSON), sa.column("created_at", UTCDateTime))


def test_versions_deployed_before_get_their_numbers(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    db.upgrade(url, "0017")
    engine = db.make_engine(url)
    try:
        with engine.begin() as connection:
            for process_id, digest in (("a", "1"), ("b", "2"), ("a", "3"), ("a", "4"), ("b", "5")):
                connection.execute(sa.insert(BEFORE).values(process_id=process_id, content_hash=digest, files={},
                                                            created_at=AT))
        db.upgrade(url)
        with engine.begin() as connection:
            rows = connection.execute(sa.select(AFTER.c.process_id, AFTER.c.content_hash, AFTER.c.number,
                                                AFTER.c.note).order_by(AFTER.c.id)).all()
        assert [tuple(r) for r in rows] == [("a", "1", 1, ""), ("b", "2", 1, ""), ("a", "3", 2, ""),
                                            ("a", "4", 3, ""), ("b", "5", 2, "")]
        with pytest.raises(IntegrityError), engine.begin() as connection:      # one v3 of `a` only
            connection.execute(sa.insert(AFTER).values(process_id="a", content_hash="6", files={}, created_at=AT,
                                                       number=3, note=""))
    finally:
        engine.dispose()
