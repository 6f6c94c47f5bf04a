"""The demo directory with hand-made plans for the plan tests: who is who, and consultations on plan items."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from sqlalchemy import select

from domain.consultation.demo import load_demo
from domain.consultation.models import Consultation
from domain.plans.start import person
from engine.store.models import HumanTask, ProcessInstance, ProcessVersion

NOW = datetime(2026, 6, 1, 4, tzinfo=UTC)
_ids = itertools.count(1)


def load_directory(services) -> None:
    """The demo org units and accounts."""
    with services.engine.unit_of_work() as session:
        load_demo(session, NOW)


def who(services, username: str):
    """The account as the policy reads it."""
    with services.engine.reading() as session:
        return person(session, username)


def consultation(session, item_id: int | None, status: str = "in_progress", held: bool = False,
                 tier: str = "township", unit: str = "township_xunchang") -> int:
    """A consultation record (and its instance) carrying out `item_id`; `held`: its meeting task was completed."""
    version = session.scalar(select(ProcessVersion).limit(1))
    if version is None:
        version = ProcessVersion(process_id="consultation", content_hash="x", files={}, created_at=NOW)
        session.add(version)
        session.flush()
    instance = ProcessInstance(version_id=version.id, process_id="consultation", status="running",
                               state="{}", tier=tier, org_unit_code=unit, revision=1, step=4,
                               created_at=NOW, updated_at=NOW)
    session.add(instance)
    session.flush()
    session.add(Consultation(instance_id=instance.id, title="t", tier=tier, org_unit_code=unit, status=status,
                             plan_item_id=item_id, created_at=NOW, updated_at=NOW))
    if held:
        session.add(HumanTask(id=f"plan-t{next(_ids)}-{instance.id}", instance_id=instance.id, tier=tier,
                              org_unit_code=unit, task_spec="hold_meeting", name="m", step=4, status="completed",
                              created_at=NOW, completed_at=NOW, escalation_level=0))
    return instance.id
