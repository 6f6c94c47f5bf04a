"""Schemathesis against the API's own OpenAPI document: no request, with a token or without, gets a 5xx, and every
answer matches the document (status codes, content type, headers, response schemas)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
import schemathesis
from hypothesis import given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from domain.consultation.demo import load_demo
from engine.clock import FrozenClock
from engine.settings import Settings
from engine.store import db
from tests.conftest import CONSULTATION, DATA, make_services
from tests.support.consultation import SCENARIOS
from webui import create_app, openapi

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection]
DOCUMENT = openapi.build()
OPERATIONS = [(method.upper(), path) for path, ops in DOCUMENT["paths"].items() for method in ops]
# The same examples every run (CI reproduces what a developer saw), no example database left behind, and no
# per-example deadline (each example is a full request through the app and SQLite).
EXAMPLES = settings(max_examples=100, deadline=None, database=None, derandomize=True)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """An app on its own SQLite database with demo people, consultations at several steps and an office token."""
    folder = tmp_path_factory.mktemp("api")
    url = f"sqlite:///{folder / 'xieshang.db'}"
    db.upgrade(url)
    services = make_services(url, FrozenClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC)))
    engine = services.engine
    with engine.unit_of_work() as session:
        load_demo(session, engine.clock.now())
    engine.deploy([CONSULTATION], actor="owner")
    engine.deploy([DATA / "mini"], actor="owner")
    instances = [engine.start_instance("consultation", SCENARIOS["township"].intake(), actor="m001") for _ in range(3)]
    triage = engine.list_tasks(instance_id=instances[0])[0]
    engine.complete_task(triage.id, {"decision": "accept", "tier": "township", "org_unit": "township_xunchang"},
                         "office")
    engine.claim_task(engine.list_tasks(instance_id=instances[1])[0].id, "office")
    unlimited = dict.fromkeys(("login_account", "login_address", "token_issue", "intake", "track"), "100000 per second")
    app = create_app({"SETTINGS": Settings(url, None, folder, DATA), "SERVICES": services, "TESTING": True,
                      "SECRET_KEY": "test", "RATE_LIMITS": unlimited})     # the limits have tests of their own
    world = SimpleNamespace(app=app, engine=engine, token=services.accounts.issue_token("office"),
                            instances=instances, tasks=[t.id for t in engine.list_tasks()])

    def live_token() -> str:
        """The office token, issued again if a generated DELETE /tokens/{id} revoked it."""
        if services.accounts.user_for_token(world.token) is None:
            world.token = services.accounts.issue_token("office")
        return world.token

    world.live_token = live_token
    yield world
    engine.sessions.kw["bind"].dispose()


@pytest.fixture(scope="module")
def api_schema(world):
    """The document as the app serves it. The tests send the Authorization header themselves, and the API ignores
    query parameters it does not know (as most do), so neither is generated as "invalid" input."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", world.app)
    schema.config.generation.update(with_security_parameters=False, allow_extra_parameters=False)
    return schema


def _cases(operation, world, example: dict | None):
    """Positive and negative cases; path ids are also real ones, and the documented example body is sent too."""
    ids = [{}]
    if "{task_id}" in operation.path:
        ids += [{"task_id": task} for task in world.tasks]
    elif "{instance_id}" in operation.path:
        ids += [{"instance_id": instance} for instance in world.instances]
    strategies = [operation.as_strategy(mode, path_parameters=fixed or None) for mode in GenerationMode
                  for fixed in ids]
    if example is not None:
        strategies.append(operation.as_strategy(body=example))
    return st.one_of(strategies)


# One pytest test per operation, driven by Hypothesis directly: schemathesis' own `schema.parametrize()` over a
# fixture (schemathesis.pytest.from_fixture) fails under pytest 9 (it reads `Function._nodeid`, which is gone).
@pytest.mark.parametrize("authenticated", [True, False], ids=["token", "anonymous"])
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_server_errors_and_answers_match_the_document(world, api_schema, method, path, authenticated):
    operation = api_schema[path][method]
    example = (DOCUMENT["paths"][path][method.lower()].get("requestBody") or {}).get("content", {}) \
        .get("application/json", {}).get("example")

    @given(case=_cases(operation, world, example))
    @EXAMPLES
    def run(case):
        headers = {"Authorization": f"Bearer {world.live_token()}"} if authenticated else None
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()
