"""The WSGI entry point and what several web processes on one instance folder must agree on (the secret key)."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
import time

import pytest

from engine.clock import CLOCK_OFFSET_FILE_ENV
from engine.settings import Settings
from engine.store import db
from tests.conftest import ROOT
from webui import _secret_key
from webui.deployment import DeploymentError
from webui.wsgi import create_wsgi_app, sweep_interval

RACERS = 6
ROUNDS = 10


def _race_for_the_keys(root: str, barrier, results) -> None:
    for round_ in range(ROUNDS):      # every racer starts each round's fresh folder at the same moment
        barrier.wait()
        folder = f"{root}/instance{round_}"
        results.put((round_, _secret_key(Settings.from_env({"XIESHANG_INSTANCE_PATH": folder}))))


def test_web_processes_starting_together_on_a_fresh_folder_all_sign_with_one_key(tmp_path):
    spawn = multiprocessing.get_context("spawn")     # not fork: the test process may hold other threads' locks
    barrier, results = spawn.Barrier(RACERS), spawn.Queue()
    racers = [spawn.Process(target=_race_for_the_keys, args=(str(tmp_path), barrier, results)) for _ in range(RACERS)]
    for racer in racers:
        racer.start()
    keys: dict[int, set[str]] = {}
    for _ in range(RACERS * ROUNDS):
        round_, key = results.get(timeout=60)
        keys.setdefault(round_, set()).add(key)
    for racer in racers:
        racer.join(timeout=30)
    for round_, seen in sorted(keys.items()):
        assert len(seen) == 1 and len(seen.pop()) >= 32, f"round {round_}: the processes disagree on the key"
        assert (tmp_path / f"instance{round_}" / "secret_key").stat().st_mode & 0o777 == 0o600


def test_a_configured_secret_key_is_used_and_no_key_file_written(tmp_path):
    settings = Settings.from_env({"XIESHANG_INSTANCE_PATH": str(tmp_path), "XIESHANG_SECRET_KEY": "s" * 40})
    assert _secret_key(settings) == "s" * 40
    assert "s" * 40 not in repr(settings)
    assert not (tmp_path / "secret_key").exists()


def sweep_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "xieshang-sweep"]


def stop_sweepers() -> None:
    for thread in sweep_threads():
        thread.stop()
        thread.join(timeout=10)


def test_with_redis_configured_no_web_process_sweeps(sqlite_url, tmp_path):
    app = create_wsgi_app(Settings(sqlite_url, "redis://127.0.0.1:1/0", tmp_path, ROOT / "processes",
                                   secret_key="k" * 40))
    assert app.test_client().get("/login").status_code == 200
    assert sweep_threads() == []


def test_embedded_the_process_joins_the_sweep_election_when_the_app_is_built(sqlite_url, tmp_path):
    app = create_wsgi_app(Settings(sqlite_url, None, tmp_path, ROOT / "processes"), interval=0.2)
    try:
        sweeper = app.extensions["xieshang_sweeper"]
        assert sweep_threads() == [sweeper]
        assert sweeper.lock_path == tmp_path / "sweep.lock"
        deadline = time.monotonic() + 10
        while sweeper.sweeps < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sweeper.leading and sweeper.sweeps >= 2 and sweeper.crashes == 0
        assert (tmp_path / "sweep.lock").read_text(encoding="ascii").strip() == str(os.getpid())
    finally:
        stop_sweepers()


def test_outside_embedded_mode_the_app_refuses_to_start_without_a_secret_key(sqlite_url, tmp_path):
    with pytest.raises(DeploymentError, match="XIESHANG_SECRET_KEY is not set"):
        create_wsgi_app(Settings(sqlite_url, "redis://127.0.0.1:1/0", tmp_path, ROOT / "processes"))
    assert not (tmp_path / "secret_key").exists()


def test_the_app_refuses_a_database_init_has_not_migrated(tmp_path):
    missing = f"sqlite:///{tmp_path / 'missing.db'}"
    with pytest.raises(db.SchemaNotReady, match=r"does not exist: run `xieshang init`"):
        create_wsgi_app(Settings(missing, None, tmp_path, ROOT / "processes"))
    assert not (tmp_path / "missing.db").exists()            # checking creates nothing
    behind = f"sqlite:///{tmp_path / 'behind.db'}"
    db.upgrade(behind, "0013")
    newest = max(path.name[:4] for path in (db.MIGRATIONS / "versions").glob("0*.py"))
    assert newest > "0013"
    with pytest.raises(db.SchemaNotReady, match=rf"at revision 0013, the code needs {newest}\w*: run `xieshang init`"):
        create_wsgi_app(Settings(behind, None, tmp_path, ROOT / "processes"))
    assert sweep_threads() == []


def test_a_sweep_interval_out_of_range_is_refused_with_the_variable_named():
    assert sweep_interval({}) == 5.0 and sweep_interval({"XIESHANG_SWEEP_INTERVAL": "0.5"}) == 0.5
    for bad in ("0", "x", "99999"):
        with pytest.raises(ValueError, match="XIESHANG_SWEEP_INTERVAL must be"):
            sweep_interval({"XIESHANG_SWEEP_INTERVAL": bad})


PROBE = """
from datetime import UTC, datetime
import webui.wsgi as wsgi
assert "app" not in vars(wsgi), "built at import"
from webui import engine_of
print((engine_of(wsgi.app).clock.now() - datetime.now(UTC)).total_seconds())
"""


def test_the_wsgi_app_is_built_from_the_environment_on_first_access_with_its_clock(sqlite_url, tmp_path):
    env = {**os.environ, "XIESHANG_DATABASE_URL": sqlite_url, "XIESHANG_INSTANCE_PATH": str(tmp_path),
           "XIESHANG_REDIS_URL": "redis://127.0.0.1:1/0", "XIESHANG_SECRET_KEY": "k" * 40,
           CLOCK_OFFSET_FILE_ENV: str(tmp_path / "offset")}
    (tmp_path / "offset").write_text("86400", encoding="ascii")
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert 86000 < float(result.stdout) <= 86400
