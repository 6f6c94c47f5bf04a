"""The sweep lives in engine/sweep.py (the CLI runs it too, and the engine never imports tasks); re-exported here."""

from __future__ import annotations

from engine.sweep import NOTIFY_MODULE, SweepResult, notify_module, run_sweep

__all__ = ["NOTIFY_MODULE", "SweepResult", "notify_module", "run_sweep"]
