"""Fixtures for the process tests."""

from __future__ import annotations

import pytest

from domain.consultation.demo import load_demo
from tests.conftest import CONSULTATION


@pytest.fixture
def consultation(service):
    """The engine service with the demo directory and the consultation deployed, on SQLite and PostgreSQL."""
    with service.unit_of_work() as session:
        load_demo(session, service.clock.now())
    service.deploy([CONSULTATION], actor="owner")
    return service


@pytest.fixture
def consultation_services(consultation, services):
    """The services whose engine is `consultation` (accounts, participation, extensions)."""
    return services
