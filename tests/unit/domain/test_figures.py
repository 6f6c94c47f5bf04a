"""The county's figures against hand-computed records (tests/support/figures_fixture.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.consultation import figures as figs
from domain.consultation.member_record import member_record
from domain.people.accounts import UserView
from domain.people.policy import figures_units, may_see_figures, may_see_member_record
from tests.support import figures_fixture

TODAY = date(2026, 6, 1)
NOW = datetime(2026, 6, 1, 4, tzinfo=UTC)


@pytest.fixture
def db(service):
    with service.unit_of_work() as session:
        ids = figures_fixture.load(session)
    return service, ids


def year(text="2026"):
    return figs.parse_period(text, TODAY)


def test_a_year_counts_what_was_held_raised_answered_and_visited(db):
    service, _ = db
    with service.reading() as session:
        f = figs.compute(session, year())
    assert f.held == 2 and f.held_by_tier == {"county": 1, "township": 1}
    assert f.held_by_unit == {("county", "county"): 1, ("township", "township_xunchang"): 1}
    assert f.held_by_month == {"2026-03": {"county": 1}, "2026-05": {"township": 1}}
    assert (f.research_done, f.attendances, f.proposed, f.participation) == (2, 3, 1, 6)
    assert f.suggestions == 6
    # partly adopted counts in the numerator; unanswered and sent-back (not ours) ones are not in the denominator
    assert (f.adoption.numerator, f.adoption.denominator, f.adoption.percent) == (2, 3, 66.7)
    assert (f.satisfaction.numerator, f.satisfaction.denominator) == (2, 3)
    assert set(f.answered_by_month) == {"2026-03"}          # May's one suggestion has no answer yet


def test_a_late_task_lowers_the_steps_on_time_rate(db):
    service, _ = db
    with service.reading() as session:
        on_time = figs.on_time_by_step(session, year())
    assert (on_time[1].numerator, on_time[1].denominator, on_time[1].percent) == (1, 2, 50.0)
    assert on_time[2].percent is None                      # nothing completed with a due time: "—", not 0%
    assert on_time[3].denominator == 0                     # research tasks had no due time


def test_an_empty_period_has_no_rates_rather_than_zero(db):
    service, _ = db
    with service.reading() as session:
        f = figs.compute(session, year("2024"))
    assert f.held == 0 and f.suggestions == 0 and f.participation == 0
    assert f.adoption.percent is None and f.satisfaction.percent is None
    assert all(ratio.percent is None for ratio in f.on_time.values())


def test_a_department_with_no_answers_gives_no_adoption_rate(db):
    service, _ = db
    with service.reading() as session:
        township = figs.compute(session, year(), tier="township")
        mine = figs.compute(session, year(), units=frozenset({"township_xunchang"}))
    for f in (township, mine):
        assert f.held == 1 and f.suggestions == 1 and f.adoption.denominator == 0 and f.adoption.percent is None
        assert f.proposed == 1 and f.attendances == 1 and f.research_done == 0


def test_quarters_and_months_cut_the_year(db):
    service, _ = db
    with service.reading() as session:
        q1, may, dec = (figs.compute(session, year(p)) for p in ("2026-Q1", "2026-05", "2025-12"))
    assert (q1.held, may.held, dec.held) == (1, 1, 1)
    assert q1.period.months == ("2026-01", "2026-02", "2026-03") and q1.adoption.numerator == 2


def test_step_times_take_the_median_span_and_the_breach_rate(db):
    service, _ = db
    with service.reading() as session:
        times = figs.step_times(session, year(), NOW)
    assert times[1].cases == 1 and times[1].median_days == 19.0
    assert (times[1].breached, times[1].with_due, times[1].breach.percent) == (1, 2, 50.0)
    assert times[6].median_days is None and times[6].breach.percent is None


@pytest.mark.parametrize("text", ["", "2026", "2026-Q2", "2026-05"])
def test_periods_parse(text):
    period = figs.parse_period(text, TODAY)
    assert period.start < period.end


@pytest.mark.parametrize("text", ["26", "2026-13", "2026-Q5", "1999", "2026-5", "abc"])
def test_bad_periods_are_refused(text):
    with pytest.raises(figs.PeriodError):
        figs.parse_period(text, TODAY)


def test_a_members_record_lists_research_meetings_proposals_and_suggestions(db):
    service, ids = db
    with service.reading() as session:
        m1 = member_record(session, "m001", year())
        m2 = member_record(session, "m002", year())
    assert [e.instance_id for e in m1.research] == [ids["a"]] and m1.research[0].detail == "completed"
    assert [e.instance_id for e in m1.meetings] == [ids["a"], ids["b"]]
    assert [e.instance_id for e in m1.proposals] == [ids["b"]]
    assert len(m1.suggestions) == 6 and m1.suggestions[0].detail == "adopted"
    assert [e.instance_id for e in m2.meetings] == [ids["a"]]          # C's meeting was in 2025
    assert m2.proposals == ()


def person(name, *memberships):
    return UserView(name, name, True, tuple(memberships))


def test_who_sees_figures_and_whose():
    assert figures_units(person("o", ("office", "county"))) is None
    assert figures_units(person("s", ("supervisor", "county"))) is None
    assert figures_units(person("t", ("organizer", "township_xunchang"))) == {"township_xunchang"}
    assert figures_units(person("t", ("supervisor", "township_xunchang"))) == {"township_xunchang"}
    assert not may_see_figures(person("m", ("member", "county")))
    assert not may_see_figures(person("d", ("department", "dept_a")))


def test_who_sees_a_members_record():
    assert may_see_member_record(person("m001", ("member", "county")), "m001")
    assert not may_see_member_record(person("m002", ("member", "county")), "m001")
    assert may_see_member_record(person("o", ("office", "county")), "m001")
    assert may_see_member_record(person("s", ("supervisor", "township_xunchang")), "m001")
    assert not may_see_member_record(person("t", ("organizer", "township_xunchang")), "m001")
