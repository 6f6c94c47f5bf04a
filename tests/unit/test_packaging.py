"""`pip install .` is enough: the web server, worker and beat import with only the declared distributions; the
command line registers every command in one table and loads Flask or Celery only for the commands that need them."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution

import pytest
from packaging.requirements import Requirement

from tests.conftest import ROOT

SERVED = ["webui.wsgi", "cli.serving", "gunicorn.app.wsgiapp", "gunicorn.workers.sync", "gunicorn.workers.gthread"]
WORKERS = ["tasks.celery_app", "tasks.jobs", "cli.workers", "celery.apps.worker", "celery.apps.beat",
           "celery.concurrency.prefork", "kombu.transport.redis", "celery.backends.redis"]
POSTGRES = ["sqlalchemy.dialects.postgresql.psycopg", "psycopg"]
# Hides every installed distribution outside the allowed set, as if it were not installed (optional imports
# fall back as they would in a fresh environment; a hard import fails), then imports the modules.
PROBE = """
import importlib, json, re, sys
from importlib.metadata import packages_distributions
allowed = set(json.loads(sys.argv[1]))
canonical = lambda name: re.sub(r"[-_.]+", "-", name).lower()
hidden = {top for top, owners in packages_distributions().items()
          if top not in sys.modules and not {canonical(o) for o in owners} & allowed}

class Hide:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in hidden:
            raise ModuleNotFoundError(f"No module named {name!r} (not a declared dependency)", name=name)

sys.meta_path.insert(0, Hide())
for module in sys.argv[2:]:
    importlib.import_module(module)
"""


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(root: str, extras: tuple[str, ...] = ()) -> set[str]:
    """`root` and every distribution it requires with `extras`, transitively, as the installed metadata says."""
    allowed, done, todo = set(), set(), [(root, frozenset(extras))]
    while todo:
        name, wanted = todo.pop()
        if (canonical(name), wanted) in done:
            continue
        done.add((canonical(name), wanted))
        allowed.add(canonical(name))
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:
            continue
        for line in requires:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in ("", *wanted)):
                todo.append((requirement.name, frozenset(requirement.extras)))
    return allowed


@pytest.mark.parametrize(("modules", "extras"), [(SERVED, ()), (WORKERS, ()), (POSTGRES, ("postgres",))],
                         ids=["web", "worker-and-beat", "postgres-extra"])
def test_the_processes_import_with_only_the_declared_distributions(modules, extras):
    allowed = json.dumps(sorted(declared("xieshang", extras)))
    result = subprocess.run([sys.executable, "-c", PROBE, allowed, *modules], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


# A plain engine command through the console script's group: the registry imports a command's module only when
# that command runs, so Flask, Werkzeug and Celery stay unimported (a cron `xieshang sweep` starts fast).
LAZY = """
import sys
from click.testing import CliRunner
from cli.main import cli
for args in (["init"], ["tasks", "--json"], ["errors"], ["sweep", "--json"], ["calendar", "show", "2026"],
             ["outbox", "--json"], ["notifications", "--as", "office", "--json"]):
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, (args, result.output)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {"flask", "werkzeug", "celery", "webui", "tasks"})
assert not loaded, loaded
"""


def test_engine_commands_import_neither_flask_nor_celery(tmp_path):
    env = {**os.environ, "XIESHANG_DATABASE_URL": f"sqlite:///{tmp_path / 'lazy.db'}",
           "XIESHANG_INSTANCE_PATH": str(tmp_path)}
    env.pop("XIESHANG_REDIS_URL", None)
    result = subprocess.run([sys.executable, "-c", LAZY], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_every_registered_command_loads_under_its_own_name():
    from cli.main import COMMANDS, cli, load_command

    assert cli.list_commands(None) == sorted(COMMANDS)
    for name in COMMANDS:
        assert load_command(name).name == name
    assert load_command("no-such-command") is None


def test_our_own_commands_are_not_entry_points():
    """The registry in cli/main.py is the one list: pyproject declares only the console script."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["scripts"] == {"xieshang": "cli.main:main"}
    assert "entry-points" not in pyproject["project"]


@pytest.mark.parametrize("path", sorted((ROOT / "cli").glob("*.py")), ids=lambda p: p.name)
def test_command_modules_do_not_import_the_group(path):
    """No import circle: only cli/main.py knows the group; command modules share helpers through cli/common.py."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert "cli.main" not in imported
