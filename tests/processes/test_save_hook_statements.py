"""The consultation's save hook keeps its records, figure share and moments with few statements: counted over a walk
of the township scenario, from the record's read to the moments told (the flush of the engine's own rows before it is
the engine's). A budget that fails when the hook grows; lower it when statements go, never raise it."""

from __future__ import annotations

import copy

from sqlalchemy import event

from domain.consultation import moments, records
from tests.support.consultation import SCENARIOS, run_through_engine

# (statements over the walk's saves, most in one save), as measured on SQLite and PostgreSQL
WALK_BUDGET, SAVE_BUDGET = 146, 13


def test_the_save_hook_stays_within_its_statement_budget(consultation, monkeypatch):
    per_save: list[int] = []
    counting = [False]

    def count(*_args):
        if counting[0]:
            per_save[-1] += 1

    def sync(*args, _original=records.sync_consultation, **kwargs):
        per_save.append(0)
        counting[0] = True
        return _original(*args, **kwargs)

    def tell(*args, _original=moments.tell, **kwargs):
        try:
            return _original(*args, **kwargs)
        finally:
            counting[0] = False

    monkeypatch.setattr(records, "sync_consultation", sync)     # the hook looks both up at each save
    monkeypatch.setattr(moments, "tell", tell)
    bind = consultation.sessions.kw["bind"]
    event.listen(bind, "before_cursor_execute", count)
    try:
        run_through_engine(consultation, copy.deepcopy(SCENARIOS["township"]))
    finally:
        event.remove(bind, "before_cursor_execute", count)
    assert len(per_save) == 16, per_save              # every save of the walk ran the hook
    assert sum(per_save) <= WALK_BUDGET and max(per_save) <= SAVE_BUDGET, per_save
