"""The built package carries what an installed xieshang needs beside its code, and finds it there: the bundled
process definitions (processes/), migrations, templates, static files and translations."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "instance", "build", "*.egg-info", "__pycache__", "*.pyc",
                                    ".pytest_cache", ".ruff_cache", "node_modules", "test-output", "tests")
FIND = """
import json, sys
from engine.settings import Settings
import engine, processes
settings = Settings.from_env({"XIESHANG_INSTANCE_PATH": sys.argv[1]})
print(json.dumps({"engine": engine.__file__, "processes": str(settings.processes_path),
                  "bundles": sorted(p.name for p in settings.processes_path.iterdir() if any(p.glob("*.bpmn")))}))
"""
CLI = "import sys; from cli.main import main; sys.argv[0] = 'xieshang'; main()"


@pytest.mark.slow
def test_the_wheel_ships_processes_and_the_installed_code_finds_and_deploys_them(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)          # built from a copy: no build/ left in the checkout
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"),
                            str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    [wheel] = (tmp_path / "dist").glob("xieshang-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {p.relative_to(ROOT).as_posix() for p in (ROOT / "processes").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    assert {"processes/consultation/consultation.bpmn", "processes/consultation/forms/intake.schema.json"} <= shipped
    assert shipped <= names, sorted(shipped - names)
    assert {"engine/store/migrations/env.py", "webui/templates/base.html", "webui/static/css/app.css",
            "cli/serving.py", "webui/deployment.py"} <= names
    assert any(n.startswith("engine/store/migrations/versions/") for n in names)
    assert not any(n.startswith("tests/") for n in names)

    site = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site),
                                str(wheel)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr[-3000:]
    env = {**os.environ, "PYTHONPATH": str(site), "XIESHANG_INSTANCE_PATH": str(tmp_path / "instance"),
           "XIESHANG_DATABASE_URL": f"sqlite:///{tmp_path / 'wheel.db'}"}
    for name in ("XIESHANG_PROCESSES_PATH", "XIESHANG_CONFIG", "XIESHANG_REDIS_URL"):
        env.pop(name, None)
    found = subprocess.run([sys.executable, "-c", FIND, str(tmp_path / "instance")], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=120)
    assert found.returncode == 0, found.stderr[-3000:]
    where = json.loads(found.stdout)
    assert Path(where["engine"]).is_relative_to(site), "the checkout was imported, not the installed package"
    assert where["processes"] == str(site / "processes") and where["bundles"] == ["consultation"]
    for args in (["init"], ["demo", "--once"]):
        result = subprocess.run([sys.executable, "-c", CLI, *args], cwd=tmp_path, env=env, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
    assert "deployed consultation version" in result.stderr
