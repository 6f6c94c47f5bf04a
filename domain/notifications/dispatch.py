"""Notifications from the transactional outbox: fan each service-task message out to people and channels, then
deliver each with retries, exponential backoff and parking; the idempotency key makes a redelivery a no-op."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from domain.notifications.channels import (
    CHANNELS,
    MAX_ERROR,
    Channel,
    DeliveryFailed,
    DeliveryRefused,
    Recipient,
    build_channels,
    channel_of,
)
from domain.people import policy
from domain.work.board import holder_words
from engine.clock import LOCAL_TZ
from engine.errors import InvalidState, NotFound
from engine.failures import Swept, cause_of
from engine.hooks import HookRegistry
from engine.settings import NotificationSettings, Settings
from engine.store import directory, statements
from engine.store.models import HumanTask, OutboxMessage, ProcessInstance, User

KINDS = {"assignment": "assignment", "assign": "assignment", "reminder": "reminder", "remind": "reminder",
         "overdue": "escalation", "escalation": "escalation", "escalate": "escalation", "extension": "extension",
         "result": "result", "declined": "result", "completed": "result", "accepted": "result",
         "meeting_held": "result", "published": "result", "urge": "urge", "meeting": "meeting"}
IMPLIED_LEVEL = {"overdue": 1, "escalate": 2}
TITLES = {"assignment": "新待办", "reminder": "办理提醒", "escalation": "逾期督办", "extension": "延期申请",
          "result": "办理结果", "urge": "催办", "meeting": "会议通知"}
LEVELS = {1: "一级", 2: "二级"}
BODIES = {"assignment": "您有一项新的待办：{task}。", "reminder": "「{task}」即将到期，请及时办理。",
          "escalation": "「{task}」已逾期{holder}，请督促办理。", "extension": "「{task}」有一项延期申请待处理。",
          "result": "「{task}」已有办理结果。", "urge": "「{task}」已被催办，请尽快办理。",
          "meeting": "「{task}」会议通知。"}
RETRYABLE = ("pending", "failed")
STATUSES = ("pending", "sending", "failed", "parked", "sent", "dispatched")
log = logging.getLogger(__name__)


def config_of(settings: Settings | NotificationSettings | None) -> NotificationSettings:
    """The notification settings, read from the environment and instance file when not given."""
    if isinstance(settings, NotificationSettings):
        return settings
    return (settings or Settings.from_env()).notifications


# --- fan-out ---------------------------------------------------------------------------------------
def notify_assignment(session: Session, human_task: HumanTask, now: datetime) -> None:
    """Ask for the people who may act on a new human task to be told (call once per new task): the request is written
    with the rest of the command's rows (`statements.insert_later`), in one statement with the others."""
    statements.insert_later(session, OutboxMessage.__table__, {
        "idempotency_key": f"{human_task.instance_id}:{human_task.id}:assignment",
        "instance_id": human_task.instance_id, "task_id": human_task.id, "operator": "notify", "channel": "dispatch",
        "status": "pending", "attempts": 0, "created_at": now, "next_attempt_at": now,
        "params": {"kind": "assignment", "to": "assignee", "task_id": human_task.id}})


def dispatch(session: Session, message: OutboxMessage, now: datetime,
             settings: Settings | NotificationSettings | None = None,
             hooks: HookRegistry | None = None) -> list[OutboxMessage]:
    """Turn a service task's request into one pending delivery per person and channel (and webhook target);
    marks it dispatched. A second dispatch of the same request adds nothing. `hooks` name the instance."""
    claimed = session.execute(update(OutboxMessage).where(
        OutboxMessage.id == message.id, OutboxMessage.status == "pending", OutboxMessage.recipient.is_(None))
        .values(status="dispatched", channel="dispatch", sent_at=now)).rowcount
    if claimed != 1 or message.operator != "notify":
        return []
    cfg = config_of(settings)
    params = message.params or {}
    raw_kind = str(params.get("kind", "result"))
    kind = KINDS.get(raw_kind, "result")
    level = max(0, min(2, _int(params.get("level"), IMPLIED_LEVEL.get(raw_kind, 0))))
    instance = session.get(ProcessInstance, message.instance_id) if message.instance_id else None
    tasks = _open_tasks(session, instance, params)
    about_work = params.get("task_id") or _int(params.get("step"), -1) >= 0
    if not tasks and about_work and kind in {"assignment", "reminder", "escalation"}:
        message.last_error = "任务已办结，无需通知 (the task is done; nobody is told)"
        return []     # no notice about a task or step that is already finished
    people = _recipients(session, instance, tasks, params.get("to", ""))
    # a request may name its own subject and page (a meeting's notice: its title and the meeting's page; a
    # plan's decision, about no instance)
    subject = str(params.get("subject") or "")[:150] or _subject(session, instance, tasks,
                                                                   hooks if hooks is not None else HookRegistry())
    rows: dict[str, OutboxMessage] = {}
    holders = holder_words(session, tasks) if kind == "escalation" else {}    # an escalation names who is late

    def add(channel: Channel, recipient: str, task: HumanTask | None, extra: dict | None = None, acts=False) -> None:
        key = channel.delivery_key(message, recipient)
        late = f"（{holders[task.id]}）" if task is not None and task.id in holders else ""
        body = str(params.get("message") or BODIES[kind].format(task=task.name if task else subject, holder=late))
        due = f"\n办理期限：{task.due_at.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}" if task and task.due_at else ""
        link = f"{cfg.base_url}/tasks/{task.id}" if task and acts else (
            f"{cfg.base_url}{params['path']}" if str(params.get("path", "")).startswith("/") else
            f"{cfg.base_url}/instances/{message.instance_id}" if message.instance_id else "")
        rows[key] = OutboxMessage(
            idempotency_key=key, instance_id=message.instance_id, task_id=task.id if task else params.get("task_id"),
            operator=message.operator, channel=channel.name, recipient=recipient, status="pending", attempts=0,
            params={"kind": kind, "level": level, "title": _title(kind, level, subject), "body": body + due,
                    "link": link if cfg.base_url else None, "org_unit": instance.org_unit_code if instance else None,
                    **(extra or {})}, created_at=now, next_attempt_at=now)

    only = params.get("channels")       # a request may name the channels it is for (e.g. ["sms"])
    senders = [c for c in build_channels(cfg) if not isinstance(only, list) or c.name in only]
    reached = [(channel, channel.reach(session, people, kind)) for channel in senders]
    for person in people:
        acts = person.task is not None and person.role == person.task.role     # may act on it: link the task
        for channel, extras in reached:
            if person.username in extras:
                add(channel, person.username, person.task, extras[person.username], acts)
    units = {instance.org_unit_code if instance else None} | {t.org_unit_code for t in tasks}
    for channel in senders:
        for recipient, extra in channel.targets(units, kind, level):
            add(channel, recipient, tasks[0] if len(tasks) == 1 else None, extra)
        for recipient, extra in channel.about(params):
            add(channel, recipient, None, extra)
    existing = set(session.scalars(select(OutboxMessage.idempotency_key).where(
        OutboxMessage.idempotency_key.in_(list(rows))))) if rows else set()
    created = [row for key, row in rows.items() if key not in existing]
    session.add_all(created)
    message.last_error = None if rows else "没有接收人 (no recipients for this message)"
    return created


def _int(value, default: int) -> int:
    """A number from a service task's parameters; anything else counts as `default` (never blocks the queue)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _open_tasks(session: Session, instance: ProcessInstance | None, params: dict) -> list[HumanTask]:
    """The open human tasks the message is about: the one named, or those of a step, or all of the instance."""
    if instance is None:
        return []
    query = select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.status == "ready")
    if params.get("task_id"):
        query = query.where(HumanTask.id == str(params["task_id"]))
    elif _int(params.get("step"), -1) >= 0:
        query = query.where(HumanTask.step == _int(params["step"], -1))
    return list(session.scalars(query.order_by(HumanTask.created_at, HumanTask.id)))


def _recipients(session: Session, instance: ProcessInstance | None, tasks: list[HumanTask], to) -> list[Recipient]:
    """People named by `to` (a list or comma-separated): proposer, assignee, supervisor, county_leadership,
    department, user:NAME, ROLE@ORG_UNIT, or a role in the instance's org unit."""
    names = [t.strip() for t in (to if isinstance(to, list | tuple) else str(to).split(",")) if t.strip()]
    unit = instance.org_unit_code if instance else None
    first = tasks[0] if tasks else None
    wanted: list[tuple[tuple[str, str], HumanTask | None]] = []     # (role, org unit) pairs to look up
    found: list[Recipient] = []
    for name in names:
        if name == "proposer" and instance is not None and instance.started_by:
            found.append(Recipient(instance.started_by, "proposer", None))
        elif name == "assignee":
            for task in tasks:
                if task.assignee:
                    found.append(Recipient(task.assignee, task.role or "assignee", task))
                else:
                    wanted.append(((task.role, task.org_unit_code), task))
        elif (pairs := policy.audience(name, unit)) is not None:      # supervisor, county_leadership
            wanted += [(pair, first) for pair in pairs]
        elif name == "department":
            wanted += [(("department", t.org_unit_code), t) for t in tasks if t.role == "department"]
        elif name.startswith("user:"):
            found.append(Recipient(name[5:], "user", first))
        elif "@" in name:
            role, _, code = name.partition("@")
            wanted.append(((role, code), first))
        else:
            wanted.append(((name, unit), first))
    holders = directory.holders(session, [pair for pair, _ in wanted])
    for (role, code), task in wanted:
        found += [Recipient(username, role, task) for username in holders.get((role, code), ())]
    active = set(session.scalars(select(User.username).where(User.username.in_({r.username for r in found}),
                                                             User.active))) if found else set()
    unique: dict[str, Recipient] = {}
    for person in found:
        if person.username in active:
            unique.setdefault(person.username, person)
    return list(unique.values())


def _subject(session: Session, instance: ProcessInstance | None, tasks: list[HumanTask], hooks: HookRegistry) -> str:
    if instance is not None:
        return hooks.subject(session, instance.id, instance.process_id)
    return tasks[0].name if tasks else "事项 #-"


def _title(kind: str, level: int, subject: str) -> str:
    label = TITLES[kind] + (f"·{LEVELS[level]}" if kind == "escalation" and level in LEVELS else "")
    return f"【{label}】{subject}"[:200]


# --- delivery --------------------------------------------------------------------------------------
def deliver(session: Session, message: OutboxMessage, now: datetime,
            settings: Settings | NotificationSettings | None = None) -> bool:
    """Send one due delivery row once: claim it, send, record the outcome; True when it was sent now.

    In-app rows (a channel `in_transaction`) are written in the caller's transaction. For the others (email,
    webhooks) the claim is committed before the network call, so a second worker cannot take the row while it is
    being sent."""
    cfg = config_of(settings)
    claimed = session.execute(update(OutboxMessage).where(
        OutboxMessage.id == message.id, OutboxMessage.status.in_(RETRYABLE), OutboxMessage.recipient.isnot(None),
        OutboxMessage.next_attempt_at <= now).values(
        status="sending", attempts=OutboxMessage.attempts + 1,
        next_attempt_at=now + timedelta(seconds=cfg.lease_seconds))).rowcount
    if claimed != 1:
        return False
    session.refresh(message)
    channel = CHANNELS.get(message.channel)
    if channel is not None and channel.in_transaction:
        channel(cfg).send(session, message, now)
        return _succeeded(message, now)
    session.commit()
    try:
        channel_of(message, cfg).send(session, message, now)
    except DeliveryRefused as exc:     # can never succeed (e.g. not a mobile number): parked now, others go on
        message.last_error, message.status, message.next_attempt_at = str(exc)[:MAX_ERROR], "parked", None
        return False
    except DeliveryFailed as exc:
        _failed(message, str(exc), now, cfg)
        return False
    except Exception as exc:  # noqa: BLE001 - an unexpected failure of this one delivery: recorded on its row
        log.error("delivery %s failed: %s", message.id, cause_of(exc), exc_info=exc)
        _failed(message, cause_of(exc)[:MAX_ERROR], now, cfg)
        return False
    return _succeeded(message, now)


def _succeeded(message: OutboxMessage, now: datetime) -> bool:
    message.status, message.sent_at, message.next_attempt_at, message.last_error = "sent", now, None, None
    return True


def _failed(message: OutboxMessage, error: str, now: datetime, cfg: NotificationSettings) -> None:
    """Retry later with exponential backoff, or park the row after the last allowed attempt."""
    message.last_error = error
    if message.attempts >= cfg.max_attempts:
        message.status, message.next_attempt_at = "parked", None
        return
    delay = min(cfg.backoff_seconds * 2 ** (message.attempts - 1), cfg.backoff_cap_seconds)
    message.status, message.next_attempt_at = "failed", now + timedelta(seconds=delay)


def release_expired(session: Session, now: datetime, settings=None) -> int:
    """Rows left `sending` past their lease (a worker died mid-send) become due again, or parked if spent."""
    cfg = config_of(settings)
    stuck = list(session.scalars(select(OutboxMessage).where(OutboxMessage.status == "sending",
                                                             OutboxMessage.next_attempt_at < now)))
    for row in stuck:
        row.last_error = "发送中断：处理进程未完成 (lease expired while sending)"
        row.status, row.next_attempt_at = ("parked", None) if row.attempts >= cfg.max_attempts else ("failed", now)
    return len(stuck)


def deliver_due(engine, now: datetime | None = None, limit: int = 100,
                settings: Settings | NotificationSettings | None = None) -> int:
    """Dispatch waiting requests, then deliver due rows, each in its own short transaction; returns rows sent."""
    return len(run_deliveries(engine, now, limit, settings).done)


def run_deliveries(engine, now: datetime | None = None, limit: int = 100,
                   settings: Settings | NotificationSettings | None = None) -> Swept:
    """Like `deliver_due`, reporting the rows sent and the rows that failed; one bad row never stops the rest."""
    cfg = config_of(settings if settings is not None else getattr(engine, "settings", None))
    now = now or engine.clock.now()
    with engine.unit_of_work() as session:
        release_expired(session, now, cfg)
        parents = list(session.scalars(select(OutboxMessage.id).where(
            OutboxMessage.status == "pending", OutboxMessage.recipient.is_(None)).order_by(OutboxMessage.id)
            .limit(limit)))
    hooks = getattr(engine, "hooks", None)
    failed = [i for i in parents if not _one(engine, i, now, cfg, lambda s, m: dispatch(s, m, now, cfg, hooks) or True)]
    with engine.unit_of_work() as session:
        due = list(session.scalars(select(OutboxMessage.id).where(
            OutboxMessage.status.in_(RETRYABLE), OutboxMessage.recipient.isnot(None),
            OutboxMessage.next_attempt_at <= now).order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)))
    sent = []
    for message_id in due:
        outcome = _one(engine, message_id, now, cfg, lambda s, m: deliver(s, m, now, cfg))
        sent += [message_id] if outcome else []
        failed += [message_id] if outcome is False and _status(engine, message_id) in {"failed", "parked"} else []
    return Swept(tuple(sent), tuple(failed))


def _one(engine, message_id: int, now: datetime, cfg: NotificationSettings, act) -> bool | None:
    """Act on one outbox row in its own transaction; a crash fails (or parks) that row alone. None: row gone."""
    try:
        with engine.unit_of_work() as session:
            message = session.get(OutboxMessage, message_id)
            return None if message is None else bool(act(session, message))     # None: gone with its instance
    except getattr(engine, "transient_errors", ()):
        raise
    except Exception as exc:  # noqa: BLE001 - recorded on the row (last_error, failed or parked) and logged
        log.error("outbox message %s failed: %s", message_id, cause_of(exc), exc_info=exc)
        with engine.unit_of_work() as session:
            message = session.get(OutboxMessage, message_id)
            if message is not None:
                if message.status != "sending":      # the claim (and its count) was rolled back with the failure
                    message.attempts = (message.attempts or 0) + 1
                _failed(message, cause_of(exc)[:MAX_ERROR], now, cfg)
                if message.recipient is None:       # a request that cannot be dispatched waits for an admin
                    message.status, message.next_attempt_at = "parked", None
        return False


def _status(engine, message_id: int) -> str | None:
    with engine.unit_of_work() as session:
        return session.scalar(select(OutboxMessage.status).where(OutboxMessage.id == message_id))


def retry(session: Session, message_id: int, now: datetime) -> OutboxMessage:
    """Put a parked (or failing) delivery back in the queue, due now, with a fresh set of attempts."""
    message = session.get(OutboxMessage, message_id)
    if message is None or (message.recipient is None and message.status != "parked"):
        raise NotFound(f"没有投递消息 {message_id} (no such delivery)")     # a request is retried only once parked
    if message.status not in {"parked", "failed"}:
        raise InvalidState(f"消息 {message_id} 状态为 {message.status}，无需重试 (only parked or failed messages)")
    message.status, message.attempts, message.next_attempt_at = "pending", 0, now
    return message


