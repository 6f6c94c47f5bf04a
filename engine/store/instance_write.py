"""The instance row's versioned UPDATE as one prepared Core statement instead of an ORM flush: every command's save
writes it, and the unit of work's flush costs several times the statement. Same rules as the ORM's version counter:
`... WHERE id = ? AND revision = ?` bumps the revision, and no row updated means another writer was first."""

from __future__ import annotations

from functools import cache

from sqlalchemy import bindparam, inspect, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from engine.errors import ConcurrentUpdate
from engine.store import open_counts, statements
from engine.store.models import ProcessInstance
from engine.store.uow import STALE_MESSAGE

_TABLE = ProcessInstance.__table__


@cache
def _statement(columns: tuple[str, ...]):
    values = {name: bindparam(f"v_{name}", type_=_TABLE.c[name].type) for name in columns}
    return (update(_TABLE).where(_TABLE.c.id == bindparam("v_id"), _TABLE.c.revision == bindparam("v_old"))
            .values(revision=bindparam("v_new"), **values))


def write(session: Session, row: ProcessInstance, values: dict) -> None:
    """Write `values` and the attributes of `row` changed since it was read, bump its revision, and leave the row
    showing them as stored (no flush writes them again); raise ConcurrentUpdate when its revision moved meanwhile.
    The rows the command kept for later (`statements.insert_later`: its audit events, the case file's submission)
    are written first, with the UPDATE in one statement on PostgreSQL (`statements.together`). A
    changed org unit moves its open tasks' kept counts, as the flush's listener would (`open_counts.instance_moved`).
    Values given here rather than set on the row first keep the session clean, so its next query needs no flush."""
    state = inspect(row)
    if state.key is None:       # not written yet: the INSERT gives it its id and first revision
        session.flush([row])
    values = {**{key: getattr(row, key) for key in state.committed_state if key in _TABLE.c
                 and key not in {"id", "revision"}}, **values}
    changed = sorted(values)
    old_unit = state.committed_state.get("org_unit_code", row.org_unit_code)
    if "org_unit_code" in changed and not isinstance(old_unit, str | None):    # set without being read
        old_unit = session.connection().scalar(select(_TABLE.c.org_unit_code).where(_TABLE.c.id == row.id))
    revision = row.revision
    params = {f"v_{name}": value for name, value in values.items()}
    params.update(v_id=row.id, v_old=revision, v_new=revision + 1)
    written = statements.together(session.connection(), statements.take_pending(session), _statement(tuple(changed)),
                                  params)
    if written.rowcount != 1:
        raise ConcurrentUpdate(STALE_MESSAGE)
    for name, value in values.items():
        set_committed_value(row, name, value)
    set_committed_value(row, "revision", revision + 1)
    if "org_unit_code" in changed and (old_unit or open_counts.NONE) != (row.org_unit_code or open_counts.NONE):
        open_counts.instance_moved(session, row.id, old_unit or open_counts.NONE, row.org_unit_code or open_counts.NONE)
