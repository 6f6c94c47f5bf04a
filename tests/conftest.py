"""Shared fixtures: a frozen clock, databases (SQLite file and a real PostgreSQL), the product's services (as the CLI,
web app and workers build them) and their engine."""

from __future__ import annotations

import itertools
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from domain.services import Services
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


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file migrated once per session; each test gets a copy (migrating costs ~1 s, a copy ~1 ms)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db.upgrade(f"sqlite:///{path}")
    return path


def copy_sqlite(template: Path, target: Path) -> str:
    """A consistent copy of a migrated SQLite file (through SQLite's backup API: WAL content included)."""
    with closing(sqlite3.connect(template)) as source, closing(sqlite3.connect(target)) as copy:
        source.backup(copy)
    return f"sqlite:///{target}"


@pytest.fixture(scope="session")
def postgres_template(postgres) -> str:
    """The name of a PostgreSQL database migrated once per session, the template of each test's database."""
    url = postgres.create_database("xieshang_template")
    db.upgrade(url)
    return "xieshang_template"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:
    """An empty, migrated database: a SQLite file, then a fresh PostgreSQL database (copies of migrated templates)."""
    if request.param == "sqlite":
        return copy_sqlite(request.getfixturevalue("sqlite_template"), tmp_path / "xieshang.db")
    template = request.getfixturevalue("postgres_template")
    return request.getfixturevalue("postgres").create_database(f"t{next(_counter)}", template=template)


@pytest.fixture
def sqlite_url(sqlite_template, tmp_path) -> str:
    """An empty, migrated SQLite database (for tests that need not run on both)."""
    return copy_sqlite(sqlite_template, tmp_path / "xieshang.db")


def make_services(url: str, clock: FrozenClock) -> Services:
    """The product's services on `url` with `clock` (as the CLI, web and workers have them)."""
    return Services.from_url(url, clock)


def make_service(url: str, clock: FrozenClock) -> Engine:
    """The engine of the product's services on `url` (for tests that need only the engine)."""
    return make_services(url, clock).engine


@pytest.fixture
def services(db_url, clock) -> Services:
    """The product's services, once on SQLite and once on PostgreSQL."""
    built = make_services(db_url, clock)
    yield built
    built.close()


@pytest.fixture
def service(services) -> Engine:
    """The engine of `services` (SQLite, then PostgreSQL)."""
    return services.engine


@pytest.fixture
def sqlite_services(sqlite_url, clock) -> Services:
    """The product's services on SQLite only."""
    built = make_services(sqlite_url, clock)
    yield built
    built.close()


@pytest.fixture
def sqlite_service(sqlite_services) -> Engine:
    """The engine of `sqlite_services`."""
    return sqlite_services.engine
