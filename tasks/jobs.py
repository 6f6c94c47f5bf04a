"""Thin Celery tasks: ids and primitives in, one call each; the work lives in engine/ (engine/sweep.py)."""

from __future__ import annotations

from celery import shared_task

from engine.sweep import notify_module, run_sweep

from .celery_app import engine_of


@shared_task(bind=True)
def sweep(self) -> dict:
    """Fire due timers and deadlines, deliver due messages (beat sends this every 5 s)."""
    return run_sweep(engine_of(self.app)).as_dict()


@shared_task(bind=True)
def fire_instance(self, instance_id: int) -> bool:
    """Fire the due timers of one instance; True when it advanced."""
    return bool(engine_of(self.app).fire_due_timers(instance_ids=[instance_id]))


@shared_task(bind=True)
def deliver_outbox(self) -> int:
    """Deliver the outbox messages due now; 0 while domain.notifications.dispatch is not installed."""
    engine, notify = engine_of(self.app), notify_module()
    return notify.deliver_due(engine, engine.clock.now()) if notify is not None else 0
