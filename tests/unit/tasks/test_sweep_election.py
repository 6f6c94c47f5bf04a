"""The embedded sweep election: of many sweep threads on one lock file exactly one sweeps; when it stops (or its
process dies: the kernel drops the lock) another takes over."""

from __future__ import annotations

import time

from tasks.scheduler import ElectedSweepThread


class CountingSweeper(ElectedSweepThread):
    """The election as it is; the sweep itself only counted (what a sweep does is tested in test_sweep.py)."""

    def run_once(self) -> list[int]:
        self.done = getattr(self, "done", 0) + 1
        return []


def wait_for(condition, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.02)


def test_of_three_sweep_threads_on_one_lock_exactly_one_sweeps_and_another_takes_over(tmp_path):
    lock = tmp_path / "instance" / "sweep.lock"
    threads = [CountingSweeper(engine=None, lock_path=lock, interval=0.05) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: any(t.sweeps >= 10 for t in threads))
        leaders = [t for t in threads if t.leading]
        assert len(leaders) == 1
        assert [t.sweeps for t in threads if t is not leaders[0]] == [0, 0]
        leaders[0].stop()
        leaders[0].join(timeout=10)
        assert not leaders[0].is_alive() and not leaders[0].leading
        rest = [t for t in threads if t is not leaders[0]]
        wait_for(lambda: any(t.sweeps >= 5 for t in rest))
        assert sum(t.leading for t in rest) == 1
        assert sorted(t.sweeps == 0 for t in rest) == [False, True]
    finally:
        for thread in threads:
            thread.stop()
            thread.join(timeout=10)
