"""The claimable tab's page reads each membership's rows in index order and stops at the page's end, on SQLite and on
PostgreSQL: a plan that reads every later row and sorts them costs nothing here but 74 ms at an office's 100,000
claimable tasks (PostgreSQL does not take `assignee IS NULL` as fixing that column's place in the index order)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event, text

from domain.work import inbox
from engine.store.models import HumanTask
from tests.perf.bench_data import capture_plans
from tests.support.board import NOW, build

DATED, UNDATED = 150, 150


@pytest.fixture
def office(services):
    """The county office holding DATED claimable tasks with a due time and UNDATED without, statistics fresh."""
    ids = build(services.engine)
    with services.engine.unit_of_work() as session:
        session.add_all(HumanTask(
            id=f"t-office-{n:03}", instance_id=ids["county"], task_spec="triage", name="初步研判", step=1,
            role="office", org_unit_code="county", tier="county", status="ready",
            due_at=NOW + timedelta(hours=n) if n < DATED else None, created_at=NOW - timedelta(days=3))
            for n in range(DATED + UNDATED))
    bind = services.engine.sessions.kw["bind"]
    with bind.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()
    return services, services.accounts.user("office")


def _page_plan(services, user, **cursor) -> list[str]:
    bind = services.engine.sessions.kw["bind"]

    def no_seqscan(conn, cursor_, statement, parameters, context, executemany):
        if conn.dialect.name == "postgresql":
            cursor_.execute("SET enable_seqscan = off")

    event.listen(bind, "before_cursor_execute", no_seqscan)
    try:
        with services.engine.reading() as session, capture_plans(bind) as plans:
            inbox.inbox(session, user, NOW, tab="claimable", per_page=10, **cursor)
    finally:
        event.remove(bind, "before_cursor_execute", no_seqscan)
    pages = [lines for statement, lines in plans if "page_ids" in statement]
    assert len(pages) == 1, plans
    return pages[0]


def _arm_sorts(lines: list[str]) -> list[str]:
    """The sorts of human_task rows themselves, not of the page's merged few (SQLite: a temporary B-tree for an ORDER
    BY beyond the merge's one; PostgreSQL: a sort keyed on a human_task column rather than on the merged subquery's)."""
    sqlite = [line for line in lines if "USE TEMP B-TREE FOR ORDER BY" in line][1:]
    postgres = [line for line in lines if re.match(r"(Presorted|Sort) Key: human_task", line.strip())]
    return sqlite + postgres


def test_each_claimable_page_sorts_only_the_rows_it_merges(office):
    services, user = office
    with services.engine.reading() as session:
        first = inbox.inbox(session, user, NOW, tab="claimable", per_page=10)
        assert first.counts["claimable"] == DATED + UNDATED and first.next
        later = first
        while later.items[-1].due_at is not None:           # into the tasks without a due time (the 2nd segment)
            later = inbox.inbox(session, user, NOW, tab="claimable", per_page=10, after=later.next)
    for cursor in ({}, {"after": first.next}, {"after": later.next}, {"before": later.prev}):
        lines = _page_plan(services, user, **cursor)
        # each segment's rows come from the index already in order; only the merge of their few rows is sorted
        assert not _arm_sorts(lines), (cursor, "\n".join(lines))
        assert "human_task" in " ".join(lines) and "Seq Scan on human_task" not in " ".join(lines), lines
