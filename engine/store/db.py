"""Database engine and sessions: SQLite (WAL) by default, PostgreSQL by URL; schema via Alembic."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import DateTime, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, sessionmaker
from sqlalchemy.types import TypeDecorator

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
CONNECT_TIMEOUT = 5          # seconds to reach the PostgreSQL server
# psycopg prepares a statement on the server from its fifth run on a connection, and PostgreSQL then plans a prepared
# statement once for every parameter value ("generic") after five runs when that plan's estimate looks no worse. The
# inbox's statements take the person, their memberships and a cursor as parameters, and what suits one office's
# 100,000 claimable tasks does not suit a person with three: on a million rows the tab counts went from ~2 ms to
# 22-25 ms from the eleventh run on one connection, which a long-lived web process reaches within minutes. Every
# statement is planned for its own values (a URL's own `options` win).
CUSTOM_PLANS = "-c plan_cache_mode=force_custom_plan"


class Base(DeclarativeBase):
    """Declarative base of every table."""


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC, refuses naive input (one rule on SQLite and PostgreSQL)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        return None if value is None else value.replace(tzinfo=UTC)


PSYCOPG = "postgresql+psycopg"
_POSTGRES_ALIASES = {"postgresql", "postgres"}   # SQLAlchemy would pick psycopg2 (not installed) or refuse `postgres`


def normalize_url(url: str) -> str:
    """The URL with a bare `postgresql://` or `postgres://` scheme pointed at psycopg 3 (the driver we install)."""
    parsed = make_url(url)
    if parsed.drivername not in _POSTGRES_ALIASES:
        return url
    return parsed.set(drivername=PSYCOPG).render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite files get WAL, a busy timeout and foreign keys."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    # An unreachable server fails a connection in seconds, not after the system's TCP timeout (minutes), so a page
    # says "unavailable" (503) and /readyz answers quickly; a connect_timeout in the URL wins.
    connect_args = {} if "connect_timeout" in parsed.query else {"connect_timeout": CONNECT_TIMEOUT}
    if "options" not in parsed.query:
        connect_args["options"] = CUSTOM_PLANS
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def make_session_factory(engine: Engine) -> sessionmaker:
    """Sessions that keep loaded attributes after commit (services return plain values)."""
    from engine.store import open_counts, statements, task_counts  # their tables import this module: on first use

    factory = sessionmaker(engine, expire_on_commit=False)
    statements.install(factory)
    open_counts.install(factory)
    task_counts.install(factory)
    return factory


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at our migrations, without an ini file."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Create or upgrade the schema to the newest migration (or to `revision`)."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()


class SchemaNotReady(RuntimeError):
    """The database is missing, un-migrated or behind the code: only `xieshang init` migrates."""


def check_schema(url: str) -> None:
    """Raise SchemaNotReady unless the database is at the newest migration (read only; never migrates)."""
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    parsed = make_url(normalize_url(url))
    where = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
            and not Path(parsed.database).is_file():
        raise SchemaNotReady(f"the database {where} does not exist: run `xieshang init` to create it")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()
    if current == heads:
        return
    if not current:
        problem = "has no xieshang tables yet"
    elif current - heads and not _known(url, current - heads):
        problem = f"is at revision {', '.join(sorted(current))}, which this version of xieshang does not know"
    else:
        problem = f"is at revision {', '.join(sorted(current))}, the code needs {', '.join(sorted(heads))}"
    raise SchemaNotReady(f"the database {where} {problem}: run `xieshang init` to create or upgrade it")


def _known(url: str, revisions: set[str]) -> bool:
    script = ScriptDirectory.from_config(alembic_config(url))
    try:
        return all(script.get_revision(revision) is not None for revision in revisions)
    except Exception:  # noqa: BLE001 - alembic raises assorted errors for unknown revisions
        return False
