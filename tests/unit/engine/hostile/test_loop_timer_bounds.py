"""Timers, multi-instance sizes and loops are bounded: refused at deploy when written literally, stopped fast at
run time when computed, the element named, nothing half-saved (issue 8: each measured bomb is a case here)."""

from __future__ import annotations

import math

import pytest

from engine.bpmn import bounds
from engine.errors import Problem, ScriptError, SpecInvalid
from tests.unit.engine.hostile import bounds_support as b
from tests.unit.engine.hostile.support import ACTOR, counts, dump, write_bundle

DURATION = "计时器时长超过 10 年 (timer duration {!r} is longer than 10 years)"
DATE = "计时器日期须在 1970 至 2100 年之间 (timer date {!r} is not between 1970 and 2100)"
CYCLES = "循环计时器重复 {0} 次，超过上限 1000 次 (timer cycle repeats {0} times; the limit is 1000)"
NO_COUNT = "循环计时器须写明次数 R<n>（n 不超过 1000）(timer cycle {!r} needs a repeat count R<n>, n at most 1000)"
INSTANCES = "多实例数量 {0} 超过上限 1000 (a multi-instance of {0} instances; the limit is 1000)"
ITERATIONS = "循环已执行 1000 次，达到上限 1000 次 (the loop ran 1000 times; the limit is 1000)"
MAXIMUM = "循环上限 loopMaximum={0} 超过 1000 次 (loopMaximum {0} is over the limit of 1000)"

# Literal bombs: each is refused by `validate` and `deploy`, naming the element and the line.
LITERAL = {
    "duration-99999999999Y": (b.timer('"P99999999999Y"'), DURATION.format("P99999999999Y")),
    "date-year-9999": (b.timer('"9999-12-31T00:00:00"', "timeDate"), DATE.format("9999-12-31T00:00:00")),
    "date-year-1900": (b.timer('"1900-01-01T00:00:00"', "timeDate"), DATE.format("1900-01-01T00:00:00")),
    "cycle-999999999": (b.timer('"R999999999/PT1S"', "timeCycle"), CYCLES.format(999999999)),
    "cycle-unbounded": (b.timer('"R/P1D"', "timeCycle"), NO_COUNT.format("R/P1D")),
    "cycle-far-start": (b.timer('"R3/3000-01-01T00:00:00/P1D"', "timeCycle"), DATE.format("3000-01-01T00:00:00")),
    "cardinality-4000": (b.cardinality("4000"), INSTANCES.format(4000)),
    "cardinality-10**9": (b.cardinality("10**9"), INSTANCES.format(10**9)),
    "cardinality-10**100-sequential": (b.cardinality("10 ** 100", sequential=True), INSTANCES.format("10^15+")),
    "loop-maximum-5000": (b.standard_loop(maximum=5000), MAXIMUM.format(5000)),
}


@pytest.mark.parametrize("bomb, message", LITERAL.values(), ids=list(LITERAL))
def test_a_literal_bomb_is_refused_at_deploy(service, tmp_path, bomb, message):
    bundle = b.write_bundle(tmp_path / "bundle", bomb)
    assert service.validate([bundle]) == [Problem("bounds.bpmn", 13, "bomb", message)]
    before = counts(service)
    with pytest.raises(SpecInvalid):
        service.deploy([bundle], actor="owner")
    assert counts(service) == before


LEGITIMATE = {
    "duration-10-years": b.timer('"P10Y"'),
    "duration-unquoted-name": b.timer("follow_up_after"),    # computed: checked when it runs
    "date-2100": b.timer('"2100-12-31T00:00:00"', "timeDate"),
    "cycle-6-days": b.timer('"R6/P1D"', "timeCycle"),
    "cycle-short-period": b.timer('"R2/PT0.1S"', "timeCycle"),
    "cardinality-1000": b.cardinality("1000"),
    "cardinality-computed": b.cardinality("n * 1000"),
    "loop-maximum-1000": b.standard_loop(maximum=1000),
}


@pytest.mark.parametrize("bomb", LEGITIMATE.values(), ids=list(LEGITIMATE))
def test_timers_and_loops_within_bounds_deploy(sqlite_service, tmp_path, bomb):
    assert sqlite_service.validate([b.write_bundle(tmp_path / "bundle", bomb)]) == []


def test_a_loop_ended_only_by_its_condition_deploys_with_a_notice(sqlite_service, tmp_path):
    bundle = b.write_bundle(tmp_path / "bundle", b.standard_loop("counted < 3", script="counted = counted + 1"),
                            prepare="counted = 0")
    problems, notices = sqlite_service.review([bundle])
    assert problems == []
    assert [(n.element_id, n.message) for n in notices] == [("bomb", bounds.LOOP_NOTICE)]
    sqlite_service.deploy([bundle], actor="owner")
    instance_id = sqlite_service.start_instance("bounds", {})
    assert sqlite_service.show_instance(instance_id).status == "completed"


# Computed bombs: only running them can tell; the start that hits one creates nothing.
COMPUTED = {
    "duration-10**11-years": (b.timer('"P" + str(10**11) + "Y"'), "", DURATION.format(f"P{10**11}Y")),
    "date-year-9999": (b.timer('str(9999) + "-01-01T00:00:00"', "timeDate"), "", DATE.format("9999-01-01T00:00:00")),
    "cycle-10**9": (b.timer('"R" + str(10**9) + "/PT1S"', "timeCycle"), "", CYCLES.format(10**9)),
    "cardinality-4000": (b.cardinality("n"), "n = 4000", INSTANCES.format(4000)),
    "cardinality-10**9": (b.cardinality("n"), "n = 10**9", INSTANCES.format(10**9)),
    "cardinality-10**9-sequential": (b.cardinality("n", sequential=True), "n = 10**9", INSTANCES.format(10**9)),
    "collection-100000": (b.collection("items"), "items = [i for i in range(500) for j in range(200)]",
                          INSTANCES.format(100_000)),
    "collection-100000-sequential": (b.collection("items", sequential=True),
                                     "items = [i for i in range(500) for j in range(200)]", INSTANCES.format(100_000)),
    "always-true-loop": (b.standard_loop("True"), "", ITERATIONS),
    "always-true-loop-counting": (b.standard_loop("counted > 0", script="counted = counted + 1"), "counted = 0",
                                  ITERATIONS),
}


@pytest.mark.parametrize("bomb, prepare, message", COMPUTED.values(), ids=list(COMPUTED))
def test_a_computed_bomb_is_stopped_when_it_runs_and_nothing_is_kept(service, tmp_path, bomb, prepare, message):
    bundle = b.write_bundle(tmp_path / "bundle", bomb, prepare=prepare or "ready = True")
    assert service.validate([bundle]) == []
    service.deploy([bundle], actor="owner")
    before = dump(service)
    with pytest.raises(ScriptError) as stopped:
        service.start_instance("bounds", {})
    assert (stopped.value.element_id, stopped.value.detail) == ("bomb", message)
    assert dump(service) == before


def test_a_bomb_met_while_completing_a_task_leaves_the_instance_as_it_was(service, tmp_path):
    bundle = write_bundle(tmp_path / "bundle", timer='"P" + str(10**11) + "Y"')
    service.deploy([bundle], actor="owner")
    instance_id = service.start_instance("hostile", {})
    [task] = service.list_tasks(instance_id=instance_id)
    before = dump(service)
    with pytest.raises(ScriptError) as stopped:
        service.complete_task(task.id, {"approved": True}, ACTOR)
    assert (stopped.value.element_id, stopped.value.detail) == ("wait", DURATION.format(f"P{10**11}Y"))
    assert dump(service) == before
    assert [t.id for t in service.list_tasks(instance_id=instance_id)] == [task.id]


def test_legitimate_loops_and_instances_still_run(sqlite_service, tmp_path):
    for name, (bomb, prepare) in {
        "mi": (b.cardinality("n"), "n = 1000"),
        "items": (b.collection("items"), "items = list(range(999))"),
        "sequential": (b.cardinality("n", sequential=True), "n = 1000"),
        "loop": (b.standard_loop(maximum=1000), ""),
        "timer": (b.timer('"P" + str(10) + "Y"'), ""),
    }.items():
        sqlite_service.deploy([b.write_bundle(tmp_path / name, bomb, prepare=prepare or "ready = True")], actor="o")
        instance_id = sqlite_service.start_instance("bounds", {})
        assert sqlite_service.show_instance(instance_id).status == ("waiting" if name == "timer" else "completed")


def test_literal_numbers_are_folded_without_computing_anything_big():
    assert bounds.literal_number("4000") == 4000
    assert bounds.literal_number("10**9") == 10**9
    assert bounds.literal_number("-(2 * 3) + 1") == -5
    assert bounds.literal_number("10 ** 10 ** 10") == math.inf
    assert bounds.literal_number("n") is None
    assert bounds.literal_number("4000.0") is None
