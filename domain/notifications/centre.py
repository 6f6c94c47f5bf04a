"""The notification centre and the outbox as read by people and admins: views of rows, and the service that lists,
marks read, retries and delivers."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, exists, func, not_, or_, select, update

from domain.notifications import dispatch
from domain.notifications.models import Notification
from engine.settings import NotificationSettings, Settings
from engine.store.models import HumanTask, OutboxMessage
from engine.views import plain_data

MAX_PAGE = 100

# A notice about a task that is no longer open (completed by anyone, or cancelled) is done (已办结): it asks nothing
# of anyone any more. Worked out when read, so it holds however the task ended and for every copy of the notice.
DONE = exists().where(HumanTask.id == Notification.task_id, HumanTask.status != "ready")
# the header's bell on every signed-in page: built once, the person a parameter
UNREAD = select(func.count()).select_from(Notification).where(
    Notification.username == bindparam("username"), Notification.read_at.is_(None), not_(DONE))


@dataclass(frozen=True)
class NotificationView:
    """One entry of a person's notification centre."""

    id: int
    kind: str
    level: int
    title: str
    body: str
    task_id: str | None
    instance_id: int | None
    created_at: datetime
    read: bool
    done: bool = False          # its task is finished or cancelled: nothing left to do

    @property
    def unread(self) -> bool:
        """Counts as unread: not read and not done."""
        return not self.read and not self.done

    def as_dict(self) -> dict:
        """JSON-ready dict."""
        return plain_data(asdict(self))


@dataclass(frozen=True)
class NotificationPage:
    """One page of a person's notifications, newest first, and the cursor of the next (older) page."""

    items: list[NotificationView]
    next_before: int | None     # pass as `before` for the next page; None: this is the last page


@dataclass(frozen=True)
class OutboxView:
    """One outbox row: a service task's request (channel `dispatch`) or one delivery of it."""

    id: int
    idempotency_key: str
    instance_id: int | None
    task_id: str | None
    operator: str
    channel: str
    recipient: str | None
    kind: str | None
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None

    def as_dict(self) -> dict:
        """JSON-ready dict."""
        return plain_data(asdict(self))


def outbox_view(row: OutboxMessage) -> OutboxView:
    """An outbox row as a view; requests not yet dispatched show channel `dispatch`."""
    return OutboxView(row.id, row.idempotency_key, row.instance_id, row.task_id, row.operator,
                      "dispatch" if row.recipient is None else row.channel, row.recipient,
                      (row.params or {}).get("kind"), row.status, row.attempts or 0, row.last_error, row.created_at,
                      row.next_attempt_at, row.sent_at)


def notification_view(row: Notification, done: bool = False) -> NotificationView:
    """A notification as a view; `done` when its task is no longer open."""
    return NotificationView(row.id, row.kind, row.level, row.title, row.body, row.task_id, row.instance_id,
                            row.created_at, row.read_at is not None, bool(done))


class NotificationCentre:
    """The notification centre and the outbox as services; each call is one transaction."""

    def __init__(self, engine, settings: Settings | NotificationSettings | None = None):
        self.engine = engine
        self.settings = settings

    def unread_count(self, username: str) -> int:
        """How many of the person's notifications are unread (a notice whose task is done no longer counts)."""
        with self.engine.reading() as session:
            return session.scalar(UNREAD, {"username": username}) or 0

    def notifications(self, username: str, unread_only: bool = False, limit: int = 50,
                      offset: int = 0) -> list[NotificationView]:
        """The person's notifications, newest first (unread only: neither read nor done)."""
        query = self._query(username, unread_only)
        with self.engine.reading() as session:
            return [notification_view(n, done) for n, done in session.execute(
                query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit).offset(offset))]

    def page(self, username: str, unread_only: bool = False, before: int | None = None,
             size: int = 20) -> NotificationPage:
        """One page of the person's notifications older than notification `before` (keyset paging: a page stays
        right while new notices arrive); `size` is kept within 1–MAX_PAGE."""
        size = max(1, min(int(size), MAX_PAGE))
        query = self._query(username, unread_only)
        with self.engine.reading() as session:
            if before is not None:
                mark = session.execute(select(Notification.created_at, Notification.id).where(
                    Notification.id == before, Notification.username == username)).first()
                if mark is not None:
                    query = query.where(or_(Notification.created_at < mark.created_at,
                                            and_(Notification.created_at == mark.created_at,
                                                 Notification.id < mark.id)))
            rows = session.execute(query.order_by(Notification.created_at.desc(), Notification.id.desc())
                                   .limit(size + 1)).all()
        items = [notification_view(n, done) for n, done in rows[:size]]
        return NotificationPage(items, items[-1].id if len(rows) > size else None)

    @staticmethod
    def _query(username: str, unread_only: bool):
        query = select(Notification, DONE.label("done")).where(Notification.username == username)
        if unread_only:
            query = query.where(Notification.read_at.is_(None), not_(DONE))
        return query

    def mark_read(self, username: str, ids: list[int] | None = None) -> int:
        """Mark some (or, without ids, all) of the person's unread notifications read; returns how many."""
        query = update(Notification).where(Notification.username == username, Notification.read_at.is_(None))
        if ids is not None:
            query = query.where(Notification.id.in_(ids))
        with self.engine.unit_of_work() as session:
            return session.execute(query.values(read_at=self.engine.clock.now())).rowcount

    def outbox(self, status: str | None = None, limit: int = 200) -> list[OutboxView]:
        """Outbox rows, newest first, optionally of one status."""
        query = select(OutboxMessage)
        if status:
            query = query.where(OutboxMessage.status == status)
        with self.engine.reading() as session:
            return [outbox_view(r) for r in session.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit))]

    def outbox_counts(self) -> dict[str, int]:
        """Rows per status."""
        with self.engine.reading() as session:
            rows = session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
            return dict(rows.all())

    def retry(self, message_id: int) -> OutboxView:
        """Re-queue a parked or failing delivery."""
        with self.engine.unit_of_work() as session:
            return outbox_view(dispatch.retry(session, message_id, self.engine.clock.now()))

    def deliver_due(self, limit: int = 100) -> int:
        """Dispatch and deliver what is due now."""
        return dispatch.deliver_due(self.engine, self.engine.clock.now(), limit, self.settings)
