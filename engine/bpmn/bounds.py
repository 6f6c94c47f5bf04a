"""Bounds on what one element may cost: timer ranges, multi-instance sizes and loop iterations."""

from __future__ import annotations

import ast
from collections.abc import Sized
from datetime import datetime

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import (
    MultiInstanceTask,
    ParallelMultiInstanceTask,
    SequentialMultiInstanceTask,
    StandardLoopTask,
)

# SpiffWorkflow walks a duration month by month and keeps every loop child in one task tree that each step
# scans again (quadratic): these bounds keep one element's cost to about a second on a small server.
MAX_DURATION_YEARS = 10
EARLIEST_YEAR, LATEST_YEAR = 1970, 2100
MAX_CYCLES = 1_000
MAX_INSTANCES = 1_000
MAX_ITERATIONS = 1_000
_DAYS = {"years": 365.25, "months": 30.44, "weeks": 7, "days": 1, "hours": 1 / 24, "minutes": 1 / 1440,
         "seconds": 1 / 86400}


class OutOfBounds(Exception):
    """An element asked for more than its bound: a timer too far away, too many instances or iterations."""

    def __init__(self, message: str, element_id: str | None = None):
        super().__init__(message)
        self.message = message
        self.element_id = element_id


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_duration(value: str) -> None:
    """Refuse an ISO 8601 duration longer than MAX_DURATION_YEARS (before SpiffWorkflow walks it)."""
    try:
        parts = TimerEventDefinition.parse_iso_duration(value)
    except Exception as exc:  # noqa: BLE001 - SpiffWorkflow raises a bare Exception (or ValueError) for bad text
        raise OutOfBounds(f"计时器时长无效 (invalid timer duration {_shown(value)})") from exc
    days = sum(_DAYS[unit] * amount for unit, amount in parts.items())
    if days > MAX_DURATION_YEARS * 365.25 + 1:
        raise OutOfBounds(f"计时器时长超过 {MAX_DURATION_YEARS} 年 "
                          f"(timer duration {_shown(value)} is longer than {MAX_DURATION_YEARS} years)")


def check_date(value: str) -> None:
    """Refuse a timer date that is not a date between EARLIEST_YEAR and LATEST_YEAR."""
    try:
        when = TimerEventDefinition.parse_time_or_duration(value)
    except (ValueError, OverflowError, AttributeError, TypeError) as exc:
        raise OutOfBounds(f"计时器日期无效 (invalid timer date {_shown(value)})") from exc
    if not isinstance(when, datetime) or not EARLIEST_YEAR <= when.year <= LATEST_YEAR:
        raise OutOfBounds(f"计时器日期须在 {EARLIEST_YEAR} 至 {LATEST_YEAR} 年之间 "
                          f"(timer date {_shown(value)} is not between {EARLIEST_YEAR} and {LATEST_YEAR})")


def check_time_or_duration(value: str) -> None:
    """A duration (`P…`) or a date, each within its bounds."""
    (check_duration if value.strip().upper().startswith("P") else check_date)(value.strip())


def check_cycle(value: str) -> None:
    """Refuse a cycle without a repeat count, with more than MAX_CYCLES repeats, or with parts out of bounds."""
    count, *parts = value.strip().upper().replace("--", "/").lstrip("R").split("/")
    if not count.isdigit() or not parts:
        raise OutOfBounds(f"循环计时器须写明次数 R<n>（n 不超过 {MAX_CYCLES}）"
                          f"(timer cycle {_shown(value)} needs a repeat count R<n>, n at most {MAX_CYCLES})")
    if len(count) > 15 or int(count) > MAX_CYCLES:
        repeats = int(count) if len(count) <= 15 else "10^15+"
        raise OutOfBounds(f"循环计时器重复 {repeats} 次，超过上限 {MAX_CYCLES} 次 "
                          f"(timer cycle repeats {repeats} times; the limit is {MAX_CYCLES})")
    for part in parts:
        check_time_or_duration(part)


def check_timer(definition: TimerEventDefinition, value) -> None:
    """Check an evaluated timer expression the way its kind of timer will read it."""
    if not isinstance(value, str):
        return      # SpiffWorkflow refuses it itself
    if isinstance(definition, CycleTimerEventDefinition):
        check_cycle(value)
    elif isinstance(definition, TimeDateEventDefinition):
        check_date(value)
    else:
        check_duration(value)


def check_instances(count) -> None:
    """Refuse a multi-instance of more than MAX_INSTANCES instances."""
    if isinstance(count, int | float) and count > MAX_INSTANCES:
        shown = int(count) if count < 10 ** 15 else "10^15+"
        raise OutOfBounds(f"多实例数量 {shown} 超过上限 {MAX_INSTANCES} "
                          f"(a multi-instance of {shown} instances; the limit is {MAX_INSTANCES})")


def check_evaluated(task, expression: str, value) -> None:
    """Run-time bounds of what the script engine just evaluated for `task` (timers, cardinality); names the element."""
    spec = task.task_spec
    definition = getattr(spec, "event_definition", None)
    try:
        if isinstance(definition, TimerEventDefinition) and expression == definition.expression:
            check_timer(definition, value)
        elif isinstance(spec, MultiInstanceTask) and expression == spec.cardinality:
            check_instances(value)
    except OutOfBounds as exc:
        exc.element_id = spec.bpmn_id
        raise


class _BoundedStandardLoop:
    """A standard loop that stops with OutOfBounds after MAX_ITERATIONS iterations."""

    def loop_complete(self, my_task):
        done = super().loop_complete(my_task)
        iterations = len(my_task.internal_data.get("merged", []))
        if not done and iterations >= MAX_ITERATIONS:
            raise OutOfBounds(f"循环已执行 {iterations} 次，达到上限 {MAX_ITERATIONS} 次 "
                              f"(the loop ran {iterations} times; the limit is {MAX_ITERATIONS})", self.bpmn_id)
        return done


class _BoundedCollection:
    """A multi-instance over a data collection checks the collection's size before any instance exists."""

    def _check_collection(self, my_task):
        items = self.data_input.get(my_task) if self.data_input is not None and self.data_input.exists(my_task) \
            else None
        if isinstance(items, Sized):
            try:
                check_instances(len(items))
            except OutOfBounds as exc:
                exc.element_id = self.bpmn_id
                raise


class _BoundedParallel(_BoundedCollection):
    def create_children(self, my_task):
        self._check_collection(my_task)
        return super().create_children(my_task)


class _BoundedSequential(_BoundedCollection):
    def init_remaining_items(self, my_task):
        self._check_collection(my_task)
        return super().init_remaining_items(my_task)


_MIXINS = ((StandardLoopTask, _BoundedStandardLoop), (ParallelMultiInstanceTask, _BoundedParallel),
           (SequentialMultiInstanceTask, _BoundedSequential))
_BOUNDED: dict[type, type] = {}


def _bounded(cls: type) -> type | None:
    """The bounded subclass of a loop or multi-instance task spec class (made once), else None."""
    for base, mixin in _MIXINS:
        if issubclass(cls, base):
            if cls not in _BOUNDED:
                _BOUNDED[cls] = type(f"Bounded{cls.__name__}", (mixin, cls), {"__module__": __name__})
            return _BOUNDED[cls]
    return None


def bound_loops(process_spec) -> None:
    """Give every loop and multi-instance task spec its bounded class (state and serialization are unchanged)."""
    for task_spec in process_spec.task_specs.values():
        cls = type(task_spec)
        if cls not in _BOUNDED.values() and (bounded := _bounded(cls)) is not None:
            task_spec.__class__ = bounded


def with_bounded(config: dict) -> dict:
    """A SpiffWorkflow serializer config in which each bounded class converts as the class it bounds (a spec is
    converted when stored states of an older SpiffWorkflow are migrated, and by tools that embed it)."""
    extended = dict(config)
    for cls, converter in config.items():
        if isinstance(cls, type) and (bounded := _bounded(cls)) is not None:
            extended[bounded] = converter
    return extended


# --------------------------------------------------------------------------------------------------
# Deploy time: what is written literally in the diagram is checked before anything runs.
# --------------------------------------------------------------------------------------------------
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
_TIMERS = {f"{BPMN}timeDuration": check_duration, f"{BPMN}timeDate": check_date, f"{BPMN}timeCycle": check_cycle}
_ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Pow)


def literal_number(source: str) -> int | float | None:
    """The value of an integer expression made of literals only (`4000`, `10**9`), else None; never computes big
    (a power too big to compute is `inf`)."""
    try:
        node = ast.parse(source.strip(), mode="eval").body
    except SyntaxError:
        return None
    return _fold(node)


def _fold(node) -> int | float | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _fold(node.operand)
        return None if not isinstance(value, int) else (-value if isinstance(node.op, ast.USub) else value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, _ARITHMETIC):
        left, right = _fold(node.left), _fold(node.right)
        if not isinstance(left, int) or not isinstance(right, int):
            return None
        if isinstance(node.op, ast.Pow):
            if right < 0 or abs(left).bit_length() * right > 256:
                return float("inf") if abs(left) > 1 and right > 0 else None
            return left ** right
        if isinstance(node.op, ast.FloorDiv):
            return left // right if right else None
        return {ast.Add: left + right, ast.Sub: left - right, ast.Mult: left * right}[type(node.op)] \
            if max(abs(left), abs(right)).bit_length() < 512 else None
    return None


def _literal_text(source: str) -> str | None:
    try:
        value = ast.literal_eval(source.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, str) else None


def _owner(node):
    """The flow element around `node` (not its event definition or loop characteristics, which may have ids)."""
    while node is not None and not (node.get("id") and not node.tag.endswith(("EventDefinition", "Characteristics"))):
        node = node.getparent()
    return node.get("id") if node is not None else None


def bound_problems(root, filename: str, out) -> None:
    """Add a problem for each literal timer out of range, literal cardinality or loopMaximum over its bound."""
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        text = (node.text or "").strip()
        reason = None
        try:
            if node.tag in _TIMERS and text and (value := _literal_text(text)) is not None:
                _TIMERS[node.tag](value)
            elif node.tag == f"{BPMN}loopCardinality" and text:
                check_instances(literal_number(text))
        except OutOfBounds as exc:
            reason = exc.message
        if node.tag == f"{BPMN}standardLoopCharacteristics":
            maximum = (node.get("loopMaximum") or "").strip()
            if maximum.isdigit() and int(maximum) > MAX_ITERATIONS:
                reason = (f"循环上限 loopMaximum={int(maximum)} 超过 {MAX_ITERATIONS} 次 "
                          f"(loopMaximum {int(maximum)} is over the limit of {MAX_ITERATIONS})")
        if reason:
            out.add(filename, node.sourceline, _owner(node.getparent()), reason)


LOOP_NOTICE = (f"提示：循环未设上限 (loopMaximum)，运行时最多执行 {MAX_ITERATIONS} 次，超过即出错停止 "
               f"(notice: the loop has no loopMaximum; it stops with an error after {MAX_ITERATIONS} iterations)")


def unbounded_loops(process_specs) -> list[str]:
    """Ids of standard loops that only a condition ends (the run-time bound applies to them)."""
    return sorted({spec.bpmn_id for process_spec in process_specs for spec in process_spec.task_specs.values()
                   if isinstance(spec, StandardLoopTask) and spec.maximum is None})
