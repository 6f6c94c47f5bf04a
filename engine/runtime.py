"""Advance a workflow and read what the database needs from it; no database access here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException
from SpiffWorkflow.util.task import TaskState

from . import clock as clock_mod
from .errors import ScriptError
from .scripting import BudgetExceeded, SandboxViolation, ScriptEngine, reset_service_handler, service_handler
from .specs import ParsedBundle

TIMER_TYPES = {"DurationTimerEventDefinition", "TimeDateEventDefinition", "CycleTimerEventDefinition"}
ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
SCRIPT_ENGINE = ScriptEngine()


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


def new_workflow(parsed: ParsedBundle, data: dict) -> BpmnWorkflow:
    """A fresh workflow of the bundle's main process with `data` on its start task."""
    workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=SCRIPT_ENGINE)
    start = workflow.get_next_task(state=TaskState.READY)
    if start is not None:
        start.set_data(**data)
    return workflow


def attach(workflow: BpmnWorkflow) -> BpmnWorkflow:
    """Give a restored workflow our script engine (it is not persisted)."""
    workflow.script_engine = SCRIPT_ENGINE
    return workflow


def _element_of(exc) -> str | None:
    task = getattr(exc, "task", None)
    spec = getattr(task, "task_spec", None)
    return getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)


def _detail(exc: BaseException) -> str:
    root = exc
    while getattr(root, "error", None) is not None or root.__cause__ is not None:
        nested = getattr(root, "error", None) or root.__cause__
        if nested is root:
            break
        root = nested
    if isinstance(root, SandboxViolation):
        return f"refused by the script sandbox: {root}"
    if isinstance(root, BudgetExceeded):
        return f"script stopped: {root}"
    message = str(exc).split("\n")[0]
    if root is not exc:
        message += f" ({type(root).__name__}: {root})"
    return message


def run(workflow: BpmnWorkflow, clock, on_task: Callable | None = None) -> Advance:
    """Run every ready automatic task (scripts, gateways, rules, services) with `clock` as the time."""
    advance = Advance()

    def handler(task, operator, params):
        call = ServiceCall(str(task.id), task.task_spec.bpmn_id, operator, params)
        advance.service_calls.append(call)
        return {"queued": True, "operator": operator}

    token = service_handler(handler)
    try:
        with clock_mod.using(clock):
            if on_task is not None:
                on_task()
            workflow.refresh_timers()
            workflow.do_engine_steps()
    except SpiffWorkflowException as exc:
        raise ScriptError(_element_of(exc), _detail(exc)) from None
    finally:
        reset_service_handler(token)
    return advance


def ready_user_tasks(workflow: BpmnWorkflow) -> list:
    """READY tasks that wait for a person (user and manual tasks), in tree order."""
    return workflow.get_tasks(state=TaskState.READY, manual=True)


def find_task(workflow: BpmnWorkflow, task_id: str):
    """The task with this id anywhere in the workflow (subprocesses included), or None."""
    try:
        return workflow.get_task_from_id(UUID(task_id))
    except (TaskNotFoundException, ValueError):
        return None


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
    return "running" if ready_user_tasks(workflow) else "waiting"


def evaluate(task, expression: str):
    """Evaluate a diagram expression (e.g. an `orgUnit` property) against a task's data, in the sandbox."""
    try:
        return SCRIPT_ENGINE.evaluate(task, expression)
    except SpiffWorkflowException as exc:
        raise ScriptError(task.task_spec.bpmn_id, _detail(exc)) from None


def active_steps(workflow: BpmnWorkflow, parsed: ParsedBundle) -> list[int]:
    """The method steps of every active task, from the diagram's `step` properties."""
    steps = []
    for task in workflow.get_tasks(state=ACTIVE):
        info = parsed.elements.get(task.task_spec.bpmn_id)
        if info is not None and info.step is not None:
            steps.append(info.step)
    return steps
