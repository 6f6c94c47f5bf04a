"""Statements the hot path runs on every command, built once per dialect: a statement built per call costs more in
SQLAlchemy (constructing it and generating its cache key) than the database spends running it.

A command's writes to several tables go to PostgreSQL as one statement (`together`): the extra tables' rows ride
along as data-modifying CTEs (`WITH w1 AS (INSERT …) … UPDATE …`), so a submit pays one round trip for them, not one
per table. PostgreSQL runs every part to completion in one snapshot; the parts in the order given and each part's
rows in the order given (the counts' upserts in key order, so concurrent commands lock the counts they share in the
same order). SQLite has no data-modifying CTEs and no round trips (it runs in the process): there each part is its
own statement, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache

from sqlalchemy import Connection, CursorResult, Table, bindparam, event, func, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker


@cache
def plain_insert(table: Table):
    """INSERT INTO table (every column given), for one row or many."""
    return table.insert()


@dataclass
class Rows:
    """One table's rows for `together`: a plain INSERT, or on a conflict on `keys` either `adding` a column's value to
    the stored one or `replacing` the named columns with the given values."""

    table: Table
    rows: list[dict]
    keys: tuple[str, ...] = ()
    adding: str | None = None
    replacing: tuple[str, ...] = ()

    @property
    def shape(self) -> tuple:
        return (self.table, self.keys, self.adding, self.replacing)


def _insert(dialect: str):
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def _conflicting(statement, part: Rows):
    if part.adding:
        counted = part.adding
        return statement.on_conflict_do_update(index_elements=list(part.keys),
                                               set_={counted: part.table.c[counted] + statement.excluded[counted]})
    if part.replacing:
        return statement.on_conflict_do_update(index_elements=list(part.keys),
                                               set_={name: statement.excluded[name] for name in part.replacing})
    return statement


@cache
def _alone(shape: tuple, dialect: str):
    """The statement for one part's rows (executed once per row, or as one multi-row statement by the driver)."""
    table, keys, adding, replacing = shape
    if not keys:
        return plain_insert(table)
    return _conflicting(_insert(dialect)(table), Rows(table, [], keys, adding, replacing))


@lru_cache(maxsize=256)
def _composed(parts: tuple, main):
    """PostgreSQL: each part an INSERT … SELECT from its columns' arrays (`unnest(…) WITH ORDINALITY`, in the order
    given) in a data-modifying CTE of `main` (a prebuilt statement), or of the last part when there is no main.
    `parts` is ((shape, columns), …); part i's column c is bound as the array p{i}_{c}. The SQL does not depend on
    how many rows there are, so SQLAlchemy compiles it once per shape.

    PostgreSQL would run the CTEs after the main part, the last first; here each part (and main) waits for the one
    before it (it reads how many rows that one wrote), so the rows are written, and their rows locked, in the order
    given, as on SQLite: concurrent commands take the kept counts' locks in one order and never wait in a cycle."""
    ctes, before = [], None
    for i, (shape, columns) in enumerate(parts):
        table = shape[0]
        rows = func.unnest(*(bindparam(f"p{i}_{name}", type_=postgresql.ARRAY(table.c[name].type))
                             for name in columns)).table_valued(*columns, with_ordinality="n").render_derived(f"r{i}")
        source = select(*(rows.c[name] for name in columns)).order_by(rows.c.n)
        if before is not None:
            source = source.where(_after(before))
        statement = _conflicting(postgresql.insert(table).from_select(list(columns), source, include_defaults=False),
                                 Rows(shape[0], [], *shape[1:]))
        if main is None and i == len(parts) - 1:
            return statement.add_cte(*ctes)
        before = statement.returning(literal_column("1")).cte(f"w{i + 1}")
        ctes.append(before)
    return main.where(_after(before)).add_cte(*ctes)


def _after(cte):
    """A condition that holds once `cte` has written all its rows (always true: it only makes the order)."""
    return select(func.count()).select_from(cte).scalar_subquery() >= 0


def together(connection: Connection, parts: list[Rows], main=None, params: dict | None = None) -> CursorResult | None:
    """Write every part (in order) and then run `main` (a prebuilt DML statement with `params`), answering main's
    result: on PostgreSQL in one statement, elsewhere (or when two of them write one table) one statement per part
    and main's own."""
    parts = [part for part in parts if part.rows]
    tables = [part.table for part in parts] + ([main.table] if main is not None else [])
    if connection.dialect.name != "postgresql" or len(tables) < 2 or len(set(tables)) < len(tables):
        for part in parts:
            connection.execute(_alone(part.shape, connection.dialect.name), part.rows)
        return None if main is None else connection.execute(main, params or {})
    shapes, values = [], dict(params or {})
    for i, part in enumerate(parts):
        given = tuple(part.rows[0])
        defaults = _defaults(part.table, given)
        shapes.append((part.shape, given + tuple(defaults)))
        values.update({f"p{i}_{name}": [row[name] for row in part.rows] for name in given})
        values.update({f"p{i}_{name}": [make() for _ in part.rows] for name, make in defaults.items()})
    return connection.execute(_composed(tuple(shapes), main), values)


def _defaults(table: Table, given: tuple[str, ...]) -> dict:
    """The columns a row leaves out that have a default in Python, each with a function making its value per row (an
    INSERT … SELECT would otherwise take one value for every row, bound under the column's bare name)."""
    made = {}
    for column in table.columns:
        default = column.default
        if column.key in given or default is None or not (default.is_scalar or default.is_callable):
            continue
        made[column.key] = (lambda value=default.arg: value) if default.is_scalar else (
            lambda make=default.arg: make(None))
    return made


_LATER = "xieshang.rows_later"      # session.info key: rows to insert when the session next writes


def insert_later(session: Session, table: Table, row: dict) -> None:
    """Insert `row` into `table` when the session next writes, as an added ORM object would be: at the next flush,
    query (unless autoflush is off, as while the engine locks an instance) or commit, or with the instance's versioned
    UPDATE when a command saves (`take_pending`); all of a table's rows in one statement, in the order given."""
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


def take_pending(session: Session) -> list[Rows]:
    """The rows `insert_later` kept, taken from the session: one part per table and set of columns, rows in the order
    given, parts in the order their tables were first given."""
    pending = session.info.pop(_LATER, None)
    by_shape: dict[tuple[Table, tuple[str, ...]], Rows] = {}
    for table, row in pending or ():
        by_shape.setdefault((table, tuple(row)), Rows(table, [])).rows.append(row)
    return list(by_shape.values())


def insert_pending(session: Session) -> None:
    """Insert the rows `insert_later` kept (on PostgreSQL in one statement)."""
    if session.info.get(_LATER):
        together(session.connection(), take_pending(session))
