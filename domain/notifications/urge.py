"""Supervision (督办): the overdue board for the people who watch a unit, and 催办 — urging a late task's holder (or
its candidates while nobody has claimed it) and their unit's lead through the outbox, logged on the case's timeline
and counted; the same person urging the same task again within the hour is refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from domain.notifications.dispatch import dispatch
from domain.people import policy
from domain.people.accounts import UserView
from domain.work import board
from domain.work.models import TaskUrge
from engine.clock import LOCAL_TZ
from engine.errors import InvalidState, NotFound, PermissionDenied
from engine.store import versions
from engine.store.models import AuditEvent, HumanTask, OutboxMessage, ProcessInstance

URGE_WINDOW = timedelta(hours=1)
MAX_NOTE = 200


@dataclass(frozen=True)
class Urged:
    """What an urge did: the task, who holds it (in words), how many people are told, the task's urge count."""

    task_id: str
    instance_id: int
    holder: str
    told: int
    urges: int


class Supervision:
    """The board's queries and 催办, on the engine's sessions and clock."""

    def __init__(self, engine, settings=None):
        self.engine = engine
        self.settings = settings       # the notification settings (None: read from the environment when sending)

    def matrix(self, user: UserView, days: int = board.AT_RISK_WORKING_DAYS) -> board.Matrix:
        """The board's unit matrix for `user`."""
        self._require_board(user)
        with self.engine.reading() as session:
            return board.matrix(session, user, self.engine.clock.now(), days)

    def tasks(self, user: UserView, filters: board.Filters, after: str | None = None, before: str | None = None,
              per_page: int = 25) -> board.Page:
        """One page of the list behind the board (after / before a cursor of it; keyset.BadCursor if not one)."""
        self._require_board(user)
        with self.engine.reading() as session:
            return board.tasks(session, user, self.engine.clock.now(), filters, after, before, per_page,
                               self.engine.hooks)

    def export(self, user: UserView, filters: board.Filters, limit: int) -> list[board.Row]:
        """The whole filtered list (at most `limit` rows) for a download."""
        self._require_board(user)
        with self.engine.reading() as session:
            return board.all_tasks(session, user, self.engine.clock.now(), filters, limit, self.engine.hooks)

    def overdue_count(self, user: UserView) -> int | None:
        """Overdue tasks within what `user` watches; None for someone who watches nothing."""
        if not policy.may_see_board(user):
            return None
        with self.engine.reading() as session:
            return board.overdue_count(session, user, self.engine.clock.now())

    def units(self, user: UserView) -> list[tuple[str, str, str]]:
        """(code, name, kind) of the board units `user` watches, in the board's order (the list's unit filters)."""
        with self.engine.reading() as session:
            units, codes = board.Units.load(session), board.scope_codes(session, user)
            return sorted(((code, units.names[code], kind) for code, kind in units.kinds.items()
                           if kind in board.BOARD_KINDS and (codes is None or code in codes)),
                          key=lambda u: (board.BOARD_KINDS.index(u[2]), u[0]))

    def versions(self) -> list[tuple[int, str, str]]:
        """The deployed versions (the list's filter)."""
        with self.engine.reading() as session:
            return versions.recent(session)

    def may_urge(self, user: UserView, task_id: str) -> bool:
        """Whether `user` may urge this open task (the task page shows the button only then)."""
        with self.engine.reading() as session:
            human = session.get(HumanTask, task_id)
            return human is not None and human.status == "ready" and policy.may_urge(
                user, board.task_units(session, human))

    def urge(self, user: UserView, task_id: str, note: str = "") -> Urged:
        """Urge the task's holder and their unit's lead: an outbox message (in-app, and email where configured), a
        timeline line, a count. Refused for anyone but the office and the task's supervisors, for a finished
        task, and for the same person's second urge within the hour."""
        note = " ".join((note or "").split())
        if len(note) > MAX_NOTE:
            raise InvalidState(f"留言不能超过 {MAX_NOTE} 字 (the note is longer than {MAX_NOTE} characters)")
        now = self.engine.clock.now()
        with self.engine.unit_of_work() as session:
            human = session.get(HumanTask, task_id)
            if human is None:
                raise NotFound(f"任务不存在：{task_id} (no such task)")
            units = board.task_units(session, human)
            if not policy.may_urge(user, units):
                raise PermissionDenied("只有该单位的督办人员和县政协办公室可以催办 "
                                       "(only the unit's supervisors and the office may urge)")
            if human.status != "ready":
                raise InvalidState("任务已办结，无需催办 (the task is done)")
            last = session.scalar(select(TaskUrge.at).where(
                TaskUrge.task_id == task_id, TaskUrge.urged_by == user.username, TaskUrge.at > now - URGE_WINDOW,
                TaskUrge.at <= now)
                .order_by(TaskUrge.at.desc()).limit(1))
            if last is not None:
                raise InvalidState(f"已于 {last.astimezone(LOCAL_TZ):%H:%M} 催办过，一小时内请勿重复催办 "
                                   f"(already urged at {last.astimezone(LOCAL_TZ):%H:%M})")
            urge = TaskUrge(task_id=task_id, instance_id=human.instance_id, urged_by=user.username, note=note, at=now)
            session.add(urge)
            human.urges = (human.urges or 0) + 1        # kept on the row: the board sorts by it through an index
            session.flush()
            holder = board.holder_words(session, [human])[human.id]
            late = board.working_days_late(session, human.due_at, now)
            to = ["assignee"] + _leads(session, human)
            body = f"{user.display_name} 催办「{human.name}」（{holder}）" + (
                f"，已超期 {late} 个工作日" if late else "") + "，请尽快办理。" + (f"\n留言：{note}" if note else "")
            request = OutboxMessage(
                idempotency_key=f"{human.instance_id}:{human.id}:urge:{urge.id}", instance_id=human.instance_id,
                task_id=human.id, operator="notify", channel="dispatch", status="pending", attempts=0,
                params={"kind": "urge", "to": to, "task_id": human.id, "message": body}, created_at=now,
                next_attempt_at=now)
            session.add(request)
            session.flush()
            told = dispatch(session, request, now, self.settings, self.engine.hooks)
            session.add(AuditEvent(instance_id=human.instance_id, task_id=human.id, kind="task_urged",
                                   actor=user.username, at=now,
                                   detail={"step": human.step, "name": human.name, "holder": holder,
                                           "assignee": human.assignee, "note": note}))
            count = len(session.scalars(select(TaskUrge.id).where(TaskUrge.task_id == task_id)).all())
            return Urged(human.id, human.instance_id, holder, len({m.recipient for m in told}), count)

    def _require_board(self, user: UserView) -> None:
        if not policy.may_see_board(user):
            raise PermissionDenied("只有督办人员和县政协办公室可以查看督办看板 (supervisors and the office only)")


def _leads(session, human: HumanTask) -> list[str]:
    """The platform leads of the unit the task counts under (a village hall's township; none for a department)."""
    units = board.Units.load(session)
    unit = units.board_unit.get(human.org_unit_code or "")
    if unit is None:
        unit = units.board_unit.get(session.scalar(select(ProcessInstance.org_unit_code).where(
            ProcessInstance.id == human.instance_id)) or "")
    return [f"platform_lead@{unit}"] if unit else []
