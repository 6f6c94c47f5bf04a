"""Shared fixtures: a frozen clock, databases (SQLite file and a real PostgreSQL), the product's services (as the CLI,
web app and workers build them) and their engine."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from domain.consultation.demo import load_demo
from domain.services import Services
from engine.clock import FrozenClock
from engine.service import Engine
from engine.store import db
from engine.store.models import ProcessVersion
from engine.store.versions import VersionCache
from tests.support.pg import PostgresServer

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
CONSULTATION = ROOT / "processes" / "consultation"
_counter = itertools.count()
FIRST_MOMENT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    """Monday 2 March 2026, 09:00 Beijing time (01:00 UTC)."""
    return FrozenClock(FIRST_MOMENT)


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


def empty_database(request, kind: str, target: Path) -> str:
    """A copy of the session's empty, migrated `kind` ("sqlite" or "postgres") database (`target`: the SQLite file)."""
    if kind == "sqlite":
        return copy_sqlite(request.getfixturevalue("sqlite_template"), target)
    template = request.getfixturevalue("postgres_template")
    return request.getfixturevalue("postgres").create_database(f"t{next(_counter)}", template=template)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:
    """An empty, migrated database: a SQLite file, then a fresh PostgreSQL database (copies of migrated templates)."""
    return empty_database(request, request.param, tmp_path / "xieshang.db")


class SeededTemplates:
    """Databases with the demo people loaded and bundles deployed, made once per session and kind on the first ask
    (seeding costs ~0.7 s a test, a copy ~1 ms on SQLite): what the `consultation` and `web_engine` fixtures did to
    every test's empty database, done once. Seeded at the `clock` fixture's moment, as those fixtures seed."""

    def __init__(self, request, folder: Path):
        self.request = request
        self.folder = folder
        self.made: dict[tuple[str, tuple[Path, ...]], str] = {}
        # per seeded database, the parses its deploys left; each test's engine gets a copy: the seeded versions' ids
        # mean the same in every copy, a version a test deploys later is that test's own (ids are reused across
        # copies, and an engine finds a parse by version id)
        self.caches: dict[tuple[str, tuple[Path, ...]], VersionCache] = {}

    def _make(self, kind: str, bundles: tuple[Path, ...]) -> str:
        number = len(self.made)
        if kind == "sqlite":
            url = empty_database(self.request, "sqlite", self.folder / f"seeded{number}.db")
        else:
            url = self.request.getfixturevalue("postgres").create_database(
                f"xieshang_seeded{number}", template=self.request.getfixturevalue("postgres_template"))
        services = make_services(url, FrozenClock(FIRST_MOMENT))
        services.engine.cache = self.caches[(kind, bundles)] = VersionCache()
        try:
            seed(services.engine, bundles)
            with services.engine.reading() as session:      # read by id, as a server that has run them has
                for version in session.scalars(select(ProcessVersion)):
                    services.engine.cache.for_version(version)
        finally:
            services.close()   # nobody may be connected to a PostgreSQL template
        return url if kind == "sqlite" else f"xieshang_seeded{number}"

    def copy(self, request, kind: str, bundles: Sequence[Path], target: Path) -> str:
        """A fresh copy of the `kind` database seeded with `bundles`; marks the test as seeded (see `take`)."""
        key = (kind, tuple(bundles))
        if key not in self.made:
            self.made[key] = self._make(kind, key[1])
        request.node.stash[SEEDED] = key
        if kind == "sqlite":
            return copy_sqlite(Path(self.made[key].removeprefix("sqlite:///")), target)
        return request.getfixturevalue("postgres").create_database(f"t{next(_counter)}", template=self.made[key])

    def take(self, request, engine: Engine, bundles: Sequence[Path]) -> None:
        """Give `engine` the seeded state: on a seeded copy, the session's parses; otherwise seed its database now."""
        key = (_kind(engine), tuple(bundles))
        if request.node.stash.get(SEEDED, None) == key:
            engine.cache = self.caches[key].copy()
        else:
            seed(engine, bundles)


SEEDED = pytest.StashKey[tuple]()


def _kind(engine: Engine) -> str:
    """The kind of database `engine` runs on, named as SeededTemplates names kinds."""
    name = engine.sessions.kw["bind"].dialect.name
    return "postgres" if name == "postgresql" else name


def seed(engine: Engine, bundles: Sequence[Path]) -> None:
    """Load the demo people (at the engine's clock) and deploy `bundles`, in order, as the owner."""
    with engine.unit_of_work() as session:
        load_demo(session, engine.clock.now())
    for bundle in bundles:
        engine.deploy([bundle], actor="owner")


@pytest.fixture(scope="session")
def seeded_templates(request, tmp_path_factory) -> SeededTemplates:
    """The session's seeded databases (see SeededTemplates)."""
    return SeededTemplates(request, tmp_path_factory.mktemp("seeded"))


def seeded_wanted(request, fixture: str) -> bool:
    """True when the test uses `fixture` (which seeds) and its clock still shows the moment templates are seeded at."""
    return fixture in request.fixturenames and request.getfixturevalue("clock").now() == FIRST_MOMENT


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


