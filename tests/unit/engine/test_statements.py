"""A command's writes to several tables (`engine.store.statements.together`): one statement on PostgreSQL, one per
part on SQLite; every row written either way, the counts added to, main's row count answered."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import bindparam, select, update

from engine.store import statements
from engine.store.models import AuditEvent
from engine.store.task_counts import InboxCount
from tests.support.sqlcount import counting

AT = datetime(2026, 12, 2, 8, tzinfo=UTC)
RENAME = update(AuditEvent.__table__).where(AuditEvent.__table__.c.kind == bindparam("v_kind")).values(
    actor=bindparam("v_actor"))


def _events(n: int, kind: str = "probe") -> statements.Rows:
    return statements.Rows(AuditEvent.__table__, [{"instance_id": None, "task_id": None, "kind": kind,
                                                   "actor": f"a{i}", "at": AT, "detail": {"n": i, "名": "协商"}}
                                                  for i in range(n)])


def _counts(*pairs: tuple[str, int]) -> statements.Rows:
    return statements.Rows(InboxCount.__table__, [{"kind": "H", "subject": s, "org_unit_code": "-", "tasks": n}
                                                   for s, n in pairs],
                           ("kind", "subject", "org_unit_code"), adding="tasks")


def _stored(service):
    with service.reading() as session:
        events = sorted((e.kind, e.actor, e.detail["n"], e.detail["名"]) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.kind.in_(["probe", "other"]))))
        mine = select(InboxCount).where(InboxCount.kind == "H", InboxCount.org_unit_code == "-")
        counts = {c.subject: c.tasks for c in session.scalars(mine)}
    return events, counts


def test_parts_and_main_are_one_statement_on_postgresql_and_every_row_is_written(service):
    postgres = service.sessions.kw["bind"].dialect.name == "postgresql"
    with service.unit_of_work() as session:
        statements.together(session.connection(), [_events(2, "other"), _counts(("ann", 2), ("bo", 1))])
    with service.unit_of_work() as session, counting(service.sessions.kw["bind"]) as seen:
        result = statements.together(session.connection(), [_events(3), _counts(("ann", 5), ("cy", 1))], RENAME,
                                     {"v_kind": "other", "v_actor": "renamed"})
        assert result.rowcount == 2          # main's own count: the two earlier events it renamed
    assert seen.count == (1 if postgres else 3)
    events, counts = _stored(service)
    assert counts == {"ann": 7, "bo": 1, "cy": 1}            # added to, not replaced
    assert events == sorted([("other", "renamed", 0, "协商"), ("other", "renamed", 1, "协商")]
                            + [("probe", f"a{i}", i, "协商") for i in range(3)])


def test_the_statement_is_the_same_for_any_number_of_rows(service):
    postgres = service.sessions.kw["bind"].dialect.name == "postgresql"
    sql = []
    for many in (3, 500):       # a multi-instance step's hundreds of tasks: arrays, not a VALUES list per row
        with service.unit_of_work() as session, counting(service.sessions.kw["bind"]) as seen:
            statements.together(session.connection(), [_events(many), _counts(("ann", 1))])
        assert seen.count == (1 if postgres else 2)
        sql.append(seen.sql)
    assert sql[0] == sql[1]             # compiled once, whatever the row count
    events, counts = _stored(service)
    assert len(events) == 503 and counts == {"ann": 2}
    with service.reading() as session:       # inserted in the order given (ids follow the rows' order)
        order = [e.detail["n"] for e in session.scalars(select(AuditEvent).where(AuditEvent.kind == "probe")
                                                        .order_by(AuditEvent.id))]
    assert order == [*range(3), *range(500)]


def test_rows_kept_for_later_are_one_statement_on_postgresql(service):
    postgres = service.sessions.kw["bind"].dialect.name == "postgresql"
    with counting(service.sessions.kw["bind"]) as seen, service.unit_of_work() as session:     # written at commit
        for row in _events(2).rows + _events(1, "other").rows:
            statements.insert_later(session, AuditEvent.__table__, row)
        statements.insert_later(session, InboxCount.__table__, _counts(("dee", 3)).rows[0])
    assert seen.count == (1 if postgres else 2)       # two tables
    events, counts = _stored(service)
    assert len(events) == 3 and counts == {"dee": 3}
