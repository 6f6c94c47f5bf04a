"""Statements the hot path runs on every command, built once per dialect: a statement built per call costs more in
SQLAlchemy (constructing it and generating its cache key) than the database spends running it."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker


@cache
def adding_upsert(table: Table, dialect: str, keys: tuple[str, ...], counted: str = "tasks"):
    """INSERT … ON CONFLICT (keys) DO UPDATE SET counted = counted + excluded.counted, for `dialect`."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table)
    return statement.on_conflict_do_update(index_elements=list(keys),
                                           set_={counted: table.c[counted] + statement.excluded[counted]})


@cache
def plain_insert(table: Table):
    """INSERT INTO table (every column given), for one row or many."""
    return table.insert()


_LATER = "xieshang.rows_later"      # session.info key: rows to insert when the session next writes


def insert_later(session: Session, table: Table, row: dict) -> None:
    """Insert `row` into `table` when the session next writes, as an added ORM object would be: at the next flush,
    query (unless autoflush is off, as while the engine locks an instance) or commit, or when a command's save calls
    `insert_pending` after locking the instance; all of a table's rows in one statement, in the order given."""
    session.info.setdefault(_LATER, []).append((table, row))


def install(factory: sessionmaker) -> None:
    """Write the kept rows in every session `factory` makes before it flushes, queries or commits."""
    event.listen(factory, "before_flush", lambda session, _context, _objects: insert_pending(session))
    event.listen(factory, "before_commit", insert_pending)
    event.listen(factory, "do_orm_execute", _before_query)


def _before_query(execute_state) -> None:
    session = execute_state.session
    if session.autoflush and session.info.get(_LATER):
        insert_pending(session)


def insert_pending(session: Session) -> None:
    """Insert the rows `insert_later` kept, in the order they were given within each table."""
    pending = session.info.pop(_LATER, None)
    if not pending:
        return
    by_shape: dict[tuple[Table, tuple[str, ...]], list[dict]] = {}     # one statement per table and set of columns
    for table, row in pending:
        by_shape.setdefault((table, tuple(row)), []).append(row)
    connection = session.connection()
    for (table, _columns), rows in by_shape.items():
        connection.execute(plain_insert(table), rows)
