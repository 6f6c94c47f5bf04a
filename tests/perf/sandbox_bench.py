"""The size guards' cost on the shipped process: engine time with the guarded sandbox vs the same sandbox unguarded."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

from engine.bpmn import runtime, scripting
from tests.perf.bench_data import TimedEngine, fresh
from tests.support.consultation import run_through_engine

COMMANDS = ("start_instance", "complete_task", "fire_due_timers")
TARGET_OVERHEAD = 0.10


@dataclass
class Overhead:
    """Report lines and figures of the sandbox comparison."""

    lines: list[str] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)


class _ScriptClock:
    """Adds up wall time spent inside the sandbox's evaluate and execute while installed."""

    def __init__(self):
        self.seconds = 0.0
        self.calls = 0
        self.environment = runtime.SCRIPT_ENGINE.environment

    def __enter__(self):
        for name in ("evaluate", "execute"):
            original = getattr(type(self.environment), name)

            def timed(*args, _original=original, **kwargs):
                start = time.perf_counter()
                try:
                    return _original(self.environment, *args, **kwargs)
                finally:
                    self.seconds += time.perf_counter() - start
                    self.calls += 1
            setattr(self.environment, name, timed)
        return self

    def __exit__(self, *exc):
        for name in ("evaluate", "execute"):
            delattr(self.environment, name)


def _one(engine, scenario: str, guarded: bool, scripts: _ScriptClock) -> tuple[float, float]:
    """(seconds in commands, seconds in scripts) of one instance start to end."""
    timed, before = TimedEngine(engine), scripts.seconds
    token = None if guarded else scripting.without_size_guards()
    try:
        run_through_engine(timed, fresh(scenario))
    finally:
        if token is not None:
            scripting.reset_size_guards(token)
    return sum(timed.seconds[name] for name in COMMANDS), scripts.seconds - before


def sandbox_overhead(engine, scenario: str, per_repeat: int, repeats: int) -> Overhead:
    """Median over repeats of guarded/unguarded command time, the sides alternating instance by instance."""
    ratios, script_ratios, guarded_ms, plain_ms, calls = [], [], [], [], 0
    with _ScriptClock() as scripts:
        _one(engine, scenario, True, scripts)     # warm-up: both compiled forms in the cache
        _one(engine, scenario, False, scripts)
        calls_before = scripts.calls
        for _ in range(repeats):
            sums = {True: [0.0, 0.0], False: [0.0, 0.0]}
            for _ in range(per_repeat):
                for guarded in (True, False):
                    commands, in_scripts = _one(engine, scenario, guarded, scripts)
                    sums[guarded][0] += commands
                    sums[guarded][1] += in_scripts
            ratios.append(sums[True][0] / sums[False][0])
            script_ratios.append(sums[True][1] / sums[False][1])
            guarded_ms.append(sums[True][1] / per_repeat * 1e3)
            plain_ms.append(sums[False][1] / per_repeat * 1e3)
        calls = (scripts.calls - calls_before) // (2 * repeats * per_repeat)
    ratio = statistics.median(ratios)
    out = Overhead()
    out.lines.append(f"  engine time in commands, guarded / unguarded sandbox: {ratio:.3f}; per repeat: "
                     + " ".join(f"{r:.3f}" for r in ratios))
    out.lines.append(f"  inside scripts and expressions ({calls} evaluations per instance): guarded "
                     f"{statistics.median(guarded_ms):.2f} ms vs unguarded {statistics.median(plain_ms):.2f} ms "
                     f"per instance (x{statistics.median(script_ratios):.2f})")
    verdict = "met" if ratio - 1 <= TARGET_OVERHEAD else "MISSED"
    out.lines.append(f"  sandbox overhead = {ratio - 1:+.1%} of the engine's time (target <= {TARGET_OVERHEAD:.0%}: "
                     f"{verdict})")
    out.figures = {"sandbox_overhead": round(ratio - 1, 4)}
    return out
