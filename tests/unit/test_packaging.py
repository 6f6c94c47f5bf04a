"""`pip install .` is enough: the web server, worker and beat import with only the declared distributions."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, distribution

import pytest
from packaging.requirements import Requirement

from tests.conftest import ROOT

SERVED = ["webui.wsgi", "gunicorn.app.wsgiapp", "gunicorn.workers.sync", "gunicorn.workers.gthread"]
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
