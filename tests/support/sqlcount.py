"""Count the SQL statements a block of code sends through an engine (SQLAlchemy `before_cursor_execute`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import event

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
WRITING = re.compile(r"\b(INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b", re.IGNORECASE)


@dataclass
class Statements:
    """The statements seen, in order (the SQL text, first word upper-cased for `writes`)."""

    sql: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.sql)

    @property
    def writes(self) -> list[str]:
        """The statements that write: by their first word, or a WITH whose parts write (`statements.together`)."""
        return [s for s in self.sql if s.lstrip().split(None, 1)[0].upper() in WRITES
                or s.lstrip().upper().startswith("WITH") and WRITING.search(s)]


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
