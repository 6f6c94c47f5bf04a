"""`xieshang tasks` through the real executable: it pages through every ready task instead of stopping silently at a
fixed number, and says on stderr when --limit cuts the list."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.integration.conftest import START, XIESHANG
from tests.support.consultation import SCENARIOS


@pytest.fixture
def cli(tmp_path):
    """run(*args) → the finished subprocess (stdout, stderr, returncode) on one fresh demo database."""
    env = {**os.environ, "XIESHANG_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
           "XIESHANG_INSTANCE_PATH": str(tmp_path)}

    def run(*args):
        done = subprocess.run([XIESHANG, "--now", START.isoformat(), *args], env=env, capture_output=True, text=True,
                              timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        return done

    run("init")
    run("demo", "--once", "--no-cases")
    return run


@pytest.mark.slow
def test_tasks_pages_through_everything_and_says_when_it_cuts(cli):
    intake = json.dumps(SCENARIOS["county"].intake(), ensure_ascii=False)
    started = {json.loads(cli("start", "consultation", "--data", intake, "--as", "m001", "--json").stdout)
               ["instance_id"] for _ in range(3)}
    every = cli("tasks", "--all", "--page-size", "1", "--json")
    listed = json.loads(every.stdout)
    assert sorted(task["instance_id"] for task in listed) == sorted(started)          # each once, across 3 pages
    assert len({task["id"] for task in listed}) == 3 and every.stderr == ""
    cut = cli("tasks", "--as", "office", "--limit", "2", "--page-size", "1")
    assert [line.split()[0] for line in cut.stdout.splitlines()] == [task["id"] for task in listed[:2]]
    assert "只列出前 2 项，还有更多" in cut.stderr and "use --all" in cut.stderr
    exact = cli("tasks", "--limit", "3", "--page-size", "2", "--json")
    assert json.loads(exact.stdout) == listed and exact.stderr == ""                 # nothing left: nothing said
