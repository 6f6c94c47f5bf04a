"""The inbox's 督办 tab for those who watch a unit (the late tasks there, 催办 on each row, the board a link away)
and the 催办 / 查看 actions on an escalation notice (tests/support/board.py's hand-built board)."""

from __future__ import annotations

from sqlalchemy import select

from domain.notifications.models import Notification
from engine.store.models import OutboxMessage
from tests.support.board import NOW, build
from tests.support.sqlcount import counting

from .conftest import csrf_of


def notice(engine, username: str, task_id: str, key: str) -> None:
    with engine.unit_of_work() as session:
        session.add(Notification(idempotency_key=key, username=username, kind="escalation", level=1, task_id=task_id,
                                 title=f"逾期督办 {task_id}", body="", created_at=NOW))


def test_a_township_supervisor_sees_the_late_tasks_of_their_township_only(web_engine, login):
    build(web_engine, demo=False)
    client = login("supervisor_xunchang")
    inbox = client.get("/inbox").get_data(as_text=True)
    assert 'href="/inbox?tab=supervise"' in inbox and 'class="count late">2</span>' in inbox
    page = client.get("/inbox?tab=supervise").get_data(as_text=True)
    assert "任务 t-hall-late" in page and "任务 t-dept-late" in page
    assert "任务 t-county-late" not in page and "任务 t-gongquan-risk" not in page and "t-xunchang-open" not in page
    assert page.index("任务 t-dept-late") < page.index("任务 t-hall-late")          # the latest first
    assert "7 个工作日" in page and "一级" in page and "县住房和城乡建设局" in page     # days late, level, holder
    assert 'action="/board/tasks/t-hall-late/urge"' in page and 'href="/board"' in page
    assert "每页 20 项，共 2 项" in page
    assert 'class="count late">2</span>' in page          # the tab's badge on its own page: the list's total


def test_people_who_watch_nothing_have_no_supervision_tab(web_engine, login):
    build(web_engine, demo=False)
    client = login("m001")
    assert "tab=supervise" not in client.get("/inbox").get_data(as_text=True)
    assert client.get("/inbox?tab=supervise").status_code == 403
    token = csrf_of(client.get("/inbox").get_data(as_text=True))
    assert client.post("/board/tasks/t-hall-late/urge", data={"csrf_token": token}).status_code == 403


def test_urge_from_the_tab_reaches_the_holder_once(web_engine, login):
    build(web_engine, demo=False)
    client = login("supervisor_xunchang")
    token = csrf_of(client.get("/inbox?tab=supervise").get_data(as_text=True))
    first = client.post("/board/tasks/t-hall-late/urge", data={"csrf_token": token, "note": "请尽快",
                                                               "next": "/inbox?tab=supervise"})
    assert first.status_code == 302 and first.headers["Location"] == "/inbox?tab=supervise"
    page = client.get("/inbox?tab=supervise").get_data(as_text=True)
    assert "累计催办 1 次" in page and "1 次" in page
    again = client.post("/board/tasks/t-hall-late/urge", data={"csrf_token": token, "next": "//evil.example/x"})
    assert again.headers["Location"] == "/board/tasks"                           # never another site
    assert "一小时内请勿重复催办" in client.get("/inbox?tab=supervise").get_data(as_text=True)
    with web_engine.reading() as session:
        told = sorted(m.recipient for m in session.scalars(select(OutboxMessage).where(
            OutboxMessage.task_id == "t-hall-late", OutboxMessage.idempotency_key.like("%:urge:%"),
            OutboxMessage.recipient.isnot(None))))
    assert told == ["lead_xunchang", "organizer_xunchang"]


def test_an_escalation_notice_offers_urge_and_view_within_the_supervisors_scope(web_engine, login):
    build(web_engine, demo=False)
    notice(web_engine, "supervisor_xunchang", "t-hall-late", "n-hall")
    notice(web_engine, "supervisor_xunchang", "t-county-late", "n-county")     # not theirs to urge
    client = login("supervisor_xunchang")
    page = client.get("/notifications").get_data(as_text=True)
    assert page.count('action="/board/tasks/') == 1 and 'action="/board/tasks/t-hall-late/urge"' in page
    assert 'href="/tasks/t-hall-late"' in page and 'href="/inbox?tab=supervise"' in page
    token = csrf_of(page)
    back = client.post("/board/tasks/t-hall-late/urge", data={"csrf_token": token, "next": "/notifications"})
    assert back.headers["Location"] == "/notifications"
    assert "已催办" in client.get("/notifications").get_data(as_text=True)


def test_the_tab_reads_the_units_names_once_for_holders_and_units(web_engine, login):
    build(web_engine, demo=False)
    client = login("supervisor_xunchang")
    with counting(web_engine.sessions.kw["bind"]) as seen:
        page = client.get("/inbox?tab=supervise").get_data(as_text=True)
    assert "县住房和城乡建设局" in page                 # an unclaimed task's holder, in the unit's words
    assert len([s for s in seen.sql if "FROM org_unit" in s and "org_unit.code IN" in s]) == 1, seen.sql


def test_a_supervisor_without_work_of_their_own_lands_on_the_late_tasks_they_watch(web_engine, login):
    """Opening 待办 with nothing assigned or claimable shows 督办 (their work is chasing others), not an empty tab;
    any tab, filter or search they ask for is kept, and a supervisor with nothing late lands as anyone does."""
    build(web_engine, demo=False)
    client = login("supervisor_xunchang")
    landing = client.get("/inbox").get_data(as_text=True)
    assert "<title>督办 · 待办" in landing and 'href="/inbox?tab=supervise" class="on"' in landing
    assert "任务 t-hall-late" in landing and "任务 t-dept-late" in landing and "每页 20 项，共 2 项" in landing
    chosen = client.get("/inbox?tab=assigned").get_data(as_text=True)
    assert 'class="on">我的待办' in chosen and "目前没有分配给您的任务。" in chosen and "t-hall-late" not in chosen
    searched = client.get("/inbox?q=路灯").get_data(as_text=True)
    assert "没有符合筛选条件的任务。" in searched and 'href="/inbox?tab=assigned">清除筛选' in searched
    english = client.get("/inbox?lang=en").get_data(as_text=True)
    assert 'href="/inbox?tab=supervise" class="on">Supervision' in english and "t-hall-late" in english
    assert ">1 working day<" in english and ">7 working days<" in english and ">0 times<" in english   # plurals
    calm = login("supervisor_gongquan").get("/inbox").get_data(as_text=True)      # at risk there, none late
    assert 'class="on">我的待办' in calm and "目前没有分配给您的任务。" in calm and "t-gongquan-risk" not in calm
