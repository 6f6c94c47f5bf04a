"""The inbox's kept counts (engine.store.task_counts) equal a recount of the rows after every kind of change — claim,
release, reassign, return, complete, cancel (a scenario walk checks after every command: test_figure_counts.py; a
migration: test_migration.py) — on SQLite and PostgreSQL, and with two processes writing at once on PostgreSQL; and
an inbox page's counts are the number of rows the tab lists."""

from __future__ import annotations

import copy
import subprocess
import sys
import textwrap
from datetime import timedelta

import pytest
from sqlalchemy import update

from domain.services import Services
from domain.work import inbox
from engine.store.models import HumanTask
from tests.conftest import DATA
from tests.support.consultation import SCENARIOS, advance
from tests.support.open_counts import inbox_kept_and_recounted

ANSWER = {"opinion": "同意办理", "amount": 5}        # a step of tests/data/six_step


def _same(engine) -> dict:
    kept, recounted = inbox_kept_and_recounted(engine)
    assert kept == recounted
    return kept


def _listed(services: Services, username: str, tab: str) -> list[str]:
    """Every task id of a tab, paged through 2 at a time."""
    user, ids, after = services.accounts.user(username), [], None
    while True:
        page = services.participation.inbox(user, tab=tab, after=after, per_page=2)
        ids += [item.task_id for item in page.items]
        if page.next is None:
            return ids
        after = page.next


def test_every_change_to_a_task_moves_its_count(consultation, services):
    scenario = copy.deepcopy(SCENARIOS["county"])
    ids = [consultation.start_instance("consultation", scenario.intake(), actor="m001") for _ in range(3)]
    triage = [consultation.list_tasks(instance_id=i)[0].id for i in ids]
    assert _same(consultation)[("c", "office", "county")] == 3
    consultation.claim_task(triage[0], "office")                       # claim
    assert _same(consultation)[("a", "office", "")] == 1
    consultation.reassign_task(triage[0], "office2", actor="office")   # reassign
    kept = _same(consultation)
    assert kept[("a", "office2", "")] == 1 and ("a", "office", "") not in kept
    consultation.release_task(triage[0], "office2")                     # release
    assert _same(consultation)[("c", "office", "county")] == 3
    consultation.claim_task(triage[1], "office")
    advance(consultation, ids[1], copy.deepcopy(scenario), stop_before="define_topic")       # complete
    kept = _same(consultation)
    assert kept[("c", "office", "county")] == 2 and kept[("d", "office", "")] == 1
    consultation.cancel_instance(ids[2], actor="admin", reason="test")  # cancel
    assert _same(consultation)[("c", "office", "county")] == 1
    for username, tab in (("office", "claimable"), ("office", "done"), ("office", "assigned")):
        page = services.participation.inbox(services.accounts.user(username), tab=tab)
        assert page.counts[tab] == len(_listed(services, username, tab)) and not page.capped


@pytest.mark.parametrize("read_at_once", [True, False], ids=["rows-read-at-once", "huge-case-statements"])
def test_one_cases_tabs_are_the_whole_inbox_rows_of_that_case(consultation, services, monkeypatch, read_at_once):
    """The `instance_id` filter counts and pages one case's rows on their own (read at once, or by statements for a
    case over CASE_ROWS): the same counts, rows and order as the whole tabs give for that case, page by page both
    ways, on SQLite and PostgreSQL."""
    if not read_at_once:
        monkeypatch.setattr(inbox, "CASE_ROWS", 0)
    scenario = copy.deepcopy(SCENARIOS["county"])
    ids = [consultation.start_instance("consultation", scenario.intake(), actor="m001") for _ in range(3)]
    consultation.claim_task(consultation.list_tasks(instance_id=ids[0])[0].id, "office")
    consultation.claim_task(consultation.list_tasks(instance_id=ids[1])[0].id, "office")
    advance(consultation, ids[1], copy.deepcopy(scenario), stop_before="define_topic")
    consultation.deploy([DATA / "six_step"], actor="owner")
    ids.append(consultation.start_instance("six_step", {}, actor="m001"))
    for _ in range(3):        # m001 did three steps of one case: its done tab there holds three rows to page through
        consultation.complete_task(consultation.list_tasks(instance_id=ids[-1])[0].id, ANSWER, "m001")
    consultation.deploy([DATA / "spiffarena_flat"], actor="owner")
    ids.append(consultation.start_instance("field_survey", {}, actor="m001"))    # three open tasks m001 holds
    now = consultation.clock.now()
    with consultation.unit_of_work() as session:   # due times out of id order, and one without: both segments
        for task_id, due in zip(sorted(t.id for t in consultation.list_tasks(instance_id=ids[-1])),
                                (now + timedelta(days=3), now + timedelta(days=1), None), strict=True):
            session.execute(update(HumanTask).where(HumanTask.id == task_id).values(due_at=due))
    seen, longest = set(), 0
    for username in ("office", "office2", "m001"):
        user = services.accounts.user(username)
        whole = {tab: services.participation.inbox(user, tab=tab, per_page=100).items
                 for tab in ("assigned", "claimable", "involved", "done")}
        seen |= {tab for tab, items in whole.items() if items}
        for instance_id in ids:
            expected = {tab: [i for i in items if i.instance_id == instance_id] for tab, items in whole.items()}
            for tab, items in expected.items():
                page = services.participation.inbox(user, tab=tab, instance_id=instance_id)
                assert list(page.items) == items, (username, instance_id, tab)
                assert page.counts == {name: len(rows) for name, rows in expected.items()} and not page.capped
                assert _paged(services, user, tab, instance_id) == [i.task_id for i in items], (username, tab)
                longest = max(longest, len(items))
    assert seen == {"assigned", "claimable", "involved", "done"} and longest >= 3


def _paged(services: Services, user, tab: str, instance_id: int) -> list[str]:
    """One case's task ids of a tab, one per page forwards; the same read backwards from the last page."""
    forwards, pages, after = [], [], None
    while True:
        page = services.participation.inbox(user, tab=tab, instance_id=instance_id, after=after, per_page=1)
        forwards += [item.task_id for item in page.items]
        pages.append(page)
        if page.next is None:
            break
        after = page.next
    backwards, before = [item.task_id for item in pages[-1].items], pages[-1].prev
    while before is not None:
        page = services.participation.inbox(user, tab=tab, instance_id=instance_id, before=before, per_page=1)
        backwards = [item.task_id for item in page.items] + backwards
        before = page.prev
    assert backwards == forwards
    return forwards


def test_a_returned_task_moves_its_count(consultation_services):
    engine = consultation_services.engine
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = engine.start_instance("consultation", scenario.intake(), actor="m001")
    advance(engine, instance_id, scenario, stop_before="define_topic")
    [task] = engine.list_tasks(instance_id=instance_id)
    holder = engine.get_task(task.id).candidates[0]
    engine.claim_task(task.id, holder)
    consultation_services.participation.return_task(task.id, consultation_services.accounts.user(holder), "请补充材料")
    kept = _same(engine)
    assert sum(n for (kind, *_rest), n in kept.items() if kind in "ac") == len(engine.list_tasks())


WRITER = textwrap.dedent("""
    import sys
    from domain.services import Services
    from engine.clock import FrozenClock
    from datetime import datetime
    services = Services.from_url(sys.argv[1], FrozenClock(datetime.fromisoformat(sys.argv[2])))
    for _ in range(int(sys.argv[3])):
        for task_id in sys.argv[4:]:
            services.engine.claim_task(task_id, "office")
            services.engine.release_task(task_id, "office")
        services.engine.claim_task(sys.argv[4], "office")
        services.engine.reassign_task(sys.argv[4], "office2", actor="office")
        services.engine.release_task(sys.argv[4], "office2")
    services.close()
""")


@pytest.mark.slow
def test_two_processes_writing_at_once_keep_the_counts_on_postgres(consultation):
    url = consultation.sessions.kw["bind"].url.render_as_string(hide_password=False)
    if not url.startswith("postgresql"):
        pytest.skip("SQLite writes one at a time: nothing runs concurrently there")
    scenario = copy.deepcopy(SCENARIOS["county"])
    ids = [consultation.start_instance("consultation", scenario.intake(), actor="m001") for _ in range(4)]
    tasks = [consultation.list_tasks(instance_id=i)[0].id for i in ids]
    now = consultation.clock.now().isoformat()
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, url, now, "6", *half])
               for half in (tasks[:2], tasks[2:])]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0]
    kept = _same(consultation)
    assert kept[("c", "office", "county")] == 4 and ("a", "office", "") not in kept
