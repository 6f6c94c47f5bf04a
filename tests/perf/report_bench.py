"""Benchmark part: the monthly report (domain/consultation/report.py, report_pdf.py) over a year of consultations.

A year of records bulk-inserted on SQLite (no workflow runs): N consultations with meetings spread over 2026, four
suggestions each (answers, satisfaction, departments drawn at random), a case's step tasks (most on time, some late,
a few still open past their due date) and the meeting's attendance. Timed: composing a month's report (SQL), drawing
it as a PDF (fpdf2, font subsetting included), and all twelve months in a row.
Standalone: `python -m tests.perf.report_bench [--consultations 1000] [--runs 5]`.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta

import pypdf
from sqlalchemy import insert, select

from domain.consultation import report as rep
from domain.consultation import report_pdf
from domain.consultation.demo import load_demo
from domain.consultation.demo_data import department_codes, township_codes
from domain.consultation.models import Consultation, IntakeItem, Suggestion
from domain.services import Services
from engine.clock import FrozenClock
from engine.store import db
from engine.store.models import HumanTask, ProcessInstance, ProcessVersion
from engine.store.submissions import TaskSubmission
from tests.perf.bench_data import BUNDLE

NOW = datetime(2026, 12, 31, 1, 0, tzinfo=UTC)        # the year almost over
STEP_TASKS = ((1, "define_topic"), (2, "draft_plan"), (3, "research"), (4, "hold_meeting"), (5, "report_results"),
              (6, "follow_up_visit"))
ADOPTIONS = ("adopted", "adopted", "partly", "not_adopted", "solved", None)
SATISFACTIONS = ("satisfied", "satisfied", "basically_satisfied", "unsatisfied", None)


def _scope(rng: random.Random, townships: list[str]) -> tuple[str, str]:
    roll = rng.random()
    if roll < 0.13:
        return "county", "county"
    if roll < 0.4:
        return "committee", "committee_economy"
    return "township", rng.choice(townships)


def load_year(session, n: int, seed: int = 11) -> dict[str, int]:
    """Bulk-insert a year of N consultations; returns row counts."""
    rng = random.Random(seed)
    version_id = session.scalar(select(ProcessVersion.id).where(ProcessVersion.process_id == "consultation"))
    townships, departments = township_codes(), department_codes()
    start = datetime(2026, 1, 1, 1, tzinfo=UTC)
    first_id = (session.scalar(select(ProcessInstance.id).order_by(ProcessInstance.id.desc()).limit(1)) or 0) + 1
    instances, intakes, consultations, suggestions, tasks, submissions = [], [], [], [], [], []
    for offset in range(n):
        iid = first_id + offset
        tier, unit = _scope(rng, townships)
        opened = start + timedelta(days=rng.randrange(0, 330), hours=rng.randrange(0, 9))
        held = (opened + timedelta(days=rng.randrange(10, 30))).date()
        instances.append({"id": iid, "version_id": version_id, "process_id": "consultation", "status": "running",
                          "state": "{}", "step": 6, "tier": tier, "org_unit_code": unit, "started_by": "m001",
                          "created_at": opened, "updated_at": opened})
        intakes.append({"id": iid, "tracking_code": f"XS-B{iid:07d}", "instance_id": iid, "title": f"议题{iid}",
                        "description": "", "source": rng.choice(("online", "member", "hall")), "created_at": opened})
        consultations.append({"id": iid, "instance_id": iid, "intake_id": iid, "title": f"议题{iid}",
                              "topic": f"关于第{iid}号民生事项的协商：改善社区环境和公共服务", "tier": tier,
                              "org_unit_code": unit, "status": "in_progress", "meeting_date": held,
                              "created_at": opened, "updated_at": opened})
        for number in range(1, 5):
            suggestions.append({"consultation_id": iid, "number": number, "text": f"建议{number}：加快落实相关措施",
                                "department_code": rng.choice(departments), "adoption": rng.choice(ADOPTIONS),
                                "satisfaction": rng.choice(SATISFACTIONS), "answer_round": 1,
                                "promised_date": held + timedelta(days=90)})
        tasks += _tasks(rng, iid, tier, unit, opened)
        submissions.append({"instance_id": iid, "task_id": None, "task_spec": "hold_meeting", "name": "组织协商会议",
                            "step": 4, "data": {"attendees": [f"m{k:03d}" for k in rng.sample(range(1, 200), 8)]},
                            "actor": "organizer_county", "submitted_at": datetime.combine(held, datetime.min.time(),
                                                                                          UTC)})
    for model, rows in ((ProcessInstance, instances), (IntakeItem, intakes), (Consultation, consultations),
                        (Suggestion, suggestions), (HumanTask, tasks), (TaskSubmission, submissions)):
        session.execute(insert(model), rows)
    return {"consultations": n, "suggestions": len(suggestions), "tasks": len(tasks)}


def _tasks(rng: random.Random, iid: int, tier: str, unit: str, opened: datetime) -> list[dict]:
    rows, moment = [], opened
    for step, spec in STEP_TASKS:
        for copy in range(5 if step == 3 else 1):
            due = moment + timedelta(days=7)
            late = rng.random() < 0.15
            done = due + timedelta(days=rng.randrange(1, 9)) if late else due - timedelta(days=rng.randrange(0, 6))
            still_open = step == 6 and rng.random() < 0.05 and due < NOW
            rows.append({"id": f"b{iid}-{step}-{copy}", "instance_id": iid, "task_spec": spec, "name": spec,
                         "step": step, "role": "organizer", "org_unit_code": unit, "tier": tier,
                         "assignee": "organizer_county", "status": "ready" if still_open else "completed",
                         "due_at": due, "created_at": moment, "completed_at": None if still_open else done,
                         "completed_by": None if still_open else "organizer_county",
                         "escalation_level": 1 if still_open else 0})
        moment = moment + timedelta(days=rng.randrange(3, 9))
    return rows


def _median_ms(samples: list[float]) -> float:
    return round(1000 * statistics.median(samples), 1)


def run(n: int, runs: int) -> dict[str, float]:
    """Load a year of `n` consultations and time the report; returns the figures."""
    with tempfile.TemporaryDirectory(prefix="xieshang-report-") as tmp:
        url = f"sqlite:///{tmp}/report.db"
        db.upgrade(url)
        services = Services.from_url(url, FrozenClock(NOW))
        try:
            with services.engine.unit_of_work() as session:
                load_demo(session, NOW)
            services.engine.deploy([BUNDLE], actor="owner")
            started = time.perf_counter()
            with services.engine.unit_of_work() as session:
                counts = load_year(session, n)
            load_s = time.perf_counter() - started
            return {**counts, "load_s": round(load_s, 1), **_timings(services, runs)}
        finally:
            services.close()


def _timings(services: Services, runs: int) -> dict[str, float]:
    engine = services.engine
    month = rep.parse_month("2026-06")
    builds, build_cpu, renders, cpu, made, body = [], [], [], [], None, b""
    for _ in range(runs + 1):
        with engine.reading() as session:
            start, start_cpu = time.perf_counter(), time.process_time()
            made = rep.build(session, month, NOW, hooks=engine.hooks)
            middle, middle_cpu = time.perf_counter(), time.process_time()
        body = report_pdf.render(made)
        builds.append(middle - start)
        build_cpu.append(middle_cpu - start_cpu)
        renders.append(time.perf_counter() - middle)
        cpu.append(time.process_time() - middle_cpu)    # CPU seconds: a loaded machine's queueing left out
    start = time.perf_counter()
    for number in range(1, 13):
        with engine.reading() as session:
            report_pdf.render(rep.build(session, rep.parse_month(f"2026-{number:02d}"), NOW, hooks=engine.hooks))
    year_s = time.perf_counter() - start
    pages = len(pypdf.PdfReader(io.BytesIO(body)).pages)
    return {"month_suggestions": made.ledger.total, "month_overdue": made.overdue_total,
            "month_held": made.figures.held,
            "build_p50_ms": _median_ms(builds[1:]), "build_cpu_p50_ms": _median_ms(build_cpu[1:]),
            "render_p50_ms": _median_ms(renders[1:]),
            "render_cpu_p50_ms": _median_ms(cpu[1:]),
            "pdf_kb": round(len(body) / 1024), "pdf_pages": pages, "twelve_months_s": round(year_s, 1)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consultations", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    for name, value in run(args.consultations, args.runs).items():
        print(f"report_{name}={value}")


if __name__ == "__main__":
    main()

