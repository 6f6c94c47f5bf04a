"""The one place that lists which processes plug hooks into the engine; the composition root (services.py) uses it."""

from __future__ import annotations

from domain.consultation import hooks as consultation_hooks
from engine.hooks import HookRegistry


def standard_hooks() -> HookRegistry:
    """A registry with every process hook this product ships (today: the consultation's)."""
    registry = HookRegistry()
    consultation_hooks.register(registry)
    return registry
