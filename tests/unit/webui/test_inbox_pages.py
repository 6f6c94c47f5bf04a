"""The inbox pages by keyset: every task exactly once while tasks are added between pages, forwards and back; counts
from the kept counters, or counted only up to a cap and shown as "9,999+"; the first tab with work by default; and a
fixed, small number of SQL statements per page."""

from __future__ import annotations

import lxml.html
import pytest
from sqlalchemy import event, update

from domain.work import inbox
from engine.store.models import HumanTask
from tests.support.consultation import SCENARIOS

STATEMENTS_PER_PAGE = 3         # the counts, the page, the page's titles
STATEMENTS_PER_WEB_PAGE = 8     # … plus the signed-in person, their memberships, the step names and the like


def _start(engine, n: int) -> list[str]:
    """n county consultations: n triage tasks the office may claim; their ids."""
    ids = [engine.start_instance("consultation", SCENARIOS["county"].intake(), actor="m001") for _ in range(n)]
    return [engine.list_tasks(instance_id=i)[0].id for i in ids]


@pytest.fixture
def office_tasks(web_engine):
    """Seven claimable tasks for the office, two of them without a due time (listed last)."""
    ids = _start(web_engine, 7)
    with web_engine.unit_of_work() as session:
        session.execute(update(HumanTask).where(HumanTask.id.in_(ids[:2])).values(due_at=None))
    return ids


def _walk(web_services, web_engine, add_between: bool) -> tuple[list[str], list[list[str]]]:
    user, seen, pages, after = web_services.accounts.user("office"), [], [], None
    while True:
        page = web_services.participation.inbox(user, tab="claimable", after=after, per_page=2)
        pages.append([item.task_id for item in page.items])
        seen += pages[-1]
        if add_between:
            _start(web_engine, 1)
        if page.next is None:
            return seen, pages
        after = page.next


def test_paging_lists_every_task_once_while_tasks_are_added(web_services, web_engine, office_tasks):
    seen, pages = _walk(web_services, web_engine, add_between=True)
    assert len(seen) == len(set(seen)) and set(office_tasks) <= set(seen)
    assert seen[-2:] == sorted(office_tasks[:2])        # no due time: last, by id
    every = set(t.id for t in web_engine.list_tasks(actor="office"))
    assert set(seen) <= every and len(pages) >= 4


# 我参与的 reads its rows in one sort (domain/work/inbox.py _involved_ids): m001 started the office's seven cases
@pytest.mark.parametrize(("username", "tab"), [("office", "claimable"), ("m001", "involved")])
def test_paging_back_gives_the_same_pages(web_services, office_tasks, username, tab):
    user = web_services.accounts.user(username)
    forwards, after, page = [], None, None
    while page is None or page.next:
        page = web_services.participation.inbox(user, tab=tab, after=after, per_page=3)
        forwards.append(page)
        after = page.next
    assert [len(p.items) for p in forwards] == [3, 3, 1] and forwards[0].prev is None
    listed = [item.task_id for p in forwards for item in p.items]
    assert sorted(listed) == sorted(office_tasks) and listed[-2:] == sorted(office_tasks[:2])   # undated last
    dated = [item.due_at for p in forwards for item in p.items][:5]
    assert dated == sorted(dated) and None not in dated
    backwards, before = [forwards[-1]], forwards[-1].prev
    while before:
        backwards.insert(0, web_services.participation.inbox(user, tab=tab, before=before, per_page=3))
        before = backwards[0].prev
    assert [p.items for p in backwards] == [p.items for p in forwards]


def test_a_count_past_the_cap_is_shown_as_at_least(web_services, web_engine, office_tasks, monkeypatch):
    with web_engine.reading() as session:
        kept = inbox.inbox(session, web_services.accounts.user("office"), web_engine.clock.now(), tab="claimable",
                           cap=3)
        filtered = inbox.inbox(session, web_services.accounts.user("office"), web_engine.clock.now(),
                               tab="claimable", step=0, cap=3)
    assert kept.counts["claimable"] == 7 and not kept.capped            # a kept count is exact
    assert filtered.counts["claimable"] == 3 and filtered.capped == {"claimable"} and filtered.shown("claimable") \
        == "3+"
    assert inbox.shown(9_999, True) == "9,999+" and inbox.shown(12_345, False) == "12,345"


def test_the_web_inbox_shows_a_capped_count_and_pages(client, login, office_tasks, monkeypatch):
    monkeypatch.setattr(inbox, "COUNT_CAP", 3)
    login("office")
    html = lxml.html.fromstring(client.get("/inbox?tab=claimable&step=0&per_page=3").get_data(as_text=True))
    [count] = html.xpath("//nav[@class='tabs']/a[contains(@class, 'on')]/span[@class='count']")
    assert count.text == "3+" and "共 3+ 项" in html.xpath("//nav[@class='pager']")[0].text_content()
    rows, link = [], "/inbox?tab=claimable&step=0&per_page=3"
    while link:
        html = lxml.html.fromstring(client.get(link).get_data(as_text=True))
        rows += [a.get("href") for a in html.xpath("//table/tbody/tr/td[2]/a")]
        assert bool(html.xpath("//nav[@class='pager']/a[@rel='prev']")) == (len(rows) > 3)
        link = next(iter(html.xpath("//nav[@class='pager']/a[@rel='next']/@href")), None)
        assert link is None or "step=0" in link and "per_page=3" in link        # the filters stay on
    assert sorted(href.rsplit("/", 1)[1] for href in rows) == sorted(office_tasks)


def test_the_inbox_opens_on_the_first_tab_with_work(client, login, office_tasks):
    login("office")
    html = lxml.html.fromstring(client.get("/inbox").get_data(as_text=True))
    assert html.xpath("//nav[@class='tabs']/a[contains(@class, 'on')]")[0].text.strip() == "可认领"
    assert len(html.xpath("//table/tbody/tr")) == 7


def test_a_forged_cursor_is_a_400_with_the_first_page(client, login, office_tasks):
    login("office")
    response = client.get("/inbox?tab=claimable&after=bm90LWEtY3Vyc29y")
    assert response.status_code == 400 and "翻页链接无效" in response.get_data(as_text=True)
    assert len(lxml.html.fromstring(response.get_data(as_text=True)).xpath("//table/tbody/tr")) == 7


def _statements(engine, action) -> list[str]:
    bind, seen = engine.sessions.kw["bind"], []

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement)
    event.listen(bind, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(bind, "before_cursor_execute", record)
    return seen


@pytest.mark.parametrize("tab", inbox.TABS)
def test_an_inbox_page_runs_a_fixed_number_of_statements(web_services, web_engine, office_tasks, client, login, tab):
    user = web_services.accounts.user("office")
    first = web_services.participation.inbox(user, tab=tab, per_page=2)
    for after in (None, first.next):
        ran = _statements(web_engine, lambda a=after: web_services.participation.inbox(user, tab=tab, after=a,
                                                                                         per_page=2))
        assert len(ran) <= STATEMENTS_PER_PAGE, ran
    login("office")
    ran = _statements(web_engine, lambda: client.get(f"/inbox?tab={tab}"))
    assert len(ran) <= STATEMENTS_PER_WEB_PAGE, ran
