"""A command's writes to several tables (`engine.store.statements.together`): one statement on PostgreSQL, one per
part on SQLite; every row written either way, the counts added to, main's row count answered."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, select, text, update
from sqlalchemy.exc import OperationalError

from engine.store import statements
from engine.store.models import AuditEvent, OutboxMessage
from engine.store.open_counts import OpenTaskCount
from engine.store.task_counts import InboxCount
from tests.support.sqlcount import counting

AT = datetime(2026, 12, 2, 8, tzinfo=UTC)
RESEND = update(OutboxMessage.__table__).where(OutboxMessage.__table__.c.operator == bindparam("v_operator")).values(
    channel=bindparam("v_channel"))


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
        statements.together(session.connection(), [_events(2, "other"), _counts(("ann", 2), ("bo", 1)), statements.Rows(
            OutboxMessage.__table__, [{"idempotency_key": f"k{i}", "operator": "resend", "created_at": AT}
                                      for i in range(2)])])
    with service.unit_of_work() as session, counting(service.sessions.kw["bind"]) as seen:
        result = statements.together(session.connection(), [_events(3), _counts(("ann", 5), ("cy", 1))], RESEND,
                                     {"v_operator": "resend", "v_channel": "sms"})
        assert result.rowcount == 2          # main's own count: the two messages it changed
    assert seen.count == (1 if postgres else 3)
    events, counts = _stored(service)
    assert counts == {"ann": 7, "bo": 1, "cy": 1}            # added to, not replaced
    assert events == sorted([("other", f"a{i}", i, "协商") for i in range(2)]
                            + [("probe", f"a{i}", i, "协商") for i in range(3)])
    with service.reading() as session:
        assert list(session.scalars(select(OutboxMessage.channel))) == ["sms", "sms"]


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


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_on_postgresql_the_parts_lock_their_rows_in_the_order_given(service):
    """Concurrent commands lock the kept counts' rows in one order (the open-task counts, then the inbox counts, as
    the flush's listeners do), so none waits on another in a cycle. PostgreSQL would run a statement's CTEs after its
    main part, the last first: here a writer blocked on an inbox count already holds its open-task count."""
    bind = service.sessions.kw["bind"]
    open_row = statements.Rows(OpenTaskCount.__table__, [{"org_unit_code": "u", "instance_unit_code": "u", "span": "d",
                                                          "due": "2026-12-02", "tasks": 1}],
                               ("org_unit_code", "instance_unit_code", "span", "due"), adding="tasks")
    inbox_row = _counts(("lock", 1))
    with service.unit_of_work() as session:           # both rows exist
        statements.together(session.connection(), [open_row])
        statements.together(session.connection(), [inbox_row])
    holder = bind.connect()
    holder.execute(select(InboxCount).where(InboxCount.subject == "lock").with_for_update())
    writer_pid: list[int] = []

    def write():
        with service.unit_of_work() as session:
            writer_pid.append(session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar())
            statements.together(session.connection(), [open_row, inbox_row])      # waits for the holder

    thread = threading.Thread(target=write)
    thread.start()
    try:
        with bind.connect() as watcher:
            deadline = time.monotonic() + 30
            while not (writer_pid and watcher.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = :pid AND wait_event_type = 'Lock'"),
                    {"pid": writer_pid[0]}).scalar()):
                watcher.rollback()                     # a fresh view of the activity each time
                assert time.monotonic() < deadline, "the writer never waited for the held inbox count"
            watcher.rollback()
            with pytest.raises(OperationalError, match="could not obtain lock"):
                watcher.execute(select(OpenTaskCount).where(OpenTaskCount.org_unit_code == "u")
                                .with_for_update(nowait=True))
    finally:
        holder.rollback()
        holder.close()
        thread.join(30)
    _events_, counts = _stored(service)
    with service.reading() as session:
        assert session.scalar(select(OpenTaskCount.tasks).where(OpenTaskCount.org_unit_code == "u")) == 2
    assert counts == {"lock": 2}


def test_a_part_that_leaves_columns_out_gets_their_defaults_on_every_row(service):
    outbox = statements.Rows(OutboxMessage.__table__, [{"idempotency_key": f"k{i}", "operator": "notify",
                                                        "created_at": AT} for i in range(3)])
    with service.unit_of_work() as session:
        statements.together(session.connection(), [_events(1), outbox, _counts(("ann", 1))])
    with service.reading() as session:
        stored = [(m.channel, m.status, m.attempts, m.params) for m in session.scalars(select(OutboxMessage))]
    assert stored == [("inapp", "pending", 0, {})] * 3         # each row its own empty params
