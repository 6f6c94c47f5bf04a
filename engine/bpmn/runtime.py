"""Advance a workflow and read what the database needs from it; no database access here."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException
from SpiffWorkflow.util.task import TaskState

from engine import clock as clock_mod
from engine.bpmn.bounds import OutOfBounds
from engine.bpmn.scripting import BudgetExceeded, SandboxViolation, ScriptEngine, reset_service_handler, service_handler
from engine.bpmn.specs import ParsedBundle
from engine.bpmn.storable import Unstorable, check
from engine.errors import HookFailed, ScriptError

TIMER_TYPES = {"DurationTimerEventDefinition", "TimeDateEventDefinition", "CycleTimerEventDefinition"}
ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
SCRIPT_ENGINE = ScriptEngine()
MAX_STEPS = 5_000
UNSTORABLE = "无法保存的数据 (a value that cannot be stored)"

log = logging.getLogger(__name__)


class StepBudgetExceeded(Exception):
    """An engine run completed more automatic tasks than any real process needs."""


@dataclass
class ServiceCall:
    """A side effect a service task asked for, written to the outbox in the same transaction."""

    task_id: str
    element_id: str
    operator: str
    params: dict


@dataclass
class Advance:
    """What one engine run produced besides the new state."""

    service_calls: list[ServiceCall] = field(default_factory=list)
    timers_fired: list[tuple[str, datetime | None]] = field(default_factory=list)   # (element id, when it was due)


def new_workflow(parsed: ParsedBundle, data: dict) -> BpmnWorkflow:
    """A fresh workflow of the bundle's main process with `data` on its start task."""
    workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=SCRIPT_ENGINE)
    start = workflow.get_next_task(state=TaskState.READY)
    if start is not None:
        start.set_data(**data)
    return workflow


def attach(workflow: BpmnWorkflow) -> BpmnWorkflow:
    """Give a restored workflow our script engine (it is not persisted) and resume loops that missed a merge."""
    workflow.script_engine = SCRIPT_ENGINE
    resume_loops(workflow)
    return workflow


def resume_loops(workflow: BpmnWorkflow) -> bool:
    """Merge loop children that completed without being merged; True if any was.

    Before the parsed specs were wired up front (`specs.wire_loops`), a child completed after a cold restore
    was never merged, leaving its loop STARTED with nothing to wait for. Such stored states continue here: the
    missed merges run in the children's order, as they would have; the next engine run carries the loop on.
    """
    resumed = False
    for loop in workflow.get_tasks(state=TaskState.STARTED, spec_class=LoopTask):
        merged = loop.internal_data.get("merged")
        if merged is None:
            continue
        for child in list(loop.children):
            if child.task_spec.name == loop.task_spec.task_spec and child.state == TaskState.COMPLETED \
                    and str(child.id) not in merged:
                loop.task_spec.merge_child(workflow, child)
                resumed = True
    return resumed


def _element_of(exc) -> str | None:
    task = getattr(exc, "task", None)
    spec = getattr(task, "task_spec", None)
    return getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)


def _root_cause(exc: BaseException) -> BaseException:
    root, seen = exc, {id(exc)}
    while True:   # SpiffWorkflow re-raises without `from`: behind its own exceptions, follow __context__ too
        nested = getattr(root, "error", None) or root.__cause__ or (
            root.__context__ if isinstance(root, SpiffWorkflowException) else None)
        if nested is None or id(nested) in seen:
            return root
        seen.add(id(nested))
        root = nested


def script_error(element: str | None, message: str, cause: BaseException) -> ScriptError:
    """The ScriptError a person reads for `cause`, whose traceback (which the message leaves out) is logged here.

    At INFO: it is the diagram's or the data's fault and the message names it; servers log INFO (webui.observability)
    while a command line shows only warnings, so its output stays the message alone."""
    log.info("script error at %s: %s", element or "the process", message, exc_info=cause)
    return ScriptError(element, message)


def _hook_failure(exc: BaseException, kind: type = HookFailed):
    """The HookFailed (or other `kind`) behind an exception SpiffWorkflow wrapped, if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, kind):
            return exc
        seen.add(id(exc))
        exc = getattr(exc, "error", None) or exc.__cause__ or exc.__context__
    return None


def _detail(exc: BaseException) -> str:
    """`reason — context`: the root cause first, then what SpiffWorkflow says about where it happened."""
    root = _root_cause(exc)
    main = str(exc.args[0]) if exc.args else ""
    if isinstance(root, SandboxViolation):
        reason = f"refused by the script sandbox: {root}"
    elif isinstance(root, BudgetExceeded):
        reason = f"script stopped: {root}"
    elif root is exc:
        reason = main or type(exc).__name__
    else:
        reason = f"{type(root).__name__}: {root}"
    context = [] if root is exc or str(root) in main else [main]
    context += [note.strip() for note in getattr(exc, "notes", []) if note.strip()]
    return reason + (" — " + "; ".join(context) if context else "")


def run(workflow: BpmnWorkflow, clock, on_task: Callable | None = None) -> Advance:
    """Run every ready automatic task (scripts, gateways, rules, services) with `clock` as the time."""
    advance = Advance()

    def handler(task, operator, params):
        call = ServiceCall(str(task.id), task.task_spec.bpmn_id, operator, params)
        advance.service_calls.append(call)
        return {"queued": True, "operator": operator}

    steps, last = [0], [None]

    def count(task):
        steps[0] += 1
        last[0] = task.task_spec.bpmn_id
        if steps[0] > MAX_STEPS:
            raise StepBudgetExceeded(f"more than {MAX_STEPS} automatic steps in one go (a loop in the diagram?)")
        check_storable(task)
        timer = getattr(task.task_spec, "event_definition", None)
        if isinstance(timer, TimerEventDefinition):
            advance.timers_fired.append((task.task_spec.bpmn_id, _due_of(timer, task)))

    token = service_handler(handler)
    try:
        with clock_mod.using(clock):
            if on_task is not None:
                on_task()
            workflow.refresh_timers()
            workflow.do_engine_steps(did_complete_task=count)
            # do_engine_steps ends by refreshing the timers: one whose time came during this run (a zero or past
            # duration, a clock moved on meanwhile) is left READY, where no sweep looks for it (the instance would
            # wait for nothing, for ever); it is due, so it fires now (bounded: the step budget counts these steps,
            # and a pass that runs nothing ends the loop)
            while _engine_ready(workflow):
                before = steps[0]
                workflow.do_engine_steps(did_complete_task=count)
                if steps[0] == before:
                    break
        check_workflow_data(workflow)
    except StepBudgetExceeded as exc:
        raise script_error(last[0], str(exc), exc) from None
    except OutOfBounds as exc:
        raise script_error(exc.element_id or last[0], exc.message, exc) from None
    except HookFailed:
        raise     # our own code failed, not the diagram: keep its cause
    except ScriptError:
        raise
    except SpiffWorkflowException as exc:
        hook = _hook_failure(exc)
        if hook is not None:    # raised from within a task SpiffWorkflow was running
            raise hook  # noqa: B904 - its own cause (our bug) is kept, not the wrapper
        bound = _hook_failure(exc, OutOfBounds)
        if bound is not None:
            raise script_error(bound.element_id or _element_of(exc), bound.message, exc) from None
        raise script_error(_element_of(exc), _detail(exc), exc) from None
    except Exception as exc:  # noqa: BLE001 - SpiffWorkflow also raises plain TypeError/KeyError on bad diagrams
        raise script_error(None, f"{type(exc).__name__}: {exc}", exc) from None
    finally:
        reset_service_handler(token)
    if not workflow.completed and not workflow.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED):
        raise ScriptError(last[0], "the process stopped without finishing and waits for nothing (an endless cycle?)")
    return advance


def _due_of(timer: TimerEventDefinition, task) -> datetime | None:
    """When a timer that fired was due (UTC), as its task recorded it; None for a value that names no one moment."""
    value = timer.details(task).value
    try:
        return TimerEventDefinition.parse_time_or_duration(value).astimezone(UTC) if isinstance(value, str) else None
    except (TypeError, ValueError):
        return None


def _engine_ready(workflow: BpmnWorkflow) -> bool:
    """Whether a task the engine runs itself (not a person's) is ready, here or in a subprocess (a flat look at
    every task: a tenth of the cost of walking the task tree)."""
    return any(task.state == TaskState.READY and not task.task_spec.manual
               for flow in (workflow, *workflow.subprocesses.values()) for task in flow.tasks.values())


def check_storable(task) -> None:
    """Refuse, naming the element, data a task produced that the state serializer cannot store (ScriptError)."""
    try:
        check(task.data)
    except Unstorable as exc:
        raise script_error(task.task_spec.bpmn_id, f"{UNSTORABLE}: {exc}", exc) from exc


def check_workflow_data(workflow: BpmnWorkflow) -> None:
    """The same for the workflow's own data (end events and data outputs copy task data there)."""
    try:
        check(workflow.data, "workflow.data")
    except Unstorable as exc:
        raise script_error(None, f"{UNSTORABLE}: {exc}", exc) from exc


@contextmanager
def settled(workflow: BpmnWorkflow) -> Iterator[None]:
    """Inside the block the workflow does not change (it is being saved), so its task queries for definite states
    (future, waiting, ready, started, with or without finished ones) filter one walk of the tree instead of walking it
    again each (a save asks about seven). SpiffWorkflow's own walk for such a query skips only the tasks below
    predicted ones, which are predicted themselves, in the same order: the answers are the same lists. Other queries
    (predicted or finished states only, from a given task, other filters) walk as before."""
    everything = workflow.get_tasks()
    walk = workflow.get_tasks

    def get_tasks(first_task=None, **kwargs):
        state, manual = kwargs.get("state", TaskState.ANY_MASK), kwargs.get("manual")
        if first_task is not None or not set(kwargs) <= {"state", "manual"} or \
                state & TaskState.PREDICTED_MASK or not state & TaskState.DEFINITE_MASK:
            return walk(first_task, **kwargs)
        return [task for task in everything
                if task.state & state and (manual is None or task.task_spec.manual == manual)]

    workflow.get_tasks = get_tasks
    try:
        yield
    finally:
        del workflow.get_tasks


def ready_user_tasks(workflow: BpmnWorkflow) -> list:
    """READY tasks that wait for a person (user and manual tasks), in tree order."""
    return workflow.get_tasks(state=TaskState.READY, manual=True)


def find_task(workflow: BpmnWorkflow, task_id: str):
    """The task with this id anywhere in the workflow (subprocesses included), or None."""
    try:
        return workflow.get_task_from_id(UUID(task_id))
    except (TaskNotFoundException, ValueError):
        return None


def item_of(workflow: BpmnWorkflow, task_id: str) -> dict:
    """For a multi-instance task, the item it works on (e.g. {"suggestion": {...}}); else {}."""
    task = find_task(workflow, task_id)
    item = getattr(getattr(task.parent, "task_spec", None), "input_item", None) if task else None
    if item is None or item.bpmn_id not in task.data:
        return {}
    return {item.bpmn_id: task.data[item.bpmn_id]}


def next_timer_at(workflow: BpmnWorkflow) -> datetime | None:
    """Earliest absolute time of any timer the workflow waits for (subprocesses included)."""
    times = [TimerEventDefinition.parse_time_or_duration(event.value) for event in workflow.waiting_events()
             if event.event_type in TIMER_TYPES and event.value]
    return min(times) if times else None


def instance_data(workflow: BpmnWorkflow) -> dict:
    """The data the instance carries now: the finished workflow's data, else the active tasks' data merged."""
    if workflow.completed:
        return dict(workflow.data)
    merged = dict(workflow.data)
    active = sorted(workflow.get_tasks(state=ACTIVE), key=lambda t: t.last_state_change)
    for task in active:
        merged.update(task.data)
    return merged


def status_of(workflow: BpmnWorkflow) -> str:
    """running (a person must act), waiting (a timer or message), completed, or error."""
    if workflow.completed:
        return "completed"
    if workflow.get_tasks(state=TaskState.ERROR):
        return "error"
    if ready_user_tasks(workflow):
        return "running"
    # Not finished and nothing to wait for means the engine gave up (e.g. an endless cycle): an error.
    return "waiting" if workflow.get_tasks(state=TaskState.WAITING | TaskState.STARTED) else "error"


def evaluate(task, expression: str):
    """Evaluate a diagram expression (e.g. an `orgUnit` property) against a task's data, in the sandbox."""
    try:
        return SCRIPT_ENGINE.evaluate(task, expression)
    except SpiffWorkflowException as exc:
        raise script_error(task.task_spec.bpmn_id, _detail(exc), exc) from None


def active_steps(workflow: BpmnWorkflow, parsed: ParsedBundle) -> list[int]:
    """The method steps of every active task, from the diagram's `step` properties."""
    steps = []
    for task in workflow.get_tasks(state=ACTIVE):
        info = parsed.elements.get(task.task_spec.bpmn_id)
        if info is not None and info.step is not None:
            steps.append(info.step)
    return steps
