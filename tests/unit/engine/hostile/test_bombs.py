"""Big-integer and big-sequence bombs stop at the size bounds before any C-level work, in every place code lives."""

from __future__ import annotations

import time
from xml.sax.saxutils import escape

import pytest

from engine.errors import ScriptError
from tests.unit.engine.hostile.support import PLACE, PLACES, SAFE, Where, counts, dump, write_bundle
from tests.unit.engine.hostile.test_runtime import refuse_at_run_time

BOMBS = {   # each ran for seconds to minutes (or ran out of memory) before the size guards
    "power": "3 ** 10 ** 8",
    "power-of-ten": "10 ** 10 ** 7",
    "power-builtin": "pow(3, 10 ** 8)",
    "shift": "1 << 10 ** 10",
    "string-repeat": "'a' * 10 ** 10",
    "list-repeat": "[0] * 10 ** 9",
    "builtin-over-repeat": "sum(map(ord, 'a' * 6 * 10 ** 7))",
    "int-to-str": "str(10 ** 100000)",
    "padding": "'x'.ljust(10 ** 10)",
    "fstring-width": "f'{1:>{10 ** 9}}'",
    "percent-width": "'%0999999999d' % 1",
    "join": "','.join(['a' * 10 ** 6] * 30)",
}
SIZE_STOPS = ("size budget exceeded", "memory budget exceeded", "CPU budget exceeded")


def in_place(place: Where, bomb: str) -> str:
    """`bomb` as code of the kind `place` holds: a statement for scripts, an expression of the right use elsewhere."""
    if place.key in {"script", "pre", "post"}:
        return f"boom = {bomb}\n{SAFE[place.key]}"
    if place.key == "condition":
        return f"({bomb}) == 1"
    return f"{SAFE[place.key]} if ({bomb}) else {SAFE[place.key]}"


@pytest.mark.parametrize("bomb", list(BOMBS))
@pytest.mark.parametrize("place", PLACES, ids=lambda p: p.key)
def test_a_bomb_is_stopped_at_once_naming_the_element(place, bomb, sqlite_service, tmp_path):
    started = time.process_time()     # CPU spent here: a bomb burns CPU; waiting for a core under load does not count
    error = refuse_at_run_time(sqlite_service, place, in_place(place, BOMBS[bomb]), tmp_path)
    assert any(stop in str(error) for stop in SIZE_STOPS), str(error)
    assert time.process_time() - started < 3


def test_the_issue_bomb_in_a_script_is_refused_in_milliseconds(sqlite_service, tmp_path):
    bundle = write_bundle(tmp_path / "bundle", script="greeting = 'hello' if 3 ** (3 * 10 ** 7) > 0 else 'x'")
    sqlite_service.deploy([bundle], actor="owner")
    started = time.process_time()     # CPU spent here: a bomb burns CPU; waiting for a core under load does not count
    with pytest.raises(ScriptError, match=r"script_task: script stopped: \*\* 将产生约 47,548,8\d\d 位的整数"):
        sqlite_service.start_instance("hostile", {})
    assert time.process_time() - started < 1


GROWTH = {   # each step is legal; together they would take gigabytes, so the allocation budget stops them
    "doubling-string": "s = 'ab'\nfor i in range(60):\n    s = s + s\ngreeting = 'hello'",
    "copies-kept": "kept = []\nfor i in range(999):\n    kept.append([0] * 900000)\ngreeting = 'hello'",
    "slices-kept": "big = [0] * 900000\nkept = []\nfor i in range(999):\n    kept.append(big[:])\ngreeting = 'hello'",
    "augmented": "s = 'ab'\nfor i in range(60):\n    s *= 2\ngreeting = 'hello'",
    "replace-doubling": "s = 'a'\nfor i in range(60):\n    s = s.replace('a', 'aa')\ngreeting = 'hello'",
    "extend-doubling": "s = [0]\nfor i in range(60):\n    s.extend(s)\ngreeting = 'hello'",
    "list-copies-kept": "big = [0] * 900000\nkept = []\nfor i in range(999):\n    kept.append(list(big))\n"
                        "greeting = 'hello'",
    "split-copies-kept": "big = 'a b ' * 200000\nkept = []\nfor i in range(999):\n    kept.append(big.split())\n"
                         "greeting = 'hello'",
    "set-unions-kept": "big = set(range(999))\nkept = []\nfor i in range(999):\n    for j in range(999):\n"
                       "        kept.append(big | big)\n"
                       "greeting = 'hello'",
    "sum-of-lists": "greeting = 'hello' if sum([[0] * 1000] * 1000, []) else 'x'",
}


@pytest.mark.parametrize("name", list(GROWTH))
def test_growth_step_by_step_is_stopped_too(name, sqlite_service, tmp_path):
    error = refuse_at_run_time(sqlite_service, PLACE["script"], GROWTH[name], tmp_path)
    assert "budget exceeded" in str(error) or "sum() 只能用于数字" in str(error)


ORDINARY = {   # what diagrams really do keeps working under the guards
    "arithmetic": ("n = 2 ** 64 * 3 + (7 << 3) - 5 % 3", {"n": 2 ** 64 * 3 + (7 << 3) - 5 % 3}),
    "strings": ("n = 'ab' * 3 + '%05d' % 42 + f'{3.14159:.2f}' + ', '.join(['a', 'b']).ljust(6, '.')",
                {"n": "ababab000423.14a, b.."}),
    "lists": ("n = sorted([3, 1] * 2)[1:3] + [0] * 2\nn.extend([9])\nm = sum(n)", {"n": [1, 3, 0, 0, 9], "m": 13}),
    "augmented": ("n = 3\nn **= 2\nn *= 2\nn <<= 1\nn %= 7\nn += 1\nn -= 1\nn //= 2", {"n": 0}),
    "builtin-types": ("n = [isinstance('a', str), isinstance([], list), str.upper('a'), list('ab'), dict(a=1), "
                      "sorted(set([2, 1])), tuple([1]), {1} | {2}, dict.fromkeys(['k'])]",
                      {"n": [True, True, "A", ["a", "b"], {"a": 1}, [1, 2], (1,), {1, 2}, {"k": None}]}),
    "big-but-bounded": ("n = len(str(3 ** 8000)) + pow(3, 10 ** 6, 1000)", {"n": 3817 + 1}),
}


@pytest.mark.parametrize("name", list(ORDINARY))
def test_ordinary_code_is_not_refused(name):
    from engine.bpmn.scripting import RestrictedEnvironment

    code, expected = ORDINARY[name]
    context: dict = {}
    RestrictedEnvironment().execute(code, context)
    assert {k: context[k] for k in expected} == expected


MI_TEMPLATE = """\
<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="http://x">
  <bpmn:process id="fanout" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="each" name="Each">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics isSequential="true">
        <bpmn:loopCardinality>{cardinality}</bpmn:loopCardinality>
      </bpmn:multiInstanceLoopCharacteristics>
      <bpmn:script>done = True</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="each" />
    <bpmn:sequenceFlow id="f2" sourceRef="each" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.mark.parametrize("bomb", ["power", "shift", "builtin-over-repeat", "int-to-str"])
def test_a_bomb_in_a_multi_instance_cardinality_is_stopped(bomb, sqlite_service, tmp_path):
    bundle = tmp_path / "fanout"
    bundle.mkdir()
    (bundle / "fanout.bpmn").write_text(MI_TEMPLATE.format(cardinality=escape(f"2 if ({BOMBS[bomb]}) else 1")))
    sqlite_service.deploy([bundle], actor="owner")
    before = dump(sqlite_service), counts(sqlite_service)
    started = time.process_time()     # CPU spent here: a bomb burns CPU; waiting for a core under load does not count
    with pytest.raises(ScriptError) as refused:
        sqlite_service.start_instance("fanout", {})
    assert time.process_time() - started < 3
    assert refused.value.element_id == "each" and "budget exceeded" in str(refused.value)
    assert (dump(sqlite_service), counts(sqlite_service)) == before


TEXT_BOMBS = {   # one big string referred to many times: small to build, huge as text
    "str-of-shared": "s = 'a' * 10 ** 5\nn = len(str([s] * 10))",
    "fstring-of-shared": "s = 'a' * 10 ** 5\nn = len(f'{[s] * 10}')",
    "percent-of-shared": "s = 'a' * 10 ** 5\nn = len('%s' % ([s] * 10,))",
    "repr-nested": "row = [0] * 900\nn = len(repr([row] * 900))",
}


@pytest.mark.parametrize("name", list(TEXT_BOMBS))
def test_text_of_a_container_is_bounded(name):
    from engine.bpmn.scripting import BudgetExceeded, RestrictedEnvironment

    with pytest.raises(BudgetExceeded, match="size budget exceeded"):
        RestrictedEnvironment().execute(TEXT_BOMBS[name], {})
