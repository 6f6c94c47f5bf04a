"""Units of work: nested blocks join one session, a scope's reads share one transaction, and database conflicts
(unique keys, lock timeouts) come out as ConcurrentUpdate while other integrity errors stay what they are."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import IntegrityError

from engine.errors import ConcurrentUpdate
from engine.store.models import Membership, OrgUnit


def _count_transactions(service) -> list:
    begun = []
    event.listen(service.sessions, "after_begin", lambda session, *_: begun.append(session))
    return begun


def test_a_nested_block_joins_the_outer_session_and_commits_with_it(services, service):
    begun = _count_transactions(service)
    with pytest.raises(RuntimeError), service.unit_of_work() as outer:
        with service.unit_of_work() as inner, service.reading() as read:
            assert inner is outer and read is outer
            inner.add(OrgUnit(code="nested", name="内层", kind="township"))
            inner.flush()
        raise RuntimeError("the outer block fails after the inner one ended")
    assert len(begun) == 1
    assert services.accounts.org_units("township") == []     # the inner block's row went with the outer rollback


def test_reads_in_a_scope_share_one_transaction_and_a_write_ends_it_first(services, service):
    begun = _count_transactions(service)
    with service.scope():
        with service.reading() as first:
            first.add(OrgUnit(code="a", name="甲", kind="township"))     # not committed by a read
            first.flush()
        with service.reading() as second:
            assert second is first and second.scalar(select(func.count()).select_from(OrgUnit)) == 1
        assert len(begun) == 1
        with service.unit_of_work() as writer:
            assert writer is not first and not first.in_transaction()
            writer.add(OrgUnit(code="b", name="乙", kind="township"))
        assert [u.code for u in services.accounts.org_units("township")] == ["b"]
    assert len(begun) == 3


def test_a_duplicate_unique_key_is_a_concurrent_update(service):
    with service.unit_of_work() as session:
        session.add(OrgUnit(code="dup", name="一", kind="township"))
    with pytest.raises(ConcurrentUpdate, match="被他人更新"), service.unit_of_work() as session:
        session.add(OrgUnit(code="dup", name="二", kind="township"))


def test_other_integrity_errors_are_not_conflicts(service):
    with pytest.raises(IntegrityError), service.unit_of_work() as session:
        session.add(Membership(user_id=424242, role="member", org_unit_id=424242))    # no such user or unit


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_lock_timeout_is_a_concurrent_update(service):
    with service.unit_of_work() as session:
        session.add(OrgUnit(code="locked", name="锁", kind="township"))
    locked, release = threading.Event(), threading.Event()

    def hold_the_row():
        with service.unit_of_work() as session:
            session.execute(text("SELECT id FROM org_unit WHERE code = 'locked' FOR UPDATE"))
            locked.set()
            release.wait()

    with ThreadPoolExecutor(1) as other:
        holding = other.submit(hold_the_row)
        locked.wait()
        try:
            with pytest.raises(ConcurrentUpdate), service.unit_of_work() as session:
                session.execute(text("SET LOCAL lock_timeout = '20ms'"))
                session.execute(text("UPDATE org_unit SET name = '改' WHERE code = 'locked'"))
        finally:
            release.set()
        holding.result()
