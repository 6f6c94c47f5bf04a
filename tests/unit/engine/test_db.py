"""Database URLs: a bare `postgresql://` (or `postgres://`) URL reaches PostgreSQL through psycopg 3."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from engine.settings import Settings
from engine.store import db


@pytest.mark.parametrize(("given", "expected"), [
    ("postgresql://u:p@db:5432/x", "postgresql+psycopg://u:p@db:5432/x"),
    ("postgres://u@db/x", "postgresql+psycopg://u@db/x"),
    ("postgresql://u:p%40ss%2Fw@db/x?sslmode=require", "postgresql+psycopg://u:p%40ss%2Fw@db/x?sslmode=require"),
    ("postgresql+psycopg://u@db/x", "postgresql+psycopg://u@db/x"),
    ("sqlite:///instance/xieshang.db", "sqlite:///instance/xieshang.db"),
])
def test_a_bare_postgresql_url_is_pointed_at_psycopg_3_and_others_are_kept(given, expected):
    assert db.normalize_url(given) == expected


@pytest.mark.postgres
@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_the_engine_migrates_and_runs_on_a_bare_postgresql_url(postgres, scheme):
    url = postgres.create_database(f"bare_{scheme}").replace("postgresql+psycopg://", f"{scheme}://", 1)
    db.upgrade(url)
    engine = db.make_engine(Settings.from_env({"XIESHANG_DATABASE_URL": url}).database_url)
    try:
        with engine.connect() as connection:
            assert connection.dialect.driver == "psycopg"
            assert connection.scalar(text("select count(*) from alembic_version")) == 1
    finally:
        engine.dispose()
