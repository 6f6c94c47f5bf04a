"""The overdue board (督办) and 催办 over a hand-built projection (tests/support/board.py)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from domain.calendar.workdays import year_calendar
from domain.work import board
from engine.clock import LOCAL_TZ
from engine.errors import InvalidState, PermissionDenied
from engine.store import keyset
from engine.store.models import AuditEvent, HumanTask, OutboxMessage
from tests.support.board import EXPECTED, build, local


def cells(matrix) -> dict[str, tuple[int, int, int]]:
    return {c.unit: (c.open, c.overdue, c.at_risk) for _kind, row in matrix.sections for c in row}


def test_matrix_counts_overdue_and_at_risk_per_unit_for_the_county(services):
    build(services.engine)
    matrix = services.supervision.matrix(services.accounts.user("supervisor_county"))
    found = cells(matrix)
    assert {code: found[code] for code in EXPECTED} == EXPECTED
    assert (matrix.total.open, matrix.total.overdue, matrix.total.at_risk) == (7, 3, 2)
    assert matrix.at_risk_until == local(12)                       # two working days on
    assert found["township_didong"] == (0, 0, 0)                   # every township shown, zeros too
    kinds = [kind for kind, _ in matrix.sections]
    assert kinds == ["county", "committee", "sector", "township", "department"]
    assert [c.unit for c in dict(matrix.sections)["department"]] == ["dept_housing"]    # departments with work


def test_a_township_supervisor_sees_only_their_township(services):
    build(services.engine)
    xunchang = services.accounts.user("supervisor_xunchang")
    found = cells(services.supervision.matrix(xunchang))
    assert found == {"township_xunchang": (2, 1, 0), "dept_housing": (1, 1, 0)}
    page = services.supervision.tasks(xunchang, board.Filters(state="open"))
    assert {r.task_id for r in page.rows} == {"t-hall-late", "t-xunchang-open", "t-dept-late"}
    assert services.supervision.overdue_count(xunchang) == 2
    assert services.supervision.overdue_count(services.accounts.user("office")) == 3
    assert services.supervision.overdue_count(services.accounts.user("m001")) is None
    with pytest.raises(PermissionDenied):
        services.supervision.matrix(services.accounts.user("m001"))


def test_the_overdue_badge_counts_today_by_the_hour_and_earlier_days_from_the_kept_counts(services):
    engine = services.engine
    ids = build(engine)
    with engine.unit_of_work() as session:          # NOW is 09:00 on 10 June (Beijing)
        for task_id, key, unit, due in (("t-today-late", "xunchang", "township_xunchang", local(10, 8)),
                                         ("t-today-later", "xunchang", "township_xunchang", local(10, 10)),
                                         ("t-may-late", "county", "county", local(20, month=5)),
                                         ("t-dept-today-late", "xunchang", "dept_housing", local(10, 8))):
            session.add(HumanTask(id=task_id, instance_id=ids[key], task_spec=task_id, name=task_id, step=2,
                                  role="organizer", org_unit_code=unit, status="ready", due_at=due,
                                  created_at=local(1, month=5)))
    with engine.reading() as session:
        late = session.scalar(select(func.count()).select_from(HumanTask).where(
            HumanTask.status == "ready", HumanTask.due_at < engine.clock.now()))
    assert late == 6
    assert services.supervision.overdue_count(services.accounts.user("office")) == 6
    # their township's own tasks and the department's task on their township's case; not the one due at 10:00
    assert services.supervision.overdue_count(services.accounts.user("supervisor_xunchang")) == 4


def test_list_rows_say_who_holds_the_task_and_how_late_it_is(sqlite_services):
    build(sqlite_services.engine)
    page = sqlite_services.supervision.tasks(sqlite_services.accounts.user("office"), board.Filters())
    rows = {r.task_id: r for r in page.rows}
    assert list(rows) == ["t-dept-late", "t-county-late", "t-hall-late"]          # overdue, most overdue first
    assert (rows["t-county-late"].days_late, rows["t-hall-late"].days_late, rows["t-dept-late"].days_late) == (3, 1, 7)
    organizer = sqlite_services.accounts.user("organizer_xunchang").display_name
    assert rows["t-hall-late"].holder == organizer
    assert rows["t-dept-late"].holder == "县住房和城乡建设局·承办单位联络员（待认领）"
    assert rows["t-dept-late"].unit_name == "县住房和城乡建设局"
    assert rows["t-dept-late"].escalation_level == 1 and rows["t-dept-late"].step == 6


@pytest.mark.parametrize(("filters", "expected"), [
    (board.Filters(state="at_risk"), ["t-county-risk", "t-gongquan-risk"]),
    (board.Filters(state="open", tier="committee"), ["t-committee-ok"]),
    (board.Filters(state="open", unit="township_xunchang"), ["t-hall-late", "t-xunchang-open"]),
    (board.Filters(state="open", department="dept_housing"), ["t-dept-late"]),
    (board.Filters(state="open", step=3), ["t-county-risk", "t-gongquan-risk"]),
    (board.Filters(state="open", due_from=local(9).date(), due_to=local(11).date()),
     ["t-hall-late", "t-county-risk"]),
    (board.Filters(state="open", sort="-due"),
     ["t-committee-ok", "t-gongquan-risk", "t-county-risk", "t-hall-late", "t-county-late", "t-dept-late",
      "t-xunchang-open"]),
    (board.Filters(state="open", sort="-escalation", unit="township_xunchang"), ["t-hall-late", "t-xunchang-open"]),
    (board.Filters(state="open", version=999999), []),
])
def test_filters_and_sorting(services, filters, expected):
    build(services.engine)
    page = services.supervision.tasks(services.accounts.user("office"), filters, per_page=100)
    assert [r.task_id for r in page.rows] == expected
    assert page.total == len(expected)


def _walk(supervision, user, filters, per_page, between=None) -> list[str]:
    """Every row, page after page by the next cursor; `between(n)` runs before page n+1 is read."""
    seen, after = [], None
    for number in range(50):
        page = supervision.tasks(user, filters, after=after, per_page=per_page)
        assert len(page.rows) <= per_page and (number == 0) == (page.previous is None)
        seen += [r.task_id for r in page.rows]
        if page.next is None:
            return seen
        after = page.next
        if between:
            between(number)
    raise AssertionError("never reached the last page")


@pytest.mark.parametrize("sort", board.SORTS)
def test_keyset_pages_cover_every_row_once_in_every_sort(services, sort):
    build(services.engine)
    office, filters = services.accounts.user("office"), board.Filters(state="open", sort=sort)
    whole = [r.task_id for r in services.supervision.tasks(office, filters, per_page=100).rows]
    assert len(whole) == 7
    assert _walk(services.supervision, office, filters, 2) == whole
    assert services.supervision.tasks(office, filters, per_page=10_000).per_page == board.MAX_PER_PAGE


def test_rows_added_between_pages_neither_repeat_nor_hide_the_others(sqlite_services):
    ids = build(sqlite_services.engine)
    office, filters = sqlite_services.accounts.user("office"), board.Filters(state="open")
    before = {r.task_id for r in sqlite_services.supervision.tasks(office, filters, per_page=100).rows}

    def add(number):            # a task due earlier than everything (lands on a page already read) and a later one
        with sqlite_services.engine.unit_of_work() as session:
            for name, due in ((f"t-new-early-{number}", local(1)), (f"t-new-late-{number}", local(30))):
                session.add(HumanTask(id=name, instance_id=ids["county"], task_spec="x", name=name, step=2,
                                      role="organizer", org_unit_code="county", tier="county", status="ready",
                                      due_at=due, escalation_level=0, created_at=local(1, month=5)))

    seen = _walk(sqlite_services.supervision, office, filters, 2, add)
    assert len(seen) == len(set(seen)) and before <= set(seen)             # no repeats, nothing skipped
    assert {s for s in seen if s.startswith("t-new-late")}                  # later rows added meanwhile show up


def test_previous_goes_back_to_the_same_rows(sqlite_services):
    build(sqlite_services.engine)
    office, filters = sqlite_services.accounts.user("office"), board.Filters(state="open", sort="-due")
    first = sqlite_services.supervision.tasks(office, filters, per_page=3)
    second = sqlite_services.supervision.tasks(office, filters, after=first.next, per_page=3)
    back = sqlite_services.supervision.tasks(office, filters, before=second.previous, per_page=3)
    assert [r.task_id for r in back.rows] == [r.task_id for r in first.rows] and back.previous is None
    assert back.next == first.next and second.total == first.total == 7


@pytest.mark.parametrize("cursor", ["", "!!!", "e30", "WyJkdWUiXQ", "x" * 700,
                                    keyset.encode("-due", [False, None, "t"]),          # another sort's
                                    keyset.encode("due", [False, "2026-13-01", "t"]),   # not a time
                                    keyset.encode("due", ["yes", None, "t"]),           # not a flag
                                    keyset.encode("due", [False, None, None])])         # no id
def test_a_forged_or_foreign_cursor_is_refused(sqlite_services, cursor):
    build(sqlite_services.engine)
    office = sqlite_services.accounts.user("office")
    with pytest.raises(keyset.BadCursor):
        sqlite_services.supervision.tasks(office, board.Filters(state="open"), after=cursor or "=")


def test_parse_filters_drops_bad_values_and_names_them():
    parsed = board.parse_filters({"state": "late", "tier": "moon", "step": "x", "from": "2026-13-01",
                                  "sort": "drop table", "unit": "u" * 65}, {"county": ""}, {1: ""})
    assert parsed.state == "overdue" and parsed.tier is None and parsed.step is None and parsed.due_from is None
    assert parsed.sort == "due" and parsed.unit is None
    assert set(parsed.errors) == {"state", "tier", "step", "from", "sort", "unit"}


# --- 催办 -----------------------------------------------------------------------------------------------------------
def recipients(engine, task_id: str) -> list[tuple[str, str]]:
    with engine.reading() as session:
        return sorted((m.channel, m.recipient) for m in session.scalars(select(OutboxMessage).where(
            OutboxMessage.task_id == task_id, OutboxMessage.recipient.isnot(None),
            OutboxMessage.idempotency_key.like("%:urge:%"))))


def test_urge_reaches_the_holder_and_the_lead_once(services):
    build(services.engine)
    engine, supervision = services.engine, services.supervision
    supervisor = services.accounts.user("supervisor_xunchang")
    done = supervision.urge(supervisor, "t-hall-late", "  请本周内   完成 ")
    assert (done.told, done.urges) == (2, 1)
    assert recipients(engine, "t-hall-late") == [("inapp", "lead_xunchang"), ("inapp", "organizer_xunchang")]
    with pytest.raises(InvalidState, match="已于 09:00 催办过"):
        supervision.urge(supervisor, "t-hall-late")
    assert len(recipients(engine, "t-hall-late")) == 2                       # the refused double-click told nobody
    with engine.reading() as session:
        [message] = session.scalars(select(OutboxMessage).where(
            OutboxMessage.recipient == "organizer_xunchang", OutboxMessage.idempotency_key.like("%:urge:%")))
        assert message.params["title"].startswith("【催办】")
        assert supervisor.display_name in message.params["body"] and "已超期 1 个工作日" in message.params["body"]
        assert "留言：请本周内 完成" in message.params["body"]
        [event] = session.scalars(select(AuditEvent).where(AuditEvent.kind == "task_urged"))
        assert (event.actor, event.detail["step"], event.detail["note"]) == ("supervisor_xunchang", 4, "请本周内 完成")
    engine.clock.set(engine.clock.now() + timedelta(minutes=61))
    assert supervision.urge(supervisor, "t-hall-late").urges == 2
    office_page = supervision.tasks(services.accounts.user("office"), board.Filters())
    assert {r.task_id: r.urges for r in office_page.rows}["t-hall-late"] == 2
    most_urged = supervision.tasks(services.accounts.user("office"), board.Filters(sort="-urges"))
    assert most_urged.rows[0].task_id == "t-hall-late" and most_urged.rows[0].urges == 2      # the kept count sorts


def test_an_urge_recorded_later_than_now_does_not_refuse_one_now(sqlite_services):
    """The hour's window ends now: an urge stamped later (a clock set back, or an imported record) is not "within
    the last hour" and does not refuse this one."""
    build(sqlite_services.engine)
    supervision, clock = sqlite_services.supervision, sqlite_services.engine.clock
    supervisor = sqlite_services.accounts.user("supervisor_xunchang")
    now = clock.now()
    clock.set(now + timedelta(days=8))
    assert supervision.urge(supervisor, "t-hall-late").urges == 1
    clock.set(now)
    assert supervision.urge(supervisor, "t-hall-late").urges == 2


def test_urging_an_unclaimed_task_tells_its_candidates(sqlite_services):
    build(sqlite_services.engine)
    done = sqlite_services.supervision.urge(sqlite_services.accounts.user("office"), "t-dept-late")
    assert done.holder == "县住房和城乡建设局·承办单位联络员（待认领）"
    assert recipients(sqlite_services.engine, "t-dept-late") == [("inapp", "liaison_housing"),
                                                                 ("inapp", "liaison_housing_2")]


@pytest.mark.parametrize("username", ["m001", "supervisor_gongquan", "organizer_xunchang", "lead_county"])
def test_only_the_units_supervisors_and_the_office_urge(sqlite_services, username):
    build(sqlite_services.engine)
    with pytest.raises(PermissionDenied):
        sqlite_services.supervision.urge(sqlite_services.accounts.user(username), "t-hall-late")
    assert recipients(sqlite_services.engine, "t-hall-late") == []


def test_urge_refuses_a_long_note_and_a_finished_task(sqlite_services):
    build(sqlite_services.engine)
    office = sqlite_services.accounts.user("office")
    with pytest.raises(InvalidState, match="200"):
        sqlite_services.supervision.urge(office, "t-hall-late", "字" * 201)
    with pytest.raises(InvalidState, match="已办结"):
        sqlite_services.supervision.urge(office, "t-done-late")


def test_escalation_notices_name_who_is_late(sqlite_services):
    from domain.notifications import dispatch

    ids = build(sqlite_services.engine)
    engine = sqlite_services.engine
    organizer = sqlite_services.accounts.user("organizer_xunchang").display_name
    bodies = {}
    for task_id in ("t-hall-late", "t-dept-late"):
        with engine.unit_of_work() as session:
            request = OutboxMessage(idempotency_key=f"esc-{task_id}", instance_id=ids["xunchang"], task_id=task_id,
                                    operator="notify", channel="dispatch", status="pending", attempts=0,
                                    params={"kind": "escalation", "level": 1, "to": "supervisor", "task_id": task_id},
                                    created_at=engine.clock.now(), next_attempt_at=engine.clock.now())
            session.add(request)
            session.flush()
            [row] = dispatch.dispatch(session, request, engine.clock.now(), hooks=engine.hooks)
            bodies[task_id] = row.params["body"]
    assert bodies["t-hall-late"].startswith(f"「任务 t-hall-late」已逾期（{organizer}），请督促办理。")
    assert "已逾期（县住房和城乡建设局·承办单位联络员（待认领）），请督促办理" in bodies["t-dept-late"]


def test_working_days_late_counted_a_year_at_a_time_match_a_day_by_day_walk(sqlite_services):
    """The prefix sums per year give the same count as walking the calendar day by day, across year ends, from an
    hour late to past the ten-year cap, over the statutory holidays and their adjusted working days."""
    engine = sqlite_services.engine
    rng = random.Random(15)
    with engine.reading() as session:
        calendars = {}

        def walked(due_at, now):
            day, today, count, steps = due_at.astimezone(LOCAL_TZ).date(), now.astimezone(LOCAL_TZ).date(), 0, 0
            while day < today and steps < board.MAX_LATE_SPAN:
                day, steps = day + timedelta(days=1), steps + 1
                calendars.setdefault(day.year, year_calendar(session, day.year))
                count += calendars[day.year].is_working(day)
            return count

        now = datetime(2026, 1, 2, 3, 0, tzinfo=UTC)
        spans = [timedelta(hours=1), timedelta(days=1), timedelta(days=3), timedelta(days=400),
                 timedelta(days=board.MAX_LATE_SPAN + 40)] + [timedelta(hours=rng.randint(1, 24 * 900))
                                                             for _ in range(300)]
        for span in spans:
            assert board.working_days_late(session, now - span, now) == walked(now - span, now), span
