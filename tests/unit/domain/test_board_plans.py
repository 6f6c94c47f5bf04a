"""The board's matrix and overdue list are index-driven: no plan reads human_task whole (SQLite's EXPLAIN QUERY
PLAN; PostgreSQL's EXPLAIN with sequential scans priced out, so a plan without a usable index would still show one)."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from domain.work import board
from tests.perf.bench_data import capture_plans
from tests.support.board import NOW, build

WHO = ("office", "supervisor_xunchang")


@pytest.fixture
def plans_of(services):
    build(services.engine)
    bind = services.engine.sessions.kw["bind"]

    def no_seqscan(conn, cursor, statement, parameters, context, executemany):
        if conn.dialect.name == "postgresql":
            cursor.execute("SET enable_seqscan = off")

    def run(call) -> list[tuple[str, list[str]]]:
        event.listen(bind, "before_cursor_execute", no_seqscan)
        try:
            with services.engine.reading() as session, capture_plans(bind) as plans:
                call(session)
        finally:
            event.remove(bind, "before_cursor_execute", no_seqscan)
        return plans
    return services, run


def _whole_scans(plans) -> list[str]:
    bad = []
    for statement, lines in plans:
        for line in lines:
            text = line.strip()
            if text.startswith("SCAN human_task") and "INDEX" not in text or "Seq Scan on human_task" in text:
                bad.append(f"{text}  <- {statement[:160]}")
    return bad


@pytest.mark.parametrize("who", WHO)
def test_the_matrix_reads_human_task_by_index(plans_of, who):
    services, run = plans_of
    user = services.accounts.user(who)
    plans = run(lambda s: board.matrix(s, user, NOW))
    assert plans and not _whole_scans(plans), _whole_scans(plans)
    # the counts are kept (open_task_count); only the tasks due today and on the last at-risk day are read, by an
    # index: on SQLite the due-time index; PostgreSQL's planner picks among the open-task indexes on a table this
    # small (the inbox's ix_human_task_claimable also starts with the status), so there any index read will do
    postgres = services.engine.sessions.kw["bind"].dialect.name == "postgresql"
    assert all("ix_human_task_open_due" in " ".join(lines) or (postgres and "Index" in " ".join(lines))
               for _, lines in plans), plans


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("sort", ["due", "-due"])
def test_the_overdue_list_reads_human_task_by_index(plans_of, who, sort):
    services, run = plans_of
    user = services.accounts.user(who)
    first = run(lambda s: board.tasks(s, user, NOW, board.Filters(sort=sort), per_page=2))
    assert first and not _whole_scans(first), _whole_scans(first)
    with services.engine.reading() as session:
        after = board.tasks(session, user, NOW, board.Filters(sort=sort), per_page=1).next
    later = run(lambda s: board.tasks(s, user, NOW, board.Filters(sort=sort), after=after, per_page=2))
    assert not _whole_scans(later), _whole_scans(later)
