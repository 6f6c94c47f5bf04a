"""The inbox bench's database (tests/perf/inbox_bench.py): the bulk projection of tests/perf/bench_data.py plus the
claimable tasks of OFFICES, `rows` task rows in all. On SQLite the built file is kept between runs by
tests/perf/bench_cache.py; on PostgreSQL (`prepared_postgres`) it is built with COPY into a fresh database each run.
Apart from the timing code so that changing how the inbox is timed does not build the million rows again.
"""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from pathlib import Path

from domain.services import Services
from engine.clock import FrozenClock
from engine.store import open_counts, task_counts
from tests.perf import bench_cache
from tests.perf.bench_data import NOW, TASK_COLUMNS, build_scale, seeded
from tests.perf.bulk_load import load_rows, settle, settle_counts

# (who, their role and unit, the task they hold claimable, the figures' name, the share of all rows added for them:
# 100,000 and 10,000 at a million rows)
OFFICES = (("office", "office", "county", "triage", "office", 10),
           ("organizer_xunchang", "organizer", "township_xunchang", "define_topic", "township", 100))


def _sqlite_stamp(value):
    return None if value is None else value.isoformat(" ", "microseconds")


def _office_rows(parsed, rows: int, version_rows: int, sqlite: bool, seed: int = 11):
    """Claimable (ready, unheld) rows for OFFICES, due times spread over four months around NOW, 2 % without one.
    Times as the database takes them: SQLite's stored text, or naive UTC datetimes for PostgreSQL's COPY."""
    rng, now, day = random.Random(seed), NOW.replace(tzinfo=None), timedelta(days=1)
    _stamp = _sqlite_stamp if sqlite else (lambda value: value)
    for _, role, unit, spec_id, _, share in OFFICES:
        n = rows // share
        info = parsed.elements[spec_id]
        form = parsed.form(spec_id)[2]
        for _ in range(n):
            due = None if rng.random() < 0.02 else now + rng.uniform(-60, 60) * day
            created = (due or now) - rng.uniform(3, 15) * day
            yield (str(uuid.UUID(int=rng.getrandbits(128), version=4)), rng.randrange(version_rows) + 1, spec_id,
                   info.name, info.step, info.lane_id, role, unit, "county" if unit == "county" else "township",
                   None, form, "ready", _stamp(due), _stamp(due and due - day), _stamp(due and due + 3 * day), 0,
                   _stamp(created), None, None)


def _build(url: str, rows: int) -> None:
    """Demo directory, the consultation deployed, `rows` task rows in all: the bulk projection and OFFICES' tasks."""
    services, version_id, parsed = seeded(url)
    try:
        bind = services.engine.sessions.kw["bind"]
        extra = sum(rows // office[-1] for office in OFFICES)
        info = build_scale(bind, parsed, version_id, max(1, rows // 10), rows - extra)
        sqlite = bind.dialect.name == "sqlite"
        raw = bind.raw_connection()
        try:
            load_rows(raw, sqlite, "human_task", TASK_COLUMNS, _office_rows(parsed, rows, max(1, rows // 20), sqlite))
            raw.commit()
            if not sqlite:
                settle(raw)                         # statistics and visibility map with OFFICES' rows in them
        finally:
            raw.close()
        with services.engine.unit_of_work() as session:
            open_counts.rebuild(session)
            task_counts.rebuild(session)
        settle_counts(bind)
        print(f"   built {info.instances:,} instances, {info.tasks + extra:,} human tasks in {info.seconds:.1f} s")
    finally:
        services.close()


def prepared(rows: int, folder: str) -> tuple[Services, str, bool]:
    """Services on a copy of the cached inbox database of `rows` task rows (built first when missing)."""
    path = Path(folder) / "inbox.db"
    reused = bench_cache.database(f"inbox-{rows}", path, lambda target: _build(f"sqlite:///{target}", rows),
                                  rows=rows, offices=OFFICES)
    url = f"sqlite:///{path}"
    return Services.from_url(url, FrozenClock(NOW)), url, reused


def prepared_postgres(rows: int, server, name: str = "inbox", template: str | None = None) -> tuple[Services, str]:
    """Services on a new database `name` of `server` (tests/support/pg.py) holding the same `rows` task rows (copied
    from an empty migrated `template` database when given, which saves the migrations)."""
    url = server.create_database(name, template=template)
    _build(url, rows)
    return Services.from_url(url, FrozenClock(NOW)), url


