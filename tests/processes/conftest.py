"""Fixtures for the process tests."""

from __future__ import annotations

import pytest

from tests.conftest import CONSULTATION, empty_database, seeded_wanted


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:
    """The root's `db_url`; for a test that uses `consultation`, a copy of a database already seeded as it seeds."""
    if seeded_wanted(request, "consultation"):
        return request.getfixturevalue("seeded_templates").copy(request, request.param, (CONSULTATION,),
                                                                 tmp_path / "xieshang.db")
    return empty_database(request, request.param, tmp_path / "xieshang.db")


@pytest.fixture
def consultation(request, service, seeded_templates):
    """The engine service with the demo directory and the consultation deployed, on SQLite and PostgreSQL."""
    seeded_templates.take(request, service, (CONSULTATION,))
    return service


@pytest.fixture
def consultation_services(consultation, services):
    """The services whose engine is `consultation` (accounts, participation, extensions)."""
    return services
