"""Checks of the board's open-task counts (engine.store.open_counts) against a recount of the open rows."""

from __future__ import annotations

from engine.store import open_counts, task_counts


def kept_and_recounted(engine):
    """(the kept counts, a recount of the open rows), zeros left out."""
    with engine.reading() as session:
        return open_counts.all_counts(session), open_counts.expected(session)


def inbox_kept_and_recounted(engine):
    """(the kept inbox counts, a recount of the rows), zeros left out (engine.store.task_counts)."""
    with engine.reading() as session:
        return task_counts.all_counts(session), task_counts.expected(session)


def checked_after_every_command(engine, monkeypatch) -> list[int]:
    """Compare kept and recounted counts (the board's and the inbox's) after each completed task and fired timer;
    returns the open totals seen."""
    seen = []
    for name in ("complete_task", "fire_due_timers", "start_instance"):
        original = getattr(engine, name)

        def checked(*args, _original=original, **kwargs):
            result = _original(*args, **kwargs)
            kept, recounted = kept_and_recounted(engine)
            assert kept == recounted
            inbox_kept, inbox_recounted = inbox_kept_and_recounted(engine)
            assert inbox_kept == inbox_recounted
            seen.append(sum(kept.values()))
            return result
        monkeypatch.setattr(engine, name, checked)
    return seen
