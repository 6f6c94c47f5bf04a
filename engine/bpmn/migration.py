"""Move a running workflow to another version of its process, when nothing it started or finished changed.

SpiffWorkflow's diff aligns the old specs with the new by id; the safe rule is ours: every task that is not merely
predicted (FUTURE, LIKELY, MAYBE) — finished, started, ready or waiting — must keep an unchanged spec in the new
version, in the main process and in every subprocess the instance has entered. Tasks still ahead take the new path.
"""

from __future__ import annotations

from dataclasses import dataclass

from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.bpmn.serialization import state_serializer
from engine.bpmn.specs import ParsedBundle

PREDICTED = TaskState.FUTURE | TaskState.LIKELY | TaskState.MAYBE
OPEN = TaskState.READY | TaskState.WAITING | TaskState.STARTED
# Nothing is reset on a move: a reset would drop a ready task's data (a multi-instance item) and restart a waiting
# timer. Predicted branches under a moved task are re-synced from the new specs as each task completes. ERROR is the
# one state no movable workflow holds (an instance in error is refused), so this mask resets nothing.
NO_RESET = TaskState.ERROR


class MoveRefused(Exception):
    """The workflow cannot be put on the new version (a plan with blockers, or a tree the new specs cannot hold)."""


@dataclass(frozen=True)
class Blocker:
    """Why a workflow cannot move: a task it reached whose spec the new version removed or changed."""

    element_id: str
    name: str
    state: str
    aspects: tuple[str, ...]       # empty when the element was removed


@dataclass
class MovePlan:
    """The diffs of one workflow against a new version, and what keeps it from moving (empty: it may move)."""

    top: WorkflowDiff
    subprocesses: dict
    blockers: list[Blocker]


def _label(task) -> tuple[str, str]:
    spec = task.task_spec
    return getattr(spec, "bpmn_id", None) or spec.name, getattr(spec, "bpmn_name", None) or spec.name


def _blockers(diff: WorkflowDiff, spec_diff: SpecDiff) -> list[Blocker]:
    out = []
    for task in diff.removed + [t for t in diff.changed if t not in diff.removed]:
        if task.state & PREDICTED:
            continue
        element_id, name = _label(task)
        aspects = () if task in diff.removed else tuple(spec_diff.changed.get(task.task_spec, ()))
        out.append(Blocker(element_id, name, TaskState.get_name(task.state), aspects))
    return out


def plan_move(workflow: BpmnWorkflow, new: ParsedBundle, spec_diffs: dict | None = None) -> MovePlan:
    """Diff `workflow` against the `new` version and list what blocks the move.

    `spec_diffs` keeps the diffs of spec pairs across calls: every instance of a version shares its parsed specs,
    so a preview of many instances diffs each pair of specs once."""
    if workflow.get_tasks(state=TaskState.ERROR):
        raise ValueError("a workflow in error cannot move")
    spec_diffs = {} if spec_diffs is None else spec_diffs

    def diff_of(old_spec, new_spec) -> SpecDiff:
        key = (id(old_spec), id(new_spec))
        if key not in spec_diffs:
            spec_diffs[key] = (old_spec, new_spec, SpecDiff(state_serializer().registry, old_spec, new_spec))
        return spec_diffs[key][2]

    spec_diff = diff_of(workflow.spec, new.spec)
    top = WorkflowDiff(workflow, spec_diff)
    blockers = _blockers(top, spec_diff)
    subprocesses = {}
    for sp_id, sub in workflow.subprocesses.items():
        new_spec = new.subprocess_specs.get(sub.spec.name)
        if new_spec is None:
            subprocesses[sp_id] = None
            blockers.append(Blocker(sub.spec.name, sub.spec.description or sub.spec.name, "STARTED", ()))
            continue
        sub_spec_diff = diff_of(sub.spec, new_spec)
        subprocesses[sp_id] = WorkflowDiff(sub, sub_spec_diff)
        blockers += _blockers(subprocesses[sp_id], sub_spec_diff)
    return MovePlan(top, subprocesses, _unique(blockers))


def _unique(blockers: list[Blocker]) -> list[Blocker]:
    seen, out = set(), []
    for blocker in blockers:
        if blocker not in seen:
            seen.add(blocker)
            out.append(blocker)
    return out


def move(workflow: BpmnWorkflow, plan: MovePlan, new: ParsedBundle) -> None:
    """Put `workflow` on the `new` version's specs (only for a plan without blockers)."""
    if plan.blockers:
        raise MoveRefused("the plan has blockers")
    for sp_id, diff in plan.subprocesses.items():
        sub = workflow.subprocesses[sp_id]
        migrate_workflow(diff, sub, new.subprocess_specs[sub.spec.name], reset_mask=NO_RESET)
    migrate_workflow(plan.top, workflow, new.spec, reset_mask=NO_RESET)
    workflow.subprocess_specs = new.subprocess_specs
    for flow in (workflow, *workflow.subprocesses.values()):
        _predict_again(flow)


def _predict_again(flow) -> None:
    """Predict each open task's branch from the new specs: a predicted task whose spec the new version removed would
    otherwise stay in the tree (the diff cannot align it) and name a spec no restore can find."""
    for task in list(flow.tasks.values()):
        if task.id in flow.tasks and task.has_state(OPEN) and task.workflow is flow:
            task.task_spec._predict(task, mask=PREDICTED)
    foreign = sorted({t.task_spec.name for t in flow.tasks.values() if flow.spec.task_specs.get(t.task_spec.name)
                      is not t.task_spec})
    if foreign:
        raise MoveRefused(f"tasks left on specs the new version lacks: {', '.join(foreign)}")
