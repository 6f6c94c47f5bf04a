"""The 七有 queries on SQLite and PostgreSQL: every hall's seven items, the coverage per township, what a hall's
computed items rest on, and its audited history (a JSON lookup), on the township of tests/support/halls_fixture.py."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.consultation.demo import load_demo
from domain.halls import registry, standard
from tests.conftest import CONSULTATION
from tests.support import halls_fixture as fx


def test_the_seven_items_coverage_basis_and_history(services):
    engine = services.engine
    engine.clock.set(fx.AT)
    with engine.unit_of_work() as session:
        load_demo(session, fx.AT)
    engine.deploy([CONSULTATION], actor="owner")
    with engine.unit_of_work() as session:
        fx.build(session)
        standard.submit(session, f"{fx.TOWNSHIP}_v01_hall", "venue", "村委会二楼", "organizer_caoying", fx.AT, 0)
    with engine.unit_of_work() as session:
        standard.decide(session, f"{fx.TOWNSHIP}_v01_hall", "venue", False, "缺照片", "office",
                        datetime(2026, 5, 21, tzinfo=UTC))
    with engine.reading() as session:
        rows = standard.statuses(session, registry.halls(session), 2026)
        basis = standard.computed_basis(session, fx.ALL, 2026)
        history = registry.history(session, f"{fx.TOWNSHIP}_v01_hall")
        assert registry.history(session, fx.ALL) == []
    by_code = {r.hall.code: r for r in rows}
    assert len(rows) == 190 and [c for c, r in by_code.items() if r.meets_all] == [fx.ALL]
    assert by_code[f"{fx.TOWNSHIP}_v01_hall"].entered["venue"] == "returned"
    caoying = next(c for c in standard.coverage(rows) if c.code == fx.TOWNSHIP)
    assert (caoying.halls, caoying.meets_all, caoying.missing["plan"], caoying.missing["results"]) == (13, 1, 6, 7)
    assert basis == standard.ComputedBasis((("事项1", 5),), 0, 1, 1)
    assert [(c.kind, c.actor, c.detail.get("reason")) for c in history] == [
        ("hall_item_returned", "office", "缺照片"), ("hall_item_submitted", "organizer_caoying", None)]
