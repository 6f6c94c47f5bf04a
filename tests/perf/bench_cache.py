"""The built SQLite bench database kept between runs: building a million task rows takes minutes, reading them does
not. A file is reused while the generator's parameters and the sources that shape its contents (the generators, the
demo directory, the process bundle, the kept counters) are unchanged; otherwise it is built again and the stale files
of the same kind are removed. Schema changes do not rebuild it: the copy handed out is migrated to the newest
revision, as a production database would be (the cached file is upgraded in place first, so that runs once).

Where: `$XIESHANG_BENCH_CACHE`, else `$XDG_CACHE_HOME/xieshang/bench`, else `~/.cache/xieshang/bench`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("engine/store/open_counts.py", "engine/store/task_counts.py", "tests/perf/inbox_data.py",
           "tests/perf/bench_data.py", "tests/perf/figures_bench.py", "tests/perf/bench_cache.py",
           "domain/consultation/demo.py", "domain/consultation/demo_data.py",
           "domain/consultation/figure_counts.py", "processes/consultation")


def cache_dir() -> Path:
    """The folder the built databases are kept in."""
    if os.environ.get("XIESHANG_BENCH_CACHE"):
        return Path(os.environ["XIESHANG_BENCH_CACHE"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "xieshang" / "bench"


def fingerprint(**parameters) -> str:
    """A hash of the parameters and of every source file that decides what the built database holds."""
    digest = hashlib.sha256(repr(sorted(parameters.items())).encode())
    for name in SOURCES:
        path = ROOT / name
        for file in sorted(path.rglob("*") if path.is_dir() else [path]):
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(ROOT)).encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def database(kind: str, target: Path, build: Callable[[Path], None], **parameters) -> bool:
    """Put a copy of the cached database `kind` for `parameters` at `target`, building it with `build(path)` first
    when missing or stale, and migrating it to the newest revision; returns whether the cache was used."""
    from alembic.util import CommandError

    from engine.store import db

    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    cached = folder / f"{kind}-{fingerprint(**parameters)}.db"
    hit = cached.exists()
    if hit:
        try:
            db.upgrade(f"sqlite:///{cached}")   # no-op when current; else the new migrations run once, here
        except CommandError:                    # stamped with a revision this code does not have: build again
            hit = False
    if not hit:
        for stale in folder.glob(f"{kind}-*.db*"):
            stale.unlink()
        partial = cached.with_suffix(".db.partial")
        build(partial)
        partial.rename(cached)          # only a finished build is ever found
    shutil.copyfile(cached, target)
    return hit
