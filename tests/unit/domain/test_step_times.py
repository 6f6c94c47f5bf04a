"""The heatmap's step times from the kept histogram and counters, against hand-worked records
(tests/support/figures_fixture.load_step_spans), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest

from domain.consultation import figure_counts
from domain.consultation import figures as figs
from tests.support import figures_fixture

TODAY = date(2026, 9, 1)
NOW = datetime(2026, 9, 1, 4, tzinfo=UTC)


@pytest.fixture
def spans(service):
    with service.unit_of_work() as session:
        figures_fixture.load_step_spans(session)
    return service


def times(service, period, now=NOW, **scope):
    with service.reading() as session:
        return figs.step_times(session, figs.parse_period(period, TODAY), now, **scope)


def test_an_odd_count_takes_the_middle_span_and_a_late_task_is_a_breach(spans):
    july = times(spans, "2026-07")[2]
    # P 2.5 days counts as 3, Q 5, R 10: the middle one; Q's second task finished a day late
    assert (july.cases, july.median_days) == (3, 5.0)
    assert (july.breached, july.with_due, july.breach.percent) == (1, 2, 50.0)


def test_an_even_count_takes_the_mean_of_the_middle_two_and_an_open_task_past_due_is_a_breach(spans):
    quarter = times(spans, "2026-Q3")[2]
    assert (quarter.cases, quarter.median_days) == (4, 4.0)          # 1, 3, 5, 10 (T's step is not finished)
    assert (quarter.breached, quarter.with_due, quarter.breach.percent) == (2, 3, 66.7)
    before_due = times(spans, "2026-Q3", now=datetime(2026, 8, 9, tzinfo=UTC))[2]
    assert (before_due.breached, before_due.with_due) == (1, 3)      # T's open task is not late yet


def test_a_township_sees_its_own_spans(spans):
    mine = times(spans, "2026-Q3", units=frozenset({"township_b"}))[2]
    assert (mine.cases, mine.median_days, mine.with_due, mine.breach.percent) == (1, 1.0, 0, None)
    assert times(spans, "2026-Q3", tier="county")[2].cases == 0


def test_an_empty_period_has_no_median_and_no_breach_rate(spans):
    for step, time in times(spans, "2026-Q4").items():
        assert (time.cases, time.median_days, time.breached, time.with_due, time.breach.percent) == \
            (0, None, 0, 0, None), step
    assert times(spans, "2026-Q3")[1].median_days is None          # no step-1 tasks at all


def test_the_histogram_is_whole_days_in_the_month_the_step_finished(spans):
    with spans.reading() as session:
        kept = {key: value for key, value in figure_counts.all_counts(session).items()
                if key[3].startswith(("span:", "span_all:"))}
    assert kept == {("2026-07", "township", "township_a", "span:3", 2): 1,
                    ("2026-07", "township", "township_a", "span:5", 2): 1,
                    ("2026-07", "township", "township_a", "span:10", 2): 1,
                    ("2026-08", "township", "township_b", "span:1", 2): 1,
                    ("2026-07", "township", "", "span_all:3", 2): 1, ("2026-07", "township", "", "span_all:5", 2): 1,
                    ("2026-07", "township", "", "span_all:10", 2): 1, ("2026-08", "township", "", "span_all:1", 2): 1}


@pytest.mark.parametrize(("histogram", "median"), [
    ({}, None), ({7: 1}, 7.0), ({1: 1, 2: 1}, 1.5), ({1: 2, 9: 1}, 1.0), ({0: 1, 4: 2, 30: 1}, 4.0),
    ({2: 1, 3: 1, 4: 1, 8: 1}, 3.5)])
def test_the_median_of_a_histogram(histogram, median):
    assert figs.histogram_median(Counter(histogram)) == median


@pytest.mark.parametrize(("days", "bucket"), [
    (0, 0), (0.001, 1), (1, 1), (2.1, 3), (19, 19), (19.0000001, 19), (30, 30), (30.5, 35), (31, 35), (90, 90),
    (90.2, 120), (121, 150), (400, 420)])
def test_a_part_day_counts_as_one_and_long_spans_are_grouped(days, bucket):
    assert figure_counts.span_days(days) == bucket
