"""The computed 七有 items follow a consultation run through the engine: held at the township's hall (its plan's
venue), it makes 有活动 once its meeting is recorded, and 有实效 once a department adopts a suggestion."""

from __future__ import annotations

import copy

from domain.halls import registry, standard
from tests.support.consultation import SCENARIOS, advance, not_in_the_past

HALL = "township_xunchang_hall"


def _computed(engine) -> dict[str, bool]:
    with engine.reading() as session:
        return standard.statuses(session, [registry.hall(session, HALL)], 2026)[0].computed


def test_holding_a_consultation_and_adopting_a_suggestion_meet_the_computed_items(web_engine):
    scenario = not_in_the_past(copy.deepcopy(SCENARIOS["township"]), web_engine.clock.now())
    assert scenario.township == "township_xunchang" and scenario.adoption == "adopted"
    instance_id = web_engine.start_instance("consultation", scenario.intake(), actor="m001")
    advance(web_engine, instance_id, scenario, stop_before="hold_meeting")
    assert _computed(web_engine) == {"plan": False, "activity": False, "results": False}   # planned, not held
    advance(web_engine, instance_id, scenario, stop_before="draft_report")
    assert _computed(web_engine) == {"plan": False, "activity": True, "results": False}
    advance(web_engine, instance_id, scenario, stop_before="follow_up_visit")
    assert _computed(web_engine) == {"plan": False, "activity": True, "results": True}
