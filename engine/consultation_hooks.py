"""The consultation's hooks: its intake item and consultation records, its scope (tier, org unit), its public
tracking page and its step names. Registered by `engine.wiring`; the generic engine names none of this."""

from __future__ import annotations

from datetime import datetime
from types import MappingProxyType

from sqlalchemy.orm import Session

from . import public, records
from .hooks import HookRegistry, ProcessHooks, Scope
from .models import ProcessInstance

PROCESS_ID = "consultation"
VOCABULARY = MappingProxyType({0: public.ACCEPTANCE_NAME} | dict(enumerate(public.STEP_NAMES, start=1)))


def scope(data: dict) -> Scope:
    """The platform tier and the org unit that takes the matter on, as triage routed it."""
    return data.get("tier"), data.get("org_unit")


def on_start(session: Session, instance: ProcessInstance, data: dict, now: datetime) -> None:
    """Record the intake item (with its tracking code) and the consultation."""
    records.record_intake(session, instance, data, now)


def on_save(session: Session, instance: ProcessInstance, data: dict, now: datetime, advance) -> None:
    """Bring the consultation, its suggestions and answers up to date; note when the results were published."""
    published = any(call.operator == "publish" for call in advance.service_calls)
    records.sync_consultation(session, instance, data, now, published=published)


HOOKS = ProcessHooks(PROCESS_ID, on_start=on_start, on_save=on_save, scope=scope,
                     public_view=public.public_progress, vocabulary=VOCABULARY)


def register(registry: HookRegistry) -> None:
    """Plug the consultation into `registry`."""
    registry.register(HOOKS)
