"""The board's pages: the matrix, the list with its filters and exports, 催办 from the list and the task page, the
supervisor's landing (menu, inbox, overview link) and the urge on the case's timeline."""

from __future__ import annotations

import copy
import csv
import io
import re

from openpyxl import load_workbook
from sqlalchemy import select

from engine.store.models import OutboxMessage
from tests.support.board import build
from tests.support.consultation import SCENARIOS

from .conftest import csrf_of


def test_the_matrix_links_each_cell_to_its_list(web_engine, login):
    build(web_engine, demo=False)
    page = login("supervisor_county").get("/board").get_data(as_text=True)
    assert "督办看板" in page and "巡场镇" in page and "县住房和城乡建设局" in page
    assert 'href="/board/tasks?state=overdue&amp;unit=township_xunchang">1</a>' in page
    assert 'href="/board/tasks?state=overdue&amp;department=dept_housing">1</a>' in page
    assert 'href="/board/tasks?state=at_risk&amp;unit=township_gongquan">1</a>' in page


def test_members_have_no_board_and_no_menu_entry(web_engine, login):
    build(web_engine, demo=False)
    client = login("m001")
    assert client.get("/board").status_code == 403
    assert client.get("/board/tasks").status_code == 403
    assert client.get("/board/tasks.csv").status_code == 403
    assert 'href="/board"' not in client.get("/inbox").get_data(as_text=True)


def test_a_township_supervisor_lands_on_their_overdue_work(web_engine, login):
    build(web_engine, demo=False)
    client = login("supervisor_xunchang")
    inbox = client.get("/inbox").get_data(as_text=True)         # no work of their own: the late tasks they watch
    assert 'href="/board"' in inbox and 'class="count late">2</span>' in inbox and "任务 t-hall-late" in inbox
    assert "2 项任务已超期" in client.get("/inbox?tab=assigned").get_data(as_text=True)     # the card over a tab
    listing = client.get("/board/tasks?state=open").get_data(as_text=True)
    assert "任务 t-hall-late" in listing and "任务 t-dept-late" in listing
    assert "任务 t-county-late" not in listing and "任务 t-gongquan-risk" not in listing
    assert "共 3 项" in listing


def test_the_list_filters_sorts_and_says_what_it_dropped(web_engine, login):
    build(web_engine, demo=False)
    client = login("office")
    page = client.get("/board/tasks?state=open&step=3&sort=-due").get_data(as_text=True)
    assert page.index("任务 t-gongquan-risk") < page.index("任务 t-county-risk")
    assert "任务 t-hall-late" not in page
    bad = client.get("/board/tasks?tier=moon&from=2026-02-30").get_data(as_text=True)
    assert "筛选条件「层级」无效" in bad and "筛选条件「期限自」无效" in bad
    assert "共 3 项" in bad                      # the bad filters dropped: every overdue task
    assert "7 个工作日" in bad and "一级" in bad


def test_the_list_pages_by_links_forward_and_back_and_refuses_a_forged_one(web_engine, login):
    build(web_engine, demo=False)
    client = login("office")
    seen, url, pages = [], "/board/tasks?state=open&sort=-step&per_page=3", []
    while url:
        page = client.get(url).get_data(as_text=True)
        pages.append(page)
        seen += re.findall(r"任务 (t-[a-z-]+)", page)
        found = re.search(r'href="([^"]+)" rel="next"', page)
        url = found[1].replace("&amp;", "&") if found else None
        assert len(pages) < 5
    assert len(pages) == 3 and "每页 3 项，共 7 项" in pages[0] and 'rel="prev"' not in pages[0]
    assert len(set(seen)) == 7                                  # every open task once (names repeat in links)
    back = re.search(r'href="([^"]+)" rel="prev"', pages[1])[1].replace("&amp;", "&")
    assert "sort=-step" in back and "state=open" in back
    assert re.findall(r"任务 (t-[a-z-]+)", client.get(back).get_data(as_text=True)) == \
        re.findall(r"任务 (t-[a-z-]+)", pages[0])
    forged = client.get("/board/tasks?state=open&after=WyJkdWUiLCAxXQ")
    assert forged.status_code == 400
    text = forged.get_data(as_text=True)
    assert "翻页链接无效或已过期" in text and "共 7 项" in text          # the first page instead, with the reason


def test_exports_read_back(web_engine, login):
    build(web_engine, demo=False)
    client = login("office")
    response = client.get("/board/tasks.xlsx?state=overdue")
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("议题", "步骤", "任务", "办理人")
    assert [(r[2], r[6]) for r in rows[1:]] == [("任务 t-dept-late", 7), ("任务 t-county-late", 3),
                                              ("任务 t-hall-late", 1)]
    assert rows[1][1] == "回访督促问效" and rows[1][3] == "县住房和城乡建设局·承办单位联络员（待认领）"
    text = client.get("/board/tasks.csv?state=open&unit=township_xunchang").data.decode("utf-8-sig")
    read = list(csv.reader(io.StringIO(text)))
    assert [r[2] for r in read[1:]] == ["任务 t-hall-late", "任务 t-xunchang-open"]
    assert client.get("/board/tasks.pdf").status_code == 404


def post_urge(client, task_id: str, note: str = "", back: str = "/board/tasks"):
    token = csrf_of(client.get("/board/tasks?state=open").get_data(as_text=True))
    return client.post(f"/board/tasks/{task_id}/urge", data={"csrf_token": token, "note": note, "next": back})


def test_urge_from_the_list_once_then_refused(web_engine, login):
    build(web_engine, demo=False)
    client = login("supervisor_xunchang")
    first = post_urge(client, "t-hall-late", "请尽快")
    assert first.status_code == 302 and first.headers["Location"] == "/board/tasks"
    page = client.get("/board/tasks").get_data(as_text=True)
    assert "已催办" in page and "累计催办 1 次" in page
    again = post_urge(client, "t-hall-late", back="//evil.example/x")
    assert again.headers["Location"] == "/board/tasks"               # never another site
    assert "已于 09:00 催办过" in client.get("/board/tasks").get_data(as_text=True)
    with web_engine.reading() as session:
        told = sorted(m.recipient for m in session.scalars(select(OutboxMessage).where(
            OutboxMessage.task_id == "t-hall-late", OutboxMessage.idempotency_key.like("%:urge:%"),
            OutboxMessage.recipient.isnot(None))))
    assert told == ["lead_xunchang", "organizer_xunchang"]


def test_a_member_may_not_urge(web_engine, login):
    build(web_engine, demo=False)
    client = login("m001")
    token = csrf_of(client.get("/inbox").get_data(as_text=True))
    assert client.post("/board/tasks/t-hall-late/urge", data={"csrf_token": token}).status_code == 403


def test_urge_from_the_task_page_shows_on_the_timeline(web_engine, login):
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = web_engine.start_instance("consultation", scenario.intake(), actor="m001")
    [triage] = web_engine.list_tasks(instance_id=instance_id)
    web_engine.complete_task(triage.id, scenario.answer("triage", web_engine.show_instance(instance_id).data),
                             "office")
    [task] = web_engine.list_tasks(instance_id=instance_id)
    client = login("supervisor_xunchang")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert f'action="/board/tasks/{task.id}/urge"' in page
    response = client.post(f"/board/tasks/{task.id}/urge", data={"csrf_token": csrf_of(page), "note": "本周内定题",
                                                                   "next": f"/tasks/{task.id}"})
    assert response.headers["Location"] == f"/tasks/{task.id}"
    detail = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    name = client.application.extensions["xieshang"].accounts.user("supervisor_xunchang").display_name
    assert f"催办：{name} 催办 确定协商主题 · " in detail and "本周内定题" in detail
    member_page = login("m001").get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "/urge" not in member_page


def test_overview_overdue_number_leads_to_the_list(web_engine, login):
    build(web_engine, demo=False)
    page = login("office").get("/overview").get_data(as_text=True)
    assert 'href="/board/tasks?state=overdue"' in page
    assert 'href="/board/tasks?state=overdue"' not in login("m001").get("/overview").get_data(as_text=True)
