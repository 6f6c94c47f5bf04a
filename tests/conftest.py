"""Shared fixtures: a frozen clock, databases (SQLite file and a real PostgreSQL), and the engine service."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

import pytest

from domain.wiring import standard_hooks
from engine.clock import FrozenClock
from engine.service import Engine
from engine.store import db
from tests.support.pg import PostgresServer

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
CONSULTATION = ROOT / "processes" / "consultation"
_counter = itertools.count()


@pytest.fixture
def clock() -> FrozenClock:
    """Monday 2 March 2026, 09:00 Beijing time (01:00 UTC)."""
    return FrozenClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))


@pytest.fixture(scope="session")
def postgres():
    """One PostgreSQL server for the whole session."""
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:
    """An empty, migrated database: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'xieshang.db'}"
    else:
        url = request.getfixturevalue("postgres").create_database(f"t{next(_counter)}")
    db.upgrade(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """An empty, migrated SQLite database (for tests that need not run on both)."""
    url = f"sqlite:///{tmp_path / 'xieshang.db'}"
    db.upgrade(url)
    return url


def make_service(url: str, clock: FrozenClock) -> Engine:
    """An engine service on `url` with `clock` and the product's process hooks (as the CLI, web and workers have)."""
    return Engine(db.make_session_factory(db.make_engine(url)), clock, hooks=standard_hooks())


@pytest.fixture
def service(db_url, clock) -> Engine:
    """The engine service, once on SQLite and once on PostgreSQL."""
    engine = make_service(db_url, clock)
    yield engine
    engine.sessions.kw["bind"].dispose()


@pytest.fixture
def sqlite_service(sqlite_url, clock) -> Engine:
    """The engine service on SQLite only."""
    engine = make_service(sqlite_url, clock)
    yield engine
    engine.sessions.kw["bind"].dispose()
