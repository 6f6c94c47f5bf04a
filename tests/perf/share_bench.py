"""What the figure counters cost each consultation save: engine time with the consultation's on_save keeping the
figure shares (domain.consultation.figure_counts.refresh_saved) vs the same saves with that step left out."""

from __future__ import annotations

import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from domain.consultation import figure_counts
from tests.perf.bench_data import TimedEngine, fresh
from tests.support.consultation import run_through_engine

COMMANDS = ("start_instance", "complete_task", "fire_due_timers")


@dataclass
class ShareCost:
    """Report lines and figures of the comparison."""

    lines: list[str] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)

    @property
    def lines_figures(self) -> tuple[list[str], dict[str, float]]:
        """(lines, figures), as a bench Section takes them."""
        return self.lines, self.figures


class _RefreshClock:
    """Counts the refresh calls and adds up the wall time inside them; `kept` False makes them do nothing."""

    def __init__(self):
        self.seconds, self.calls, self.kept = 0.0, 0, True
        self.original = figure_counts.refresh_saved

    def __call__(self, *args):
        if not self.kept:
            return None
        start = time.perf_counter()
        try:
            return self.original(*args)
        finally:
            self.seconds += time.perf_counter() - start
            self.calls += 1


@contextmanager
def _installed():
    clock = _RefreshClock()
    figure_counts.refresh_saved = clock           # the hook looks the function up at each save
    try:
        yield clock
    finally:
        figure_counts.refresh_saved = clock.original


def _one(engine, scenario: str, clock: _RefreshClock, kept: bool) -> float:
    """Seconds in the engine's commands for one instance start to end."""
    timed, clock.kept = TimedEngine(engine), kept
    run_through_engine(timed, fresh(scenario))
    return sum(timed.seconds[name] for name in COMMANDS)


def figure_share_cost(engine, scenario: str, per_repeat: int, repeats: int) -> ShareCost:
    """Median over repeats of command time with / without the figure shares, the sides alternating instance by
    instance; and the mean time inside one refresh."""
    ratios, per_save = [], []
    with _installed() as clock:
        _one(engine, scenario, clock, True)          # warm-up
        _one(engine, scenario, clock, False)
        for _ in range(repeats):
            sums = {True: 0.0, False: 0.0}
            seconds, calls = clock.seconds, clock.calls
            for _ in range(per_repeat):
                for kept in (True, False):
                    sums[kept] += _one(engine, scenario, clock, kept)
            ratios.append(sums[True] / sums[False])
            per_save.append((clock.seconds - seconds) / max(1, clock.calls - calls) * 1e3)
        saves = clock.calls // (1 + repeats * per_repeat)
    ratio = statistics.median(ratios)
    out = ShareCost()
    out.lines.append(f"  engine time in commands, with / without the figure shares: {ratio:.3f}; per repeat: "
                     + " ".join(f"{r:.3f}" for r in ratios))
    out.lines.append(f"  inside figure_counts.refresh_saved: {statistics.median(per_save):.2f} ms per save, {saves} "
                     "saves per instance")
    out.figures = {"figure_shares_overhead": round(ratio - 1, 4),
                   "figure_shares_ms_per_save": round(statistics.median(per_save), 3)}
    return out
