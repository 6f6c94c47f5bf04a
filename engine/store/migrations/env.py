"""Alembic environment: runs migrations on the URL set by engine.store.db.alembic_config."""

from alembic import context
from sqlalchemy import engine_from_config, pool

from engine.store import models, submissions  # noqa: F401 - registers the tables on Base.metadata
from engine.store.db import Base

config = context.config


def run_migrations_online() -> None:
    """Run migrations against a live connection (SQLite batch mode for ALTERs)."""
    connectable = config.attributes.get("connection")
    if connectable is None:
        connectable = engine_from_config(config.get_section(config.config_ini_section, {}),
                                         prefix="sqlalchemy.", poolclass=pool.NullPool)
        with connectable.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
