"""The inbox's kept counts (engine.store.task_counts) equal a recount of the rows after every kind of change — claim,
release, reassign, return, complete, cancel (a scenario walk checks after every command: test_figure_counts.py; a
migration: test_migration.py) — on SQLite and PostgreSQL, and with two processes writing at once on PostgreSQL; and
an inbox page's counts are the number of rows the tab lists."""

from __future__ import annotations

import copy
import subprocess
import sys
import textwrap

import pytest

from domain.services import Services
from tests.support.consultation import SCENARIOS, advance
from tests.support.open_counts import inbox_kept_and_recounted


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


def test_one_cases_tabs_are_the_whole_inbox_rows_of_that_case(consultation, services):
    """The `instance_id` filter counts and lists one case's rows in a pass of their own (not the tabs' ranges): the
    same counts, rows and order as the whole tabs give for that case, on SQLite and PostgreSQL."""
    scenario = copy.deepcopy(SCENARIOS["county"])
    ids = [consultation.start_instance("consultation", scenario.intake(), actor="m001") for _ in range(3)]
    consultation.claim_task(consultation.list_tasks(instance_id=ids[0])[0].id, "office")
    consultation.claim_task(consultation.list_tasks(instance_id=ids[1])[0].id, "office")
    advance(consultation, ids[1], copy.deepcopy(scenario), stop_before="define_topic")
    seen = set()
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
    assert seen == {"assigned", "claimable", "involved", "done"}


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
