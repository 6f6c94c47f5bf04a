"""A hand-built overdue board: projection rows written directly (never through the engine), with the counts each
unit must show at NOW (Wednesday 10 June 2026, 09:00 Beijing; at risk means due before Friday 12 June 09:00)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from domain.consultation.demo import load_demo
from engine.store.models import HumanTask, ProcessInstance, ProcessVersion
from tests.conftest import CONSULTATION

NOW = datetime(2026, 6, 10, 1, 0, tzinfo=UTC)


def local(day: int, hour: int = 9, month: int = 6) -> datetime:
    """A Beijing time in 2026 as UTC."""
    return datetime(2026, month, day, hour - 8, 0, tzinfo=UTC)


# (task id, instance key, step, role, org unit, assignee, due, status)
TASKS = (
    ("t-county-late", "county", 2, "organizer", "county", "organizer_county", local(5), "ready"),     # 3 days late
    ("t-county-risk", "county", 3, "organizer", "county", None, local(11), "ready"),
    ("t-committee-ok", "committee", 2, "organizer", "committee_economy", None, local(20), "ready"),
    ("t-hall-late", "xunchang", 4, "organizer", "township_xunchang_hall", "organizer_xunchang", local(9), "ready"),
    ("t-xunchang-open", "xunchang", 1, "organizer", "township_xunchang", None, None, "ready"),
    ("t-gongquan-risk", "gongquan", 3, "organizer", "township_gongquan", None, local(12, 8), "ready"),
    ("t-dept-late", "xunchang", 6, "department", "dept_housing", None, local(1), "ready"),            # 7 days late
    ("t-done-late", "county", 1, "organizer", "county", "organizer_county", local(1), "completed"),
)
INSTANCES = {"county": ("county", "county"), "committee": ("committee", "committee_economy"),
             "xunchang": ("township", "township_xunchang"), "gongquan": ("township", "township_gongquan")}
# unit: (open, overdue, at risk)
EXPECTED = {"county": (2, 1, 1), "committee_economy": (1, 0, 0), "township_xunchang": (2, 1, 0),
            "township_gongquan": (1, 0, 1), "dept_housing": (1, 1, 0)}


def build(engine, demo: bool = True) -> dict[str, int]:
    """Write the fixture (after the demo people, unless `demo` is False); returns instance ids by key."""
    engine.clock.set(NOW)
    with engine.unit_of_work() as session:
        if demo:
            load_demo(session, NOW)
    if demo:
        engine.deploy([CONSULTATION], actor="owner")
    with engine.unit_of_work() as session:
        version_id = session.scalar(select(ProcessVersion.id).where(ProcessVersion.process_id == "consultation"))
        ids = {}
        for key, (tier, unit) in INSTANCES.items():
            row = ProcessInstance(version_id=version_id, process_id="consultation", status="running", state="{}",
                                  tier=tier, org_unit_code=unit, started_by="m001", created_at=local(1, month=5),
                                  updated_at=NOW)
            session.add(row)
            session.flush()
            ids[key] = row.id
        for task_id, key, step, role, unit, assignee, due, status in TASKS:
            session.add(HumanTask(
                id=task_id, instance_id=ids[key], task_spec=task_id, name=f"任务 {task_id}", step=step, role=role,
                org_unit_code=unit, tier=INSTANCES[key][0], assignee=assignee, status=status, due_at=due,
                escalation_level=1 if task_id == "t-dept-late" else 0, created_at=local(1, month=5),
                completed_at=NOW if status == "completed" else None))
    return ids
