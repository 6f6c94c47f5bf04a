"""Fixtures for the integration tests: the real `xieshang` executable on a fresh database."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

XIESHANG = shutil.which("xieshang", path=str(Path(sys.executable).parent))
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
def xieshang(tmp_path):
    """One subprocess per command on a fresh SQLite database with the demo people and processes (no demo
    consultations): stdout parsed as JSON when asked for; a nonzero exit fails the test with what it printed."""
    env = {**os.environ, "XIESHANG_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
           "XIESHANG_INSTANCE_PATH": str(tmp_path)}

    def run(*args, now: datetime = START, as_json: bool = True):
        command = [XIESHANG, "--now", now.isoformat(), *args] + (["--json"] if as_json else [])
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stderr}"
        return json.loads(done.stdout) if as_json else done.stdout

    run("init", as_json=False)
    run("demo", "--once", "--no-cases", as_json=False)     # the tests start their own consultations
    return run
