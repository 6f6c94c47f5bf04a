"""With PROMETHEUS_MULTIPROC_DIR set, several web processes count together: two processes answer requests and
sweep, a third is scraped, and its /metrics adds up what all of them did."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families

from engine.store import db
from tests.conftest import ROOT

# One web process: the app from the environment (as webui.wsgi builds it), `requests` GETs of /healthz and one
# 404, one sweep; or, with `scrape`, print the /metrics exposition.
PROCESS = """
import sys
from engine.clock import FrozenClock
from engine.sweep import run_sweep
from domain.services import Services
from engine.settings import Settings
from webui import create_app
from datetime import datetime, UTC
settings = Settings.from_env()
services = Services.from_url(settings.database_url, FrozenClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC)))
app = create_app({"SETTINGS": settings, "SERVICES": services, "SECRET_KEY": "mp", "TESTING": True})
client = app.test_client()
if sys.argv[1] == "scrape":
    print(client.get("/metrics").get_data(as_text=True))
else:
    for _ in range(int(sys.argv[1])):
        assert client.get("/healthz").status_code == 200
    assert client.get("/instances/7").status_code == 302        # not signed in: to the sign-in page
    run_sweep(services.engine)
"""


def run(env: dict, argument: str) -> str:
    done = subprocess.run([sys.executable, "-c", PROCESS, argument], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow          # three Python processes that each build the app: 10-30 s on a busy machine
def test_several_processes_are_added_up(tmp_path):
    url = f"sqlite:///{tmp_path / 'mp.db'}"
    db.upgrade(url)
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared), "XIESHANG_DATABASE_URL": url,
           "XIESHANG_INSTANCE_PATH": str(tmp_path)}
    run(env, "3")
    run(env, "4")
    values = {(s.name, tuple(sorted(s.labels.items()))): s.value
              for family in text_string_to_metric_families(run(env, "scrape")) for s in family.samples}
    assert values[("xieshang_http_requests_total", (("method", "GET"), ("route", "/healthz"),
                                                    ("status", "200")))] == 7
    assert values[("xieshang_http_requests_total", (("method", "GET"), ("route", "/instances/<int:instance_id>"),
                                                    ("status", "302")))] == 2
    assert values[("xieshang_http_request_duration_seconds_count", (("method", "GET"), ("route", "/healthz")))] == 7
    assert values[("xieshang_sweep_duration_seconds_count", (("outcome", "ok"),))] == 2
    assert values[("xieshang_database_up", ())] == 1
    assert len(list(shared.glob("*.db"))) >= 2          # each process kept its own file
