"""Locust users for the deployment topology: each simulated person works one consultation through all six steps.

Run by tests/support/topology.py (`locust --headless -f <this file>`), never by pytest itself (locust patches the
standard library with gevent). Each user submits a topic through the public intake API, then, until the
consultation ends: reads it as the county office sees it, opens its ready task, reads the inbox of the person the
task is for and completes the task as that person with the answers of tests/support/consultation.py SCENARIOS.
When the consultation waits on a timer (the follow-up visit's 30-90 days) the user moves the clock file every
process reads past it. A complete that fails without an answer (a killed web process) is sent again, unchanged;
the second answer must be a success or a clear 409, never a 5xx. What happened is written as JSON at the end.

Environment: TOPOLOGY_CLOCK_FILE, TOPOLOGY_RESULTS (output path), TOPOLOGY_SCENARIOS (comma-separated names),
TOPOLOGY_USERS (stop when this many consultations ended), TOPOLOGY_PASSWORD.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import gevent
from gevent.lock import Semaphore
from locust import HttpUser, constant, events, task
from locust.exception import StopUser

from engine.clock import LOCAL_TZ
from tests.support.consultation import DATED, SCENARIOS, not_in_the_past

OVERSEER = "office"                 # sees every consultation (the county CPPCC office)
RETRIES = 5                         # sends of one complete before giving up
WAIT_FOR_WORKERS = 120.0            # seconds a consultation may wait for the workers (a timer, the next task)
SCENARIO_NAMES = os.environ.get("TOPOLOGY_SCENARIOS", "township").split(",")
PASSWORD = os.environ.get("TOPOLOGY_PASSWORD", "xieshang-demo")
EXPECTED = int(os.environ.get("TOPOLOGY_USERS", "1"))
FINISHED = {"completed", "cancelled", "error"}     # "waiting" (for a timer) is not finished: the run goes on

_turn = itertools.count()
_tokens: dict[str, str] = {}
_token_lock = Semaphore()
_clock_lock = Semaphore()
RESULTS: dict = {"instances": {}, "completed": [], "resent": [], "redated": [], "unexpected": [],
                 "server_errors": 0, "no_answer": 0}


@events.request.add_listener
def _count_server_errors(request_type, name, response_time, response_length, response=None, exception=None,
                         **kwargs):
    status = getattr(response, "status_code", 0) if response is not None else 0
    if status >= 500:
        RESULTS["server_errors"] += 1
    elif status == 0:                       # the connection broke: no answer at all
        RESULTS["no_answer"] += 1


@events.quitting.add_listener
def _write_results(environment, **kwargs):
    Path(os.environ["TOPOLOGY_RESULTS"]).write_text(json.dumps(RESULTS, ensure_ascii=False), encoding="utf-8")


def fleet_now() -> datetime:
    """What time it is for every process of the deployment (real time plus the clock file's offset)."""
    path = Path(os.environ["TOPOLOGY_CLOCK_FILE"])
    with _clock_lock:
        offset = float(path.read_text(encoding="ascii").strip() or 0) if path.exists() else 0.0
    return datetime.now(UTC) + timedelta(seconds=offset)


def move_clock_past(moment: str) -> None:
    """Make it later than `moment` for every process (written aside and renamed; only ever forward)."""
    path = Path(os.environ["TOPOLOGY_CLOCK_FILE"])
    with _clock_lock:
        wanted = datetime.fromisoformat(moment).timestamp() - time.time() + 1
        current = float(path.read_text(encoding="ascii").strip() or 0) if path.exists() else 0.0
        if wanted > current:
            draft = path.with_suffix(".new")
            draft.write_text(str(wanted), encoding="ascii")
            os.replace(draft, path)


class Person(HttpUser):
    """One consultation from intake to the end, then the user stops."""

    wait_time = constant(0)

    def on_start(self):
        name = SCENARIO_NAMES[next(_turn) % len(SCENARIO_NAMES)]
        self.scenario = dataclasses.replace(SCENARIOS[name], counters={})
        # one connection per request: a reused keep-alive connection the server just closed fails without an answer
        # too, and only a killed process should make the people send again
        self.client.headers["Connection"] = "close"

    def token(self, username: str) -> str:
        """One API token per person for the whole run (signing in is deliberately slow); asked again when no answer
        came back."""
        with _token_lock:
            for _ in range(RETRIES):
                if username in _tokens:
                    break
                with self.client.post("/api/v1/tokens", json={"username": username, "password": PASSWORD},
                                      name="POST /api/v1/tokens", catch_response=True) as response:
                    if response.status_code == 201:
                        _tokens[username] = response.json()["token"]
                        break
                    response.failure(f"token for {username}: {response.status_code} {response.error or ''}")
                    if response.status_code not in (0, 502, 503):
                        break
                gevent.sleep(0.2)
            if username not in _tokens:
                RESULTS["unexpected"].append({"why": f"no token for {username}"})
                raise StopUser()
            return _tokens[username]

    def get(self, path: str, name: str, username: str) -> dict | None:
        """A JSON GET; sent again when no answer came back (a closed keep-alive connection, a killed process)."""
        for _ in range(RETRIES):
            with self.client.get(path, name=name, headers={"Authorization": f"Bearer {self.token(username)}"},
                                 catch_response=True) as response:
                if response.status_code == 200:
                    return response.json()
                response.failure(f"{path}: {response.status_code} {response.error or ''}")
                if response.status_code == 401:          # the token expired (the fleet's clock ran on): a new one
                    _tokens.pop(username, None)
                elif response.status_code not in (0, 502, 503):
                    return None
            gevent.sleep(0.2)
        return None

    @task
    def work_one_consultation(self):
        with self.client.post("/api/v1/intake", json={"data": self.scenario.intake()}, name="POST /api/v1/intake",
                              catch_response=True) as response:
            if response.status_code != 201:
                response.failure(f"intake: {response.status_code} {response.text[:300]}")
                raise StopUser()
            instance_id = response.json()["instance_id"]
        RESULTS["instances"][str(instance_id)] = {"scenario": self.scenario.name, "status": "running"}
        waited_since = time.monotonic()
        while time.monotonic() - waited_since < WAIT_FOR_WORKERS:
            instance = self.get(f"/api/v1/instances/{instance_id}", "GET /api/v1/instances/<id>", OVERSEER)
            if instance is None:
                gevent.sleep(0.2)
                continue
            RESULTS["instances"][str(instance_id)]["status"] = instance["status"]
            if instance["status"] in {"completed", "cancelled", "error"}:
                break
            ready = [t for t in instance["tasks"] if t["status"] == "ready"]
            if ready:
                self.complete(ready[0]["id"], instance)
                waited_since = time.monotonic()
            elif instance.get("next_timer_at"):
                move_clock_past(instance["next_timer_at"])
                gevent.sleep(1.0)               # beat sends a sweep every 5 s; a worker fires the timer
            else:
                gevent.sleep(0.5)               # the workers are still moving the consultation on
        if sum(1 for i in RESULTS["instances"].values() if i["status"] in FINISHED) >= EXPECTED:
            gevent.spawn_later(0.1, self.environment.runner.quit)
        raise StopUser()

    def complete(self, task_id: str, instance: dict) -> None:
        """Open the task, read the holder's inbox, complete it; resend when no answer came back."""
        view = self.get(f"/api/v1/tasks/{task_id}", "GET /api/v1/tasks/<id>", OVERSEER)
        if view is None or not view["candidates"]:
            RESULTS["unexpected"].append({"task": task_id, "why": "no task view or no candidates"})
            return
        actor = view["candidates"][0]
        self.get("/api/v1/tasks?tab=assigned", "GET /api/v1/tasks", actor)
        # no revision: the workers' sweeps (escalations as the shared clock jumps) change consultations all the time,
        # and a person's form is for the task, not for the consultation's every other change
        # the plan's meeting date and the 督办时限 may not lie in the past: a month after the fleet's today, when asked
        scenario = not_in_the_past(self.scenario, fleet_now())
        body = {"data": scenario.answer(view["task_spec"], instance["data"])}
        headers = {"Authorization": f"Bearer {self.token(actor)}"}
        for attempt in range(1, RETRIES + 1):
            with self.client.post(f"/api/v1/tasks/{task_id}/complete", json=body, headers=headers,
                                  name="POST /api/v1/tasks/<id>/complete", catch_response=True) as response:
                status = response.status_code
                if status == 200:
                    RESULTS["completed"].append(task_id)
                elif status == 409 and attempt > 1:      # the first send had gone through: a clear answer
                    response.success()
                    RESULTS["completed"].append(task_id)
                elif status in (0, 502, 503):            # no answer (the process serving it died): send again
                    response.failure(f"no answer ({status}): {response.error}")
                    gevent.sleep(0.2)
                    continue
                elif status == 401:                      # the token expired (the fleet's clock ran on): a new one
                    response.failure(f"token of {actor} expired")
                    _tokens.pop(actor, None)
                    headers = {"Authorization": f"Bearer {self.token(actor)}"}
                    continue
                elif status == 422 and (moved := redated(body["data"], _field_errors(response))):
                    # another person moved the fleet's clock past the date between filling and sending: the form
                    # says so, and the person picks a later date, as anyone would
                    response.failure(f"{view['task_spec']}: {', '.join(moved)} in the past after the clock moved")
                    RESULTS["redated"].append({"task": task_id, "fields": moved})
                    continue
                else:
                    response.failure(f"{view['task_spec']}: {status} {response.text[:300]}")
                    RESULTS["unexpected"].append({"task": task_id, "spec": view["task_spec"], "status": status,
                                                  "attempt": attempt, "body": response.text[:500]})
            if attempt > 1:
                RESULTS["resent"].append({"task": task_id, "attempts": attempt, "status": status,
                                          "code": _code(response)})
            return
        RESULTS["unexpected"].append({"task": task_id, "why": f"no answer after {RETRIES} sends"})


def redated(data: dict, errors: dict) -> list[str]:
    """Move the dates the server found in the past after the fleet's today (as `not_in_the_past` would have, had
    the clock not moved on since the form was filled); returns the fields moved, none when another field failed."""
    if not errors or not set(errors) <= set(DATED):
        return []
    today = fleet_now().astimezone(LOCAL_TZ).date()
    for name in errors:
        data[name] = (today + DATED[name]).isoformat()
    return sorted(errors)


def _field_errors(response) -> dict:
    try:
        return response.json().get("field_errors") or {}
    except ValueError:
        return {}


def _code(response) -> str | None:
    try:
        return response.json().get("code")
    except ValueError:
        return None
