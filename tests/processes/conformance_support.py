"""Helpers for the conformance tests: find the diagrams written by others, run them in plain SpiffWorkflow and ours."""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine import clock as clock_mod
from engine.bpmn.serialization import state_serializer
from engine.clock import FrozenClock
from engine.errors import EngineError, ScriptError
from engine.service import Engine
from engine.store.models import HumanTask, ProcessInstance, ProcessVersion, User
from engine.store.statecodec import unpack
from engine.store.versions import VersionCache

# /work/main/tests/processes/<this file> -> /work/shared; CI puts a copy of shared/ beside its clone, or names it.
SHARED = Path(os.environ.get("XIESHANG_SHARED") or Path(__file__).resolve().parents[3] / "shared")
CONFORMANCE = SHARED / "conformance"
SPIFF_DIR = CONFORMANCE / "spiffworkflow"
MIWG_DIR = CONFORMANCE / "miwg"
CI_TRUE = {"1", "true", "yes"}


def shared_missing() -> str | None:
    """Why the conformance diagrams cannot be read, or None when both folders are there."""
    if SPIFF_DIR.is_dir() and MIWG_DIR.is_dir():
        return None
    return (f"the team's conformance diagrams are not at {CONFORMANCE} (a clone without the shared/ folder beside "
            f"it): set XIESHANG_SHARED to the shared/ folder to run these tests")


def require_shared() -> None:
    """Skip a test that reads the conformance diagrams when they are missing; under CI (CI=true) fail instead."""
    reason = shared_missing()
    if reason is None:
        return
    if os.environ.get("CI", "").strip().lower() in CI_TRUE:
        pytest.fail(f"required under CI: {reason}", pytrace=False)
    pytest.skip(reason)

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
CAMUNDA = "{http://camunda.org/schema/1.0/bpmn}"
TIMER_TYPES = {"DurationTimerEventDefinition", "TimeDateEventDefinition", "CycleTimerEventDefinition"}
MAX_ACTIONS = 60          # user tasks completed + timers fired before a run counts as endless
TEST_USER = "conformance"


# --- the diagrams ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Xml:
    processes: tuple[str, ...]      # executable processes (SpiffWorkflow: a missing isExecutable means true)
    called: tuple[str, ...]         # calledElement of every call activity
    decisions: tuple[str, ...]      # DMN decision ids business rule tasks name


@cache
def _read(path: Path) -> _Xml:
    root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)).getroot()
    processes = tuple(p.get("id") for p in root.iter(f"{BPMN}process") if p.get("isExecutable", "true") == "true")
    called = tuple(c.get("calledElement") for c in root.iter(f"{BPMN}callActivity") if c.get("calledElement"))
    decisions = [e.text.strip() for e in root.iter(f"{SPIFF}calledDecisionId") if (e.text or "").strip()]
    decisions += [e.get(f"{CAMUNDA}decisionRef") for e in root.iter(f"{BPMN}businessRuleTask")
                  if e.get(f"{CAMUNDA}decisionRef")]
    return _Xml(processes, called, tuple(decisions))


@dataclass(frozen=True)
class Diagram:
    """One .bpmn of the SpiffWorkflow suite, with the files a call activity or business rule task needs."""

    id: str                         # readable test id: bpmn/timer.bpmn, spiff/data_object.bpmn
    files: tuple[Path, ...]         # the diagram first, then called diagrams, then DMN files

    @property
    def spiff_flavoured(self) -> bool:
        """Written for SpiffWorkflow's extensions (the suite's spiff/ folder) rather than plain BPMN."""
        return self.id.startswith("spiff/")

    @property
    def bpmn_files(self) -> list[Path]:
        return [f for f in self.files if f.suffix == ".bpmn"]

    @property
    def dmn_files(self) -> list[Path]:
        return [f for f in self.files if f.suffix == ".dmn"]

    @property
    def main_process(self) -> str | None:
        """The diagram's own first executable process that no call activity of the bundle calls."""
        called = {c for f in self.bpmn_files for c in _read(f).called}
        own = _read(self.files[0]).processes
        top = [p for p in own if p not in called]
        return (top or list(own) or [None])[0]


def _shared_prefix(a: str, b: str) -> int:
    return len(os.path.commonprefix([a, b]))


def _bundle_files(path: Path, processes: dict[str, list[Path]], decisions: dict[str, list[Path]]) -> tuple[Path, ...]:
    """The diagram plus, transitively, the diagrams defining the processes it calls (same folder and the most
    similar name first: resetworkflowB-toplevel calls SubProcessA of resetworkflowB-sublevel) and its DMN files."""
    files, dmns, todo = [path], [], [path]
    while todo:
        info = _read(todo.pop(0))
        have = {p for f in files for p in _read(f).processes}
        for called in info.called:
            candidates = sorted(processes.get(called, []),
                                key=lambda f: (f.parent != path.parent, -_shared_prefix(f.stem, path.stem), f.name))
            if called not in have and candidates:
                files.append(candidates[0])
                todo.append(candidates[0])
                have |= set(_read(candidates[0]).processes)
        for decision in info.decisions:
            dmns += [f for f in decisions.get(decision, [])[:1] if f not in dmns]
    return tuple(files + dmns)


def diagrams() -> list[Diagram]:
    """Every .bpmn under the SpiffWorkflow conformance folder (empty when the folder is missing)."""
    if not SPIFF_DIR.is_dir():
        return []
    bpmns = sorted(SPIFF_DIR.rglob("*.bpmn"))
    processes: dict[str, list[Path]] = {}
    decisions: dict[str, list[Path]] = {}
    for path in bpmns:
        for process_id in _read(path).processes:
            processes.setdefault(process_id, []).append(path)
    for path in sorted(SPIFF_DIR.rglob("*.dmn")):
        for node in etree.parse(str(path)).getroot().iter():
            if isinstance(node.tag, str) and etree.QName(node).localname == "decision" and node.get("id"):
                decisions.setdefault(node.get("id"), []).append(path)
    return [Diagram(path.relative_to(SPIFF_DIR).as_posix().replace("/data/", "/", 1),
                    _bundle_files(path, processes, decisions)) for path in bpmns]


def miwg_models() -> list[Path]:
    """Every MIWG reference model."""
    return sorted(MIWG_DIR.glob("*.bpmn")) if MIWG_DIR.is_dir() else []


# --- plain SpiffWorkflow --------------------------------------------------------------------------

def plain_parser(diagram: Diagram) -> BpmnParser:
    """The parser the diagram was written for: SpiffBpmnParser for spiff/, BpmnDmnParser (BPMN + DMN) for bpmn/."""
    parser = SpiffBpmnParser() if diagram.spiff_flavoured else BpmnDmnParser()
    parser.add_bpmn_files([str(f) for f in diagram.bpmn_files])
    for dmn in diagram.dmn_files:
        parser.add_dmn_file(str(dmn))
    return parser


def plain_specs(diagram: Diagram) -> dict[str, tuple]:
    """(spec, subprocess specs) of every executable process of the diagram; raises what SpiffWorkflow raises."""
    parser = plain_parser(diagram)
    own = _read(diagram.files[0]).processes
    if not own:
        raise ValueError("no executable process")
    return {pid: (parser.get_spec(pid), parser.get_subprocess_specs(pid)) for pid in own}


# --- runs -----------------------------------------------------------------------------------------

@dataclass
class Outcome:
    """Where a run stopped: task states, data, what was done, and the error that stopped it, if any."""

    completed: bool = False
    states: Counter = field(default_factory=Counter)
    data: dict = field(default_factory=dict)
    actions: list[tuple[str, str]] = field(default_factory=list)
    waiting: list[tuple[str | None, str]] = field(default_factory=list)
    error: str | None = None
    error_type: str | None = None


def task_states(workflow: BpmnWorkflow) -> Counter:
    """Multiset of (task spec name, state name) over every task, subprocesses included."""
    tasks = list(workflow.tasks.values())
    for sub in workflow.subprocesses.values():
        tasks.extend(sub.tasks.values())
    return Counter((t.task_spec.name, TaskState.get_name(t.state)) for t in tasks)


def _waiting(workflow: BpmnWorkflow) -> list[tuple[str | None, str]]:
    return sorted(((e.name, e.event_type) for e in workflow.waiting_events() if e.event_type not in TIMER_TYPES),
                  key=str)


def _next_timer(workflow: BpmnWorkflow) -> datetime | None:
    times = [TimerEventDefinition.parse_time_or_duration(e.value) for e in workflow.waiting_events()
             if e.event_type in TIMER_TYPES and e.value]
    return min(times) if times else None


def _after(due: datetime, now: datetime) -> datetime:
    """SpiffWorkflow fires a timer once `now` is strictly later than its due time."""
    return max(due, now) + timedelta(seconds=1)


def first_line(message: str) -> str:
    """An error message without SpiffWorkflow's 'Did you mean …' hint (it lists the names in scope)."""
    line = (message.strip().splitlines() or [""])[0]
    return re.split(r"\s+Did you mean", line)[0].strip()


def run_plain(diagram: Diagram, process_id: str, start: datetime) -> Outcome:
    """Plain SpiffWorkflow in memory, default script engine: complete every ready manual task with no data
    (first in tree order), else move the clock past the next timer; until nothing is ready."""
    spec, subprocess_specs = plain_specs(diagram)[process_id]
    clock = FrozenClock(start)
    outcome = Outcome()
    workflow = None
    with clock_mod.using(clock):
        try:
            workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=PythonScriptEngine())
            workflow.do_engine_steps()
            for _ in range(MAX_ACTIONS):
                ready = workflow.get_tasks(state=TaskState.READY, manual=True)
                if ready:
                    outcome.actions.append(("complete", ready[0].task_spec.name))
                    ready[0].run()
                    workflow.do_engine_steps()
                    continue
                due = _next_timer(workflow)
                if due is None:
                    break
                outcome.actions.append(("timer", due.isoformat()))
                clock.set(_after(due, clock.now()))
                workflow.refresh_timers()
                workflow.do_engine_steps()
        except Exception as exc:  # noqa: BLE001 - whatever plain SpiffWorkflow raises is the expected outcome
            outcome.error, outcome.error_type = first_line(str(exc)), type(exc).__name__
    if workflow is not None:
        outcome.completed, outcome.states = workflow.completed, task_states(workflow)
        outcome.data, outcome.waiting = dict(workflow.data), _waiting(workflow)
    return outcome


def spec_wiring(parsed) -> dict:
    """Every connection of every task spec in a parsed bundle: inputs, outputs and completion subscribers."""
    wiring = {}
    for process_spec in (parsed.spec, *parsed.subprocess_specs.values()):
        for name, task_spec in process_spec.task_specs.items():
            wiring[(process_spec.name, name)] = (tuple(task_spec._inputs), tuple(task_spec._outputs),
                                                 task_spec.completed_event.n_subscribers())
    return wiring


def add_user(service: Engine, username: str = TEST_USER) -> str:
    """A user row to assign the diagrams' user tasks to (they have no roles our directory knows)."""
    with service.unit_of_work() as session:
        session.add(User(username=username, display_name="Conformance", password_hash="-",
                         created_at=service.clock.now()))
    return username


def load_instance(service: Engine, instance_id: int) -> tuple[ProcessInstance, BpmnWorkflow]:
    """The stored row and its workflow, restored from the database the way the engine restores it."""
    with service.unit_of_work() as session:
        row = session.get(ProcessInstance, instance_id)
        parsed = service.cache.for_version(session.get(ProcessVersion, row.version_id))
        return row, state_serializer().loads(unpack(row.state), parsed.spec, parsed.subprocess_specs)


def run_engine(service: Engine, process_id: str, user: str, cold: bool = False) -> Outcome:
    """Our engine, one command (one transaction, save and load) per step, with the same policy as run_plain.

    With `cold`, the version cache is emptied before every step, as if each command ran in a new process.

    An EngineError stops the run with `error`; an instance the timer sweep put in status error too. Any other
    exception is recorded with its type, so a test can tell that it escaped the engine's error hierarchy."""
    outcome = Outcome()
    try:
        instance_id = service.start_instance(process_id, {})
        for _ in range(MAX_ACTIONS):
            if cold:
                service.cache = VersionCache()
            row, workflow = load_instance(service, instance_id)
            if row.status == "error":
                outcome.error, outcome.error_type = row.error, ScriptError.__name__
                break
            ready = workflow.get_tasks(state=TaskState.READY, manual=True)
            if ready:
                task_id = str(ready[0].id)
                with service.unit_of_work() as session:
                    human = session.get(HumanTask, task_id)
                    assert human is not None and human.status == "ready", f"no open human_task row for {task_id}"
                    # The diagrams' lanes name no roles our directory knows: hand each task to the test user
                    # the way a task outside any lane goes to its starter.
                    human.assignee, human.role = user, None
                outcome.actions.append(("complete", ready[0].task_spec.name))
                service.complete_task(task_id, {}, user)
                continue
            if row.next_timer_at is None:
                break
            outcome.actions.append(("timer", row.next_timer_at.isoformat()))
            service.clock.set(_after(row.next_timer_at, service.clock.now()))
            service.fire_due_timers()
    except EngineError as exc:
        outcome.error, outcome.error_type = str(exc), type(exc).__name__
        return outcome
    except Exception as exc:  # noqa: BLE001 - recorded so the test can say it escaped the engine's errors
        outcome.error, outcome.error_type = first_line(str(exc)), type(exc).__name__
        return outcome
    row, workflow = load_instance(service, instance_id)
    outcome.completed, outcome.states = workflow.completed, task_states(workflow)
    outcome.data, outcome.waiting = dict(service.show_instance(instance_id).data), _waiting(workflow)
    return outcome
