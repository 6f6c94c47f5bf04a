"""Thin Celery tasks: ids and primitives in, one call each; the work lives in engine/ (engine/sweep.py) and domain/."""

from __future__ import annotations

from celery import shared_task

from engine.sweep import run_sweep

from .celery_app import engine_of, services_of


@shared_task(bind=True)
def sweep(self) -> dict:
    """Fire due timers and deadlines, deliver due messages (beat sends this every 5 s)."""
    services = services_of(self.app)
    return run_sweep(services.engine, deliveries=services.deliveries).as_dict()


@shared_task(bind=True)
def fire_instance(self, instance_id: int) -> bool:
    """Fire the due timers of one instance; True when it advanced."""
    return bool(engine_of(self.app).fire_due_timers(instance_ids=[instance_id]))


@shared_task(bind=True)
def deliver_outbox(self) -> int:
    """Deliver the outbox messages due now (the product's deliveries, as the sweep's last part)."""
    services = services_of(self.app)
    return len(services.deliveries(services.engine, services.engine.clock.now()).done)
