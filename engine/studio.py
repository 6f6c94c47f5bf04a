"""Process owners' studio on the engine: versions with their running instances, diffs, and moving instances.

A mixin of `Engine` (like `Sweeping`): it saves a moved instance exactly as any command does, so tasks and
deadlines are projected again from the new version. Each instance moves in its own transaction with its own
revision check; one that fails leaves the others moved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.bpmn import migration, runtime
from engine.bpmn.lint import lint
from engine.bpmn.operators import operator_parameters
from engine.bpmn.specs import Bundle
from engine.bpmn.versiondiff import VersionDiff, diff_bundles
from engine.errors import ConcurrentUpdate, EngineError, InvalidState, NotFound, Problem
from engine.store.models import ProcessInstance, ProcessVersion
from engine.store.uow import STALE_MESSAGE

FINISHED = ("completed", "cancelled")
STATE_WORDS = {"COMPLETED": "已完成", "STARTED": "已开始", "READY": "待办理", "WAITING": "等待中",
               "CANCELLED": "已取消"}
ASPECT_WORDS = {"typename": "类型", "bpmn_name": "名称", "inputs": "来路", "outputs": "去向", "extensions": "扩展属性",
                "lane": "泳道", "documentation": "说明", "prescript": "前置脚本", "postscript": "后置脚本",
                "event_definition": "事件定义", "cond_task_specs": "分支条件", "default_task_spec": "默认分支",
                "script": "脚本"}


@dataclass(frozen=True)
class VersionRow:
    """One deployed version in the studio's list: v<number>, who deployed it and when, and its open instances."""

    id: int
    process_id: str
    number: int
    content_hash: str
    deployed_by: str | None
    created_at: datetime
    note: str
    open_instances: int


@dataclass(frozen=True)
class MoveCheck:
    """Whether one open instance may move to another version; `reasons` say why not (zh-CN (en))."""

    instance_id: int
    revision: int
    status: str
    step: int | None
    movable: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class MoveResult:
    """What happened to one instance asked to move."""

    instance_id: int
    moved: bool
    message: str


def _blocker_words(blocker: migration.Blocker) -> str:
    label = f"「{blocker.name}」({blocker.element_id})"
    state = STATE_WORDS.get(blocker.state, blocker.state)
    if not blocker.aspects:
        return f"{label}{state}，新版本中已删除 ({blocker.element_id} is {blocker.state.lower()} and was removed)"
    changed = "、".join(ASPECT_WORDS.get(a, a) for a in blocker.aspects)
    return (f"{label}{state}，新版本中其{changed}有改动 ({blocker.element_id} is {blocker.state.lower()} and its "
            f"{', '.join(blocker.aspects)} changed)")


class Studio:
    """Versions, diffs, lint and instance moves (a mixin of `Engine`)."""

    def lint_bundle(self, bundle: Bundle) -> list[Problem]:
        """Every problem of a bundle as the studio shows it: the engine's parse problems (errors), the lint rules'
        findings and the engine's notices, against the registered operators and the directory's roles."""
        return lint(bundle, operator_parameters(), roles=self.directory_rules.roles)

    def process_versions(self, process_id: str | None = None) -> list[VersionRow]:
        """Every deployed version (of one process, or of all), by process then newest first."""
        with self.reading() as session:
            open_counts = dict(session.execute(
                select(ProcessInstance.version_id, func.count()).where(ProcessInstance.status.not_in(FINISHED))
                .group_by(ProcessInstance.version_id)).all())
            query = select(ProcessVersion).order_by(ProcessVersion.process_id, ProcessVersion.number.desc())
            if process_id is not None:
                query = query.where(ProcessVersion.process_id == process_id)
            return [VersionRow(v.id, v.process_id, v.number, v.content_hash, v.deployed_by, v.created_at, v.note,
                               open_counts.get(v.id, 0)) for v in session.scalars(query)]

    def version_diff(self, process_id: str, old: int, new: int) -> VersionDiff:
        """What changed from version number `old` to `new` of a process (elements and files)."""
        with self.reading() as session:
            before, after = (self.cache.for_version(_numbered(session, process_id, n)) for n in (old, new))
        return diff_bundles(before.bundle, after.bundle)

    def preview_migration(self, process_id: str, old: int, new: int, limit: int | None = None) -> list[MoveCheck]:
        """Each open instance of version `old` (the first `limit` by id), and whether it may move to version `new`
        (with reasons)."""
        with self.reading() as session:
            source, target = _numbered(session, process_id, old), _numbered(session, process_id, new)
            rows = session.scalars(select(ProcessInstance).where(
                ProcessInstance.version_id == source.id, ProcessInstance.status.not_in(FINISHED))
                .order_by(ProcessInstance.id).limit(limit)).all()
            target_parsed, spec_diffs = self.cache.for_version(target), {}
            return [self._check(row, target_parsed, spec_diffs) for row in rows]

    def _check(self, row: ProcessInstance, target, spec_diffs: dict) -> MoveCheck:
        reasons = self._reasons(row, target, spec_diffs)[2]
        return MoveCheck(row.id, row.revision, row.status, row.step, not reasons, tuple(reasons))

    def _reasons(self, row: ProcessInstance, target, spec_diffs: dict | None = None):
        """(workflow, plan, reasons): the loaded workflow and its move plan, or the reasons it cannot move."""
        if row.status == "error":
            return None, None, ["实例处于出错状态，请先处理错误 (the instance is in error; resolve it first)"]
        _, workflow = self.load(row)
        plan = migration.plan_move(workflow, target, spec_diffs)
        return workflow, plan, [_blocker_words(b) for b in plan.blockers]

    def migrate_instances(self, process_id: str, old: int, new: int, actor: str | None,
                          instance_ids: Sequence[int] | None = None,
                          revisions: Mapping[int, int] | None = None) -> list[MoveResult]:
        """Move open instances of version `old` to version `new`: those named (default: every movable one), each in
        its own transaction; `revisions` (as the preview showed them) refuse an instance changed since."""
        if instance_ids is None:
            instance_ids = [c.instance_id for c in self.preview_migration(process_id, old, new) if c.movable]
        results, spec_diffs = [], {}
        for instance_id in instance_ids:
            try:
                self._move(process_id, old, new, instance_id, actor, (revisions or {}).get(instance_id), spec_diffs)
            except EngineError as exc:
                results.append(MoveResult(instance_id, False, exc.message))
            else:
                results.append(MoveResult(instance_id, True, f"已迁移到 v{new} (moved to v{new})"))
        return results

    def _move(self, process_id: str, old: int, new: int, instance_id: int, actor: str | None,
              revision: int | None, spec_diffs: dict) -> None:
        with self.unit_of_work() as session:
            source, target = _numbered(session, process_id, old), _numbered(session, process_id, new)
            row = self.instance(session, instance_id)
            if revision is not None and revision != row.revision:
                raise ConcurrentUpdate(STALE_MESSAGE)
            if row.version_id != source.id or row.status in FINISHED:
                raise InvalidState(f"实例 {instance_id} 不是 v{old} 的在办实例 (not an open instance of v{old})")
            parsed = self.cache.for_version(target)
            workflow, plan, reasons = self._reasons(row, parsed, spec_diffs)
            if reasons:
                raise InvalidState("；".join(reasons))
            try:
                migration.move(workflow, plan, parsed)
            except migration.MoveRefused as exc:
                raise InvalidState(f"不能迁移到 v{new}：{exc} (cannot move to v{new}: {exc})") from exc
            row.version_id = target.id
            self.audit(session, row.id, "instance_migrated", actor, None,
                       {"from": old, "to": new, "from_version": source.content_hash[:12],
                        "to_version": target.content_hash[:12]})
            self._save(session, row, parsed, workflow, runtime.run(workflow, self.clock), actor)


def _numbered(session: Session, process_id: str, number: int) -> ProcessVersion:
    version = session.scalar(select(ProcessVersion).where(ProcessVersion.process_id == process_id,
                                                          ProcessVersion.number == number))
    if version is None:
        raise NotFound(f"流程 {process_id} 没有版本 v{number} (process {process_id!r} has no version v{number})")
    return version
