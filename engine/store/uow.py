"""Units of work: a block inside another joins its session, a scope (one web request) shares one read transaction,
and database-level conflicts leave as ConcurrentUpdate."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from engine.errors import ConcurrentUpdate

STALE_MESSAGE = "该事项已被他人更新，请刷新后重试 (the instance was changed by someone else; reload and try again)"

# unique/primary key, serialization failure, deadlock, lock not available (lock_timeout, NOWAIT)
_PG_CONFLICTS = {"23505", "40001", "40P01", "55P03"}
_SQLITE_CONFLICTS = {"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_BUSY", "SQLITE_BUSY_SNAPSHOT",
                     "SQLITE_BUSY_RECOVERY", "SQLITE_LOCKED", "SQLITE_LOCKED_SHAREDCACHE"}


def is_conflict(error: BaseException) -> bool:
    """Whether a database error means another transaction got there first (so retrying later may succeed)."""
    if isinstance(error, StaleDataError):
        return True
    if not isinstance(error, DBAPIError):
        return False
    original = error.orig
    return getattr(original, "sqlstate", None) in _PG_CONFLICTS or \
        getattr(original, "sqlite_errorname", None) in _SQLITE_CONFLICTS


def _end_read(session: Session) -> None:
    """End a read transaction: what it loaded stays readable (detached, not expired) and nothing it touched is kept."""
    session.expunge_all()
    session.rollback()


@dataclass
class _Open:
    """What this thread (or task) holds: the scope's read session and the session of the block running now."""

    reader: Session | None = None
    active: Session | None = None


class Transactions:
    """Hands out sessions so that a request never holds two connections and never commits half a command."""

    def __init__(self, factory: sessionmaker):
        self.factory = factory
        self._open: ContextVar[_Open | None] = ContextVar(f"xieshang-uow-{id(self)}", default=None)

    @contextmanager
    def scope(self) -> Iterator[None]:
        """One request: its reads share one transaction, ended before any write and when the scope ends."""
        if self._open.get() is not None:
            yield
            return
        state = _Open()
        token = self._open.set(state)
        try:
            yield
        finally:
            self._open.reset(token)
            if state.reader is not None:
                state.reader.close()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session that commits when the block succeeds and rolls back otherwise (a nested block joins it)."""
        state = self._open.get()
        if state is not None and state.active is not None:
            yield state.active
            return
        with self._owned(state) as state:
            if state.reader is not None and state.reader.in_transaction():
                _end_read(state.reader)       # one connection at a time
            session = state.active = self.factory()
            try:
                yield session
                session.commit()
            except BaseException as exc:
                session.rollback()
                if is_conflict(exc):
                    raise ConcurrentUpdate(STALE_MESSAGE) from exc
                raise
            finally:
                state.active = None
                session.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries: inside a scope it is the scope's, and its transaction stays open for the next read."""
        state = self._open.get()
        if state is None:
            with self.write() as session:
                yield session
            return
        if state.active is not None:
            yield state.active
            return
        session = state.reader = state.reader or self.factory()
        state.active = session
        try:
            yield session
        except SQLAlchemyError:
            session.rollback()     # a failed statement spoils the transaction on PostgreSQL
            raise
        finally:
            state.active = None

    @contextmanager
    def _owned(self, state: _Open | None) -> Iterator[_Open]:
        """The thread's state, made for the length of the block when there is no scope."""
        if state is not None:
            yield state
            return
        state = _Open()
        token = self._open.set(state)
        try:
            yield state
        finally:
            self._open.reset(token)
