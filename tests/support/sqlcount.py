"""Count the SQL statements a block of code sends through an engine (SQLAlchemy `before_cursor_execute`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import event

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


@dataclass
class Statements:
    """The statements seen, in order (the SQL text, first word upper-cased for `writes`)."""

    sql: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.sql)

    @property
    def writes(self) -> list[str]:
        return [s for s in self.sql if s.lstrip().split(None, 1)[0].upper() in WRITES]


@contextmanager
def counting(bind) -> Iterator[Statements]:
    """Record every statement `bind` (an Engine) executes inside the block; BEGIN/COMMIT are not statements here."""
    seen = Statements()

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.sql.append(statement)

    event.listen(bind, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(bind, "before_cursor_execute", record)
