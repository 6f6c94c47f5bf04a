"""The consultation's hooks: its intake item and consultation records, its scope (tier, org unit), its titles and
instance page section, its public intake and tracking page and its step names (from `vocabulary`). Registered by
`domain.wiring`; the generic engine names none of this."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from domain.consultation import figure_counts, intake, moments, public, records
from domain.consultation import views as consultation_views
from domain.consultation.vocabulary import STEP_NAMES
from engine.hooks import HookRegistry, ProcessHooks, Scope
from engine.store.models import ProcessInstance

PROCESS_ID = "consultation"
VOCABULARY = STEP_NAMES   # step number → name (0: review and routing, 1–6: the method's steps)


def scope(data: dict) -> Scope:
    """The platform tier and the org unit that takes the matter on, as triage routed it."""
    return data.get("tier"), data.get("org_unit")


def on_start(session: Session, instance: ProcessInstance, data: dict, now: datetime) -> None:
    """Check the way the topic came in fits who raised it (domain.consultation.intake), then record the intake item
    (with its tracking code) and the consultation."""
    intake.check_start(session, instance.started_by, data)
    records.record_intake(session, instance, data, now)


def on_save(session: Session, instance: ProcessInstance, data: dict, now: datetime, advance) -> None:
    """Bring the consultation, its suggestions and answers up to date; note when the results were published; keep
    its share of the figure counters; ask for the proposer to be told the key moments this save made happen.

    The save's own rows are flushed first (its tasks, submissions, outbox; on the first save the new record); then
    everything here reads and writes with statements of its own, so the commit has nothing more to flush: the figure
    share takes the record and its suggestions as synced, and its tasks, read once, serve the moments too."""
    published = any(call.operator == "publish" for call in advance.service_calls)
    session.flush()
    with session.no_autoflush:
        synced = records.sync_consultation(session, instance, data, now, published=published)
        tasks = figure_counts.tasks_of(session, instance.id)
        if synced is not None:
            row = synced.consultation
            case = figure_counts.Case(row.id, instance.id, row.tier, row.org_unit_code, row.meeting_date,
                                      synced.source, synced.received_at)
            figure_counts.refresh_saved(session, case, tasks, [(s.adoption, s.satisfaction)
                                                               for s in synced.suggestions])
        else:           # no record (never expected): whatever it counted before goes
            figure_counts.refresh(session, (instance.id,))
        finished = {task.task_spec for task in tasks if task.status == "completed" and task.completed_at == now}
        moments.tell(session, instance, data, now, advance, finished)


@dataclass(frozen=True)
class IntakeReceipt:
    """What the public intake returns."""

    instance_id: int
    tracking_code: str


def submit_intake(engine, data: dict, actor: str | None = None) -> IntakeReceipt:
    """Start a consultation from an intake form (the public's with nobody signed in, a member's own topic, or one
    recorded for a resident); returns its tracking code."""
    instance_id = engine.start_instance(PROCESS_ID, data, actor=actor)
    with engine.reading() as session:
        code = consultation_views.tracking_code_of(session, instance_id)
    return IntakeReceipt(instance_id, code)


HOOKS = ProcessHooks(PROCESS_ID, on_start=on_start, on_save=on_save, scope=scope,
                     public_view=public.public_progress, titles=consultation_views.titles,
                     subjects=consultation_views.subjects, search=consultation_views.search,
                     details=consultation_views.details, vocabulary=VOCABULARY)


def register(registry: HookRegistry) -> None:
    """Plug the consultation into `registry`."""
    registry.register(HOOKS)
