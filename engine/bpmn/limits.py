"""Size and allocation bounds of diagram code: guarded operators, methods and built-ins checked before C-level work."""

from __future__ import annotations

import math
import operator
import re
import time
from contextvars import ContextVar
from numbers import Number

TICK_LIMIT = 2_000_000        # loop iterations one evaluation may take
SECONDS_LIMIT = 2.0           # wall time one evaluation may take, checked every 1,000 iterations and on big values
MAX_INT_BITS = 65_536         # one integer: about 19,700 decimal digits (str() stops at 4,300 anyway)
MAX_ITEMS = 1_000_000         # one string, list or tuple: characters or elements
ALLOC_LIMIT = 20_000_000      # items and integer bytes one evaluation may make through guarded work, in all
_SIZED = (str, bytes, bytearray, list, tuple)
_SIZED_TYPES = frozenset(_SIZED)     # exact types: cheap, and task data holds only these


class BudgetExceeded(Exception):
    """A script ran longer than its budget (endless loop) or asked for a value beyond the size bounds."""


class Budget:
    """What one evaluation has used: loop iterations, time, and items made through guarded work."""

    __slots__ = ("ticks", "deadline", "allocated")

    def __init__(self):
        self.ticks = 0
        self.allocated = 0
        self.deadline = time.monotonic() + SECONDS_LIMIT

    def tick(self):
        self.ticks += 1
        if self.ticks % 1000 == 0 and (self.ticks > TICK_LIMIT or time.monotonic() > self.deadline):
            raise BudgetExceeded(f"stopped after {self.ticks} loop iterations (CPU budget exceeded)")

    def charge(self, units: int):
        self.allocated += units
        if self.allocated > ALLOC_LIMIT:
            raise BudgetExceeded(f"累计生成的数据超过 {ALLOC_LIMIT:,} 个单位 (memory budget exceeded: more than "
                                 f"{ALLOC_LIMIT:,} items made in one evaluation)")
        if units >= 10_000 and time.monotonic() > self.deadline:
            raise BudgetExceeded(f"stopped after {self.ticks} loop iterations (CPU budget exceeded)")


budget: ContextVar[Budget | None] = ContextVar("xieshang_script_budget", default=None)


def tick():
    """Count one loop iteration or call against the current evaluation's budget."""
    current = budget.get()
    if current is not None:
        current.tick()


def _too_big(what: str, size: int, limit: int, unit: str) -> BudgetExceeded:
    zh = "位的整数" if unit == "bits" else "个元素/字符"
    return BudgetExceeded(f"{what} 将产生约 {size:,} {zh}，超过上限 {limit:,} (size budget exceeded: {what} would "
                          f"make about {size:,} {unit}, more than {limit:,})")


def _charge(units: int) -> None:
    current = budget.get()
    if current is not None:
        current.charge(units)


def _int_result(what: str, bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise _too_big(what, bits, MAX_INT_BITS, "bits")
    _charge(bits // 8)


def _items_result(what: str, length: int) -> None:
    if length > MAX_ITEMS:
        raise _too_big(what, length, MAX_ITEMS, "items")
    _charge(length)


def _is_int(value) -> bool:
    return type(value) is int or type(value) is bool     # True ** n is as cheap as 1 ** n


def _power(a, b, what="**"):
    if _is_int(a) and _is_int(b) and b > 0 and abs(a) > 1:
        _int_result(what, int(b * math.log2(abs(a))) + 1)
    return a ** b


def _repeat(seq, count, what="*"):
    _items_result(what, len(seq) * max(count, 0))
    return seq * count


def _multiply(a, b, what="*"):
    if _is_int(a) and _is_int(b):
        if a and b:
            _int_result(what, a.bit_length() + b.bit_length())
    elif type(a) in _SIZED_TYPES and _is_int(b):
        return _repeat(a, b, what)
    elif type(b) in _SIZED_TYPES and _is_int(a):
        return _repeat(b, a, what)
    return a * b


def _lshift(a, b, what="<<"):
    if _is_int(a) and _is_int(b) and a and b > 0:
        _int_result(what, a.bit_length() + b)
    return a << b


def _add(a, b, what="+"):
    if type(a) in _SIZED_TYPES and type(b) in _SIZED_TYPES:
        _items_result(what, len(a) + len(b))
    return a + b


# `%` formatting and f-string specs: a width or precision is the size of the result.
_SPEC_NUMBER = re.compile(r"\d+")
_PERCENT_FIELD = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?")


def _check_spec(what: str, spec: str) -> None:
    for number in _SPEC_NUMBER.findall(spec):
        if len(number) > 7 or int(number) > MAX_ITEMS:
            raise _too_big(what, int(number) if len(number) < 20 else 10 ** 19, MAX_ITEMS, "items")


def _modulo(a, b, what="%"):
    if type(a) is str or type(a) is bytes:
        for width, precision in _PERCENT_FIELD.findall(a if isinstance(a, str) else a.decode("latin-1")):
            if "*" in (width, precision):
                raise BudgetExceeded("% 格式中不允许使用 * 宽度 (a * width in % formatting is not allowed)")
            _check_spec(what, f"{width}.{precision}")
        values = b if type(b) is tuple else (b,)
        for value in values:
            text_size(value, what)
        _items_result(what, len(a) + sum(len(v) for v in values if isinstance(v, _SIZED)))
    return a % b


def _union(a, b, what="|"):
    if type(a) in _CONTAINERS and type(b) in _CONTAINERS:
        _items_result(what, len(a) + len(b))
    return a | b


_BINARY = {"**": _power, "*": _multiply, "<<": _lshift, "+": _add, "%": _modulo, "|": _union}
_PLAIN = {"-": operator.sub, "/": operator.truediv, "//": operator.floordiv, ">>": operator.rshift,
          "&": operator.and_, "^": operator.xor}


def binop(op: str, a, b):
    """`a op b` after checking the size of its result (the target of the sandbox's operator rewrite)."""
    return _BINARY[op](a, b)


def inplacevar(op: str, x, y):
    """`x op= y` for names, guarded like `binop`."""
    name = op[:-1]
    if name in _BINARY:
        return _BINARY[name](x, y, op)
    if name in _PLAIN:
        return _PLAIN[name](x, y)
    raise BudgetExceeded(f"{op} is not allowed")


_CONTAINERS = frozenset({list, tuple, set, frozenset, dict})


def text_size(value, what: str) -> None:
    """Refuse turning `value` into text when that text would pass MAX_ITEMS (a container can hold one big string many
    times over); the walk stops as soon as it knows, so it is bounded too."""
    if type(value) not in _CONTAINERS:
        return
    size, stack = 0, [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is bytes:
            size += len(item) + 2
        elif kind in _CONTAINERS:
            size += 2 + 2 * len(item)
            if size <= MAX_ITEMS:
                stack.extend(item.items() if kind is dict else item)
        elif kind is int:
            size += item.bit_length() // 3 + 1
        else:
            size += 8
        if size > MAX_ITEMS:
            raise _too_big(what, size, MAX_ITEMS, "items")
    _charge(size)


def formatted(value, conversion: int, spec: str) -> str:
    """One f-string field (`{value!r:>10}`) with its width, precision and text bounded."""
    text_size(value, "f-string")
    if conversion == ord("r"):
        value = repr(value)
    elif conversion == ord("s"):
        value = str(value)
    elif conversion == ord("a"):
        value = ascii(value)
    if spec:
        _check_spec("f-string", spec)
    return format(value, spec)


class BuiltinMeta(type):
    """A built-in type for diagram code: the same type to isinstance; calling it checks and charges the copy."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, cls.base)

    def __subclasscheck__(cls, sub):
        return issubclass(sub, cls.base)

    def __call__(cls, *args, **kwargs):
        if args:
            if cls.base is str:
                text_size(args[0], "str()")
            elif type(args[0]) in _SIZED_TYPES or type(args[0]) in _CONTAINERS:
                _items_result(f"{cls.base.__name__}()", len(args[0]))
        return cls.base(*args, **kwargs)


def _builtin(base: type) -> type:
    return BuiltinMeta(f"guarded_{base.__name__}", (), {"base": base, "__doc__": f"`{base.__name__}`, guarded."})


GUARDED_TYPES = {base.__name__: _builtin(base) for base in (str, list, tuple, set, dict)}
UNGUARDED = {guarded: guarded.base for guarded in GUARDED_TYPES.values()}   # attribute access goes to the real type


def guarded_repr(value) -> str:
    """`repr` with the size of its text bounded."""
    text_size(value, "repr()")
    return repr(value)


def guarded_pow(base, exponent, modulus=None):
    """`pow` with the size of its result bounded; three-argument pow bounded by exponent × modulus size."""
    if modulus is None:
        return _power(base, exponent, "pow()")
    if _is_int(exponent) and _is_int(modulus) and exponent.bit_length() * modulus.bit_length() > MAX_INT_BITS * 64:
        raise _too_big("pow()", exponent.bit_length() * modulus.bit_length(), MAX_INT_BITS * 64, "bits")
    return pow(base, exponent, modulus)


def guarded_sum(items, start=0):
    """`sum` of numbers only: adding up strings or lists copies them again and again."""
    if not isinstance(start, Number):
        raise BudgetExceeded("sum() 只能用于数字 (sum() adds numbers only; use ''.join or a comprehension)")
    if isinstance(items, _SIZED):
        _charge(len(items))
    return sum(items, start)


def guarded_sorted(items, *, key=None, reverse=False):
    """`sorted`, charged for the copy it makes."""
    result = sorted(items, key=key, reverse=reverse)
    _items_result("sorted()", len(result))
    return result


def item(obj, key):
    """`obj[key]`; a slice is a copy and is charged for its length."""
    if type(key) is slice and type(obj) in _SIZED_TYPES:
        _items_result("[:]", len(range(*key.indices(len(obj)))))
    return obj[key]


# Methods whose result can be far bigger than their input.
def _width(method, what):
    def guarded(width, *args):
        _items_result(what, width if _is_int(width) else 0)
        return method(width, *args)
    return guarded


def _replace(text, method):
    def guarded(old, new, count=-1):
        found = text.count(old) if count < 0 else min(count, text.count(old))
        _items_result("replace()", len(text) + found * max(len(new) - len(old), 0))
        return method(old, new, count)
    return guarded


def _join(separator, method):
    def guarded(parts):
        parts = list(parts)
        _items_result("join()", len(separator) * len(parts) + sum(len(p) for p in parts if isinstance(p, _SIZED)))
        return method(parts)
    return guarded


def _expandtabs(text, method):
    def guarded(tabsize=8):
        _items_result("expandtabs()", len(text) * max(tabsize, 1))
        return method(tabsize)
    return guarded


def _translate(text, method):
    def guarded(table):
        longest = max((len(v) for v in table.values() if isinstance(v, _SIZED)), default=1) \
            if isinstance(table, dict) else 1
        _items_result("translate()", len(text) * max(longest, 1))
        return method(table)
    return guarded


def _extend(target, method):
    def guarded(items):
        _items_result("extend()", len(target) + (len(items) if isinstance(items, _SIZED) else 0))
        return method(items)
    return guarded


def _charged(size: int, method):
    def guarded(*args, **kwargs):
        _charge(size)
        return method(*args, **kwargs)
    return guarded


def guard_method(obj, name: str, value):
    """The bounded version of a size-growing method of a string, bytes or list; a method of a big value is charged
    for a copy of it on each call (upper, split, copy …); other attributes as they are."""
    kind = type(obj)
    if kind is str or kind is bytes or kind is bytearray:
        if name in {"ljust", "rjust", "center", "zfill"}:
            return _width(value, f"{name}()")
        wrapper = {"replace": _replace, "join": _join, "expandtabs": _expandtabs, "translate": _translate}.get(name)
        if wrapper:
            return wrapper(obj, value)
    elif kind is list and name == "extend":
        return _extend(obj, value)
    elif kind not in _CONTAINERS:
        return value
    return _charged(len(obj), value) if len(obj) > 1000 and callable(value) else value
