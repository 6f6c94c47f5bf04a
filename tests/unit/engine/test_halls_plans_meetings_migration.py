"""Revision 0021 gives each consultation recorded before it the hall its plan's venue names, when that is a
registered hall, on SQLite and PostgreSQL; and it downgrades cleanly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command

from engine.store import db
from engine.store.db import UTCDateTime

AT = datetime(2026, 1, 1, tzinfo=UTC)
UNIT = sa.table("org_unit", sa.column("code", sa.String), sa.column("name", sa.String), sa.column("kind", sa.String))
INSTANCE = sa.table("process_instance", sa.column("id", sa.Integer), sa.column("version_id", sa.Integer),
                    sa.column("process_id", sa.String), sa.column("status", sa.String), sa.column("state", sa.Text),
                    sa.column("revision", sa.Integer),
                    sa.column("created_at", UTCDateTime), sa.column("updated_at", UTCDateTime))
VERSION = sa.table("process_version", sa.column("id", sa.Integer), sa.column("process_id", sa.String),
                   sa.column("content_hash", sa.String), sa.column("number", sa.Integer), sa.column("note", sa.String),
                   sa.column("files", sa.JSON), sa.column("created_at", UTCDateTime))
CONSULTATION = sa.table("consultation", sa.column("id", sa.Integer), sa.column("instance_id", sa.Integer),
                        sa.column("title", sa.String), sa.column("status", sa.String), sa.column("plan", sa.JSON),
                        sa.column("created_at", UTCDateTime), sa.column("updated_at", UTCDateTime))


def _walk(url):
    db.upgrade(url, "0020")
    engine = db.make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(UNIT), [{"code": "v01_hall", "name": "某村珙桐议事室", "kind": "hall"},
                                                 {"code": "township_a", "name": "某镇", "kind": "township"}])
            connection.execute(sa.insert(VERSION).values(id=1, process_id="p", content_hash="h", number=1, note="",
                                                         files={}, created_at=AT))
            plans = [{"venue": "v01_hall"}, {"venue": "township_a"}, {"venue": "other", "venue_other": "村委会"}, None]
            for number, plan in enumerate(plans, 1):
                connection.execute(sa.insert(INSTANCE).values(id=number, version_id=1, process_id="p",
                                                              status="running", state="{}", revision=1,
                                                              created_at=AT, updated_at=AT))
                connection.execute(sa.insert(CONSULTATION).values(id=number, instance_id=number, title=f"t{number}",
                                                                  status="in_progress", plan=plan, created_at=AT,
                                                                  updated_at=AT))
        db.upgrade(url)
        with engine.begin() as connection:
            halls = connection.execute(sa.text("SELECT id, hall_code FROM consultation ORDER BY id")).all()
        assert [tuple(r) for r in halls] == [(1, "v01_hall"), (2, None), (3, None), (4, None)]
        with engine.begin() as connection:
            cfg = db.alembic_config(url)
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, "0020")
        with engine.begin() as connection:
            columns = {c["name"] for c in sa.inspect(connection).get_columns("consultation")}
            assert "hall_code" not in columns and not sa.inspect(connection).has_table("meeting")
    finally:
        engine.dispose()


def test_consultations_recorded_before_get_their_hall_on_sqlite(tmp_path):
    _walk(f"sqlite:///{tmp_path / 'old.db'}")


@pytest.mark.postgres
def test_consultations_recorded_before_get_their_hall_on_postgresql(postgres):
    _walk(postgres.create_database("migration_0021"))
