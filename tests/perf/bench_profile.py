"""`make bench --profile`: a cProfile of the engine path, its top cumulative entries and each engine component's
share of the run (ms per task completion)."""

from __future__ import annotations

import cProfile
import io
import os
import pstats

from engine.service import Engine
from tests.perf.bench_data import fresh
from tests.perf.section import Section
from tests.support.consultation import run_through_engine


def profile_engine(engine: Engine, scenario: str, instances: int) -> Section:
    """cProfile of the engine path: top cumulative entries and the share of each engine component."""
    profiler, tasks = cProfile.Profile(), 0
    profiler.enable()
    for _ in range(instances):
        tasks += len(run_through_engine(engine, fresh(scenario))[1])
    profiler.disable()
    buffer = io.StringIO()
    stats = pstats.Stats(profiler, stream=buffer)
    stats.sort_stats("cumulative").print_stats(14)
    total = max(ct for _, _, _, ct, _ in stats.stats.values())
    out = Section(f"cProfile of the engine path ({instances} x '{scenario}', {tasks} task completions)")
    out.lines += ["  " + line.replace(os.getcwd() + "/", "").replace(".venv/lib/python3.11/site-packages/", "")
                  for line in buffer.getvalue().splitlines() if line.strip() and "Ordered by" not in line][1:]
    parts = (("complete_task", "engine/service.py", "complete_task"), ("  load", "engine/store/access.py", "load"),
             ("    state loads", "engine/bpmn/serialization.py", "loads"),
             ("    VersionCache.for_version", "engine/store/versions.py", "for_version"),
             ("  clean_submission (jsonschema)", "engine/bpmn/forms.py", "clean_submission"),
             ("  runtime.run (SpiffWorkflow + sandbox)", "engine/bpmn/runtime.py", "run"),
             ("  _save", "engine/service.py", "_save"), ("    state dumps", "engine/bpmn/serialization.py", "dumps"),
             ("    projection.sync", "engine/store/projection.py", "sync"),
             ("    deadlines.sync", "engine/deadlines.py", "sync"),
             ("    consultation on_save (hook)", "domain/consultation/hooks.py", "on_save"),
             ("      records.sync_consultation", "domain/consultation/records.py", "sync_consultation"),
             ("      figure_counts.refresh_saved", "domain/consultation/figure_counts.py", "refresh_saved"),
             ("      moments.tell", "domain/consultation/moments.py", "tell"),
             ("  Session.commit", "sqlalchemy/orm/session.py", "commit"),
             ("list_tasks (driver read)", "engine/service.py", "list_tasks"),
             ("show_instance (driver read)", "engine/service.py", "show_instance"),
             ("start_instance", "engine/service.py", "start_instance"),
             ("all SQLAlchemy Session.execute", "sqlalchemy/orm/session.py", "_execute_internal"),
             ("all sqlite3 execute", "~", "<method 'execute' of 'sqlite3.Cursor' objects>"),
             ("all json decoding", "json/decoder.py", "raw_decode"))
    out.add("  component (cumulative, profiled)            ms per task completion   share of run")
    for label, path, name in parts:
        ct = sum(v[3] for (file, _, fn), v in stats.stats.items() if fn == name and file.endswith(path))
        out.add(f"  {label:44} {ct / tasks * 1e3:10.2f} {ct / total:18.0%}")
    return out
