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


@pytest.mark.postgres
def test_a_statement_run_again_and_again_on_one_connection_is_planned_for_its_own_values(postgres):
    """psycopg prepares a statement from its fifth run; PostgreSQL would then switch a prepared statement to one
    generic plan (the inbox's tab counts: ~2 ms → 22-25 ms on a million rows). Every plan stays a custom one."""
    url = postgres.create_database("custom_plans")
    db.upgrade(url)
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("show plan_cache_mode")) == "force_custom_plan"
            query = text("select count(*) from alembic_version where version_num <> :skip")
            for run in range(30):
                connection.scalar(query, {"skip": f"v{run}"})
            generic, custom = connection.execute(text(
                "select coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0) from pg_prepared_statements"
            )).one()
        assert custom > 0, "psycopg did not prepare the statement: the test shows nothing"
        assert generic == 0
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_the_urls_own_server_options_win(postgres):
    url = postgres.create_database("own_options") + "?options=-c%20plan_cache_mode%3Dauto"
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("show plan_cache_mode")) == "auto"
    finally:
        engine.dispose()
