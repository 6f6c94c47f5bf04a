"""The figures from consultations run through the engine (not hand-made rows): what the forms record is what the
figures count — meetings held, researchers and attendees, partly adopted answers, visits' satisfaction."""

from __future__ import annotations

import copy

from domain.consultation import figures as figs
from domain.consultation.member_record import member_record
from engine.clock import LOCAL_TZ
from tests.support.consultation import SCENARIOS, run_through_engine


def test_two_finished_consultations_make_the_years_figures(consultation):
    township = copy.deepcopy(SCENARIOS["township"])                # all adopted, all satisfied
    committee = copy.deepcopy(SCENARIOS["committee"])              # partly adopted
    first, _ = run_through_engine(consultation, township)
    second, _ = run_through_engine(consultation, committee)
    today = consultation.clock.now().astimezone(LOCAL_TZ).date()
    with consultation.reading() as session:
        f = figs.compute(session, figs.parse_period(str(today.year), today))
        record = member_record(session, committee.researchers[0], figs.parse_period(str(today.year), today))
    assert f.held == 2 and set(f.held_by_tier) == {"township", "committee"}
    researchers = len(township.researchers) + len(committee.researchers)
    assert f.research_done == researchers and f.attendances == researchers   # the scenario's attendees: researchers
    assert f.proposed == 0                                                   # both came in online
    assert f.suggestions == len(township.suggestions) + len(committee.suggestions)
    assert f.adoption.numerator == f.adoption.denominator == f.suggestions   # partly adopted is in the numerator
    assert f.satisfaction.numerator == f.satisfaction.denominator == f.suggestions
    assert all(r.denominator for step, r in f.on_time.items() if step in (1, 2, 4, 5))
    assert {e.instance_id for e in record.meetings} == {second} and record.research[0].detail == "completed"
    assert first != second
