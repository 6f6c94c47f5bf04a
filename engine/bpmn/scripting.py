"""Scripts and expressions from diagrams run under RestrictedPython with CPU and size budgets and vetted helpers."""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from contextvars import ContextVar
from datetime import date, timedelta
from functools import lru_cache

from RestrictedPython import (
    PrintCollector,
    RestrictingNodeTransformer,
    compile_restricted_eval,
    compile_restricted_exec,
    limited_builtins,
    safe_globals,
    utility_builtins,
)
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.bpmn import limits
from engine.bpmn.bounds import check_evaluated
from engine.bpmn.limits import SECONDS_LIMIT, TICK_LIMIT, BudgetExceeded  # noqa: F401 - part of this module's interface
from engine.bpmn.limits import budget as _budget
from engine.bpmn.limits import tick as _tick
from engine.clock import SystemClock, _current


class SandboxViolation(Exception):
    """Code refused by the sandbox at compile time (not a SyntaxError: Spiff reads SyntaxError.lineno)."""


def _counted_iter(obj):
    for item in default_guarded_getiter(obj):
        _tick()
        yield item


class _BudgetPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy, no imports at all, and a budget tick in every while-loop and function body."""

    def visit_Import(self, node):
        self.error(node, "import is not allowed in diagram scripts; use the provided helpers")
        return node

    visit_ImportFrom = visit_Import

    def visit_While(self, node):
        node = super().visit_While(node)
        return _tick_first(node)

    def visit_FunctionDef(self, node):
        node = super().visit_FunctionDef(node)
        return _tick_first(node)

    def visit_Lambda(self, node):
        node = super().visit_Lambda(node)
        # lambda args: body  ->  lambda args: (_tick_(), body)[1]
        node.body = ast.Subscript(value=ast.Tuple(elts=[_tick_call(), node.body], ctx=ast.Load()),
                                  slice=ast.Constant(1), ctx=ast.Load())
        ast.fix_missing_locations(node)
        return node


_GUARDED_OPS = {ast.Pow: "**", ast.Mult: "*", ast.LShift: "<<", ast.Add: "+", ast.Mod: "%", ast.BitOr: "|"}


class _GuardedPolicy(_BudgetPolicy):
    """The budget policy, and operators and f-string fields that can make huge values checked before they run."""

    def visit_BinOp(self, node):
        node = super().visit_BinOp(node)
        symbol = _GUARDED_OPS.get(type(node.op))
        if symbol is None:
            return node
        call = ast.Call(func=ast.Name("_binop_", ast.Load()), args=[ast.Constant(symbol), node.left, node.right],
                        keywords=[])
        return ast.fix_missing_locations(ast.copy_location(call, node))

    def visit_FormattedValue(self, node):
        node = super().visit_FormattedValue(node)
        spec = node.format_spec if node.format_spec is not None else ast.Constant("")
        call = ast.Call(func=ast.Name("_format_", ast.Load()),
                        args=[node.value, ast.Constant(node.conversion), spec], keywords=[])
        field = ast.FormattedValue(value=ast.copy_location(call, node), conversion=-1, format_spec=None)
        return ast.fix_missing_locations(ast.copy_location(field, node))


_size_guards: ContextVar[bool] = ContextVar("xieshang_size_guards", default=True)


def without_size_guards():
    """Switch the size guards off in this context (the benchmark's baseline only); returns the token to reset."""
    return _size_guards.set(False)


def reset_size_guards(token) -> None:
    """Undo `without_size_guards`."""
    _size_guards.reset(token)


def _tick_call() -> ast.Call:
    return ast.Call(func=ast.Name("_tick_", ast.Load()), args=[], keywords=[])


def _tick_first(node):
    """Every loop iteration and every function call counts against the budget."""
    node.body.insert(0, ast.copy_location(ast.Expr(_tick_call()), node))
    ast.fix_missing_locations(node)
    return node


def compile_exec(source: str):
    """Compile a script under the sandbox policy or raise SandboxViolation."""
    return _compiled(source, "exec", _size_guards.get())


def compile_eval(source: str):
    """Compile an expression under the sandbox policy or raise SandboxViolation."""
    return _compiled(source.strip(), "eval", _size_guards.get())


@lru_cache(maxsize=8192)
def _compiled(source: str, mode: str, guarded: bool):
    policy = _GuardedPolicy if guarded else _BudgetPolicy
    result = (compile_restricted_exec if mode == "exec" else compile_restricted_eval)(source, policy=policy)
    if result.errors:
        raise SandboxViolation("; ".join(result.errors))
    return result.code


def _inplacevar(op, x, y):
    ops = {"+=": lambda: x + y, "-=": lambda: x - y, "*=": lambda: x * y, "/=": lambda: x / y,
           "//=": lambda: x // y, "%=": lambda: x % y}
    if op not in ops:
        raise SandboxViolation(f"{op} is not allowed")
    return ops[op]()


def _write(obj):
    """Scripts may mutate plain containers (task data), nothing else."""
    return obj if isinstance(obj, dict | list | set) else full_write_guard(obj)


def _today() -> str:
    clock = _current.get() or SystemClock()
    return clock.now().date().isoformat()


def _add_days(day: str, days: int) -> str:
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


def _days_between(first: str, second: str) -> int:
    return (date.fromisoformat(second) - date.fromisoformat(first)).days


HELPERS: dict[str, Callable] = {"today": _today, "add_days": _add_days, "days_between": _days_between}

_BUILTINS = {
    **safe_globals["__builtins__"], **limited_builtins, **utility_builtins,
    "sum": sum, "min": min, "max": max, "any": any, "all": all, "sorted": sorted, "enumerate": enumerate,
    "dict": dict, "list": list, "map": map, "filter": filter, "reversed": reversed,
}
for _unsafe in ("string", "math", "random", "whrandom", "set", "frozenset"):
    _BUILTINS.pop(_unsafe, None)
_BUILTINS["set"] = set



def _guarded_getattr(obj, name, default=None):
    """RestrictedPython's getattr, with size-growing string and list methods bounded."""
    obj = limits.UNGUARDED.get(obj, obj) if type(obj) is limits.BuiltinMeta else obj   # `str.format` stays refused
    return limits.guard_method(obj, name, safer_getattr(obj, name, default))


PLAIN_GLOBALS = {
    **safe_globals, "__builtins__": _BUILTINS,
    "_getattr_": safer_getattr, "_getitem_": default_guarded_getitem, "_getiter_": _counted_iter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence, "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": _write, "_inplacevar_": _inplacevar, "_tick_": _tick, "_print_": PrintCollector,
}
BASE_GLOBALS = {
    **PLAIN_GLOBALS, "_getattr_": _guarded_getattr, "_getitem_": limits.item, "_inplacevar_": limits.inplacevar,
    "_binop_": limits.binop, "_format_": limits.formatted,
    "__builtins__": {**_BUILTINS, "pow": limits.guarded_pow, "sum": limits.guarded_sum,
                     "sorted": limits.guarded_sorted, "repr": limits.guarded_repr, **limits.GUARDED_TYPES},
}
_RESERVED = set(BASE_GLOBALS) | set(HELPERS)


def _with_budget(fn, *args):
    token = _budget.set(limits.Budget()) if _budget.get() is None else None
    try:
        return fn(*args)
    finally:
        if token is not None:
            _budget.reset(token)


def _scope(context: dict, external_context: dict | None) -> dict:
    """Task data first, the sandbox's own names last: data can never replace a guard or the budget."""
    guards = BASE_GLOBALS if _size_guards.get() else PLAIN_GLOBALS
    return {**HELPERS, **(external_context or {}), **context, **guards}


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluates and executes diagram code in the sandbox; task data is the only state it sees."""

    def evaluate(self, expression, context, external_context=None):
        return _with_budget(eval, compile_eval(expression), _scope(context, external_context))

    def execute(self, script, context, external_context=None):
        scope = _scope(context, external_context)
        _with_budget(exec, compile_exec(script), scope)
        external = external_context or {}
        for key, value in scope.items():
            if key in _RESERVED or key in external or callable(value):
                continue
            context[key] = value
        for key in [k for k in context if k not in scope]:
            del context[key]
        return True

    def call_service(self, context, **kwargs):
        raise SandboxViolation("service calls go through the engine")


ServiceHandler = Callable[[object, str, dict], dict]
_service_handler: ContextVar[ServiceHandler | None] = ContextVar("xieshang_service_handler", default=None)


class ScriptEngine(PythonScriptEngine):
    """SpiffWorkflow's script engine on the sandbox; service tasks call the handler set by the runtime."""

    def __init__(self):
        super().__init__(environment=RestrictedEnvironment())

    def evaluate(self, task, expression, external_context=None):
        """SpiffWorkflow's evaluation, then the bounds of what a timer or a cardinality asks for (OutOfBounds)."""
        value = super().evaluate(task, expression, external_context)
        check_evaluated(task, expression, value)
        return value

    def validate(self, expression):
        compile_eval(expression) if "\n" not in expression.strip() else compile_exec(expression)

    def call_service(self, task, operation_name=None, operation_params=None, **kwargs):
        handler = _service_handler.get()
        if handler is None:
            raise SandboxViolation(f"no service handler for {operation_name}")
        params = {key: spec["value"] for key, spec in (operation_params or {}).items()}
        return json.dumps(handler(task, operation_name, params))


def service_handler(handler: ServiceHandler | None):
    """Set the service handler for the current context; returns the token to reset it."""
    return _service_handler.set(handler)


def reset_service_handler(token) -> None:
    """Undo `service_handler`."""
    _service_handler.reset(token)
