"""The deadline rules page: the table the engine applies, in words, per step and tier; process owners, supervisors
and the office read it, others get 403; English available. The task page says when a due date counts from a case
date."""

from __future__ import annotations

import copy
import html

import pytest

from tests.support.consultation import SCENARIOS, advance


def _page(client, lang: str = "zh_CN") -> str:
    response = client.get(f"/deadlines?lang={lang}")
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def _step(page: str, step: int) -> str:
    start = page.index(f'id="step-{step}"')
    return page[start:page.index("</section>", start)]


@pytest.mark.parametrize("who", ["owner", "office", "supervisor_xunchang", "supervisor_county"])
def test_owners_supervisors_and_the_office_read_the_rules(client, login, who):
    login(who)
    page = _page(client)
    assert "时限规则" in page and 'href="/deadlines"' in page          # in the menu too
    meeting = _step(page, 4)
    assert "组织协商会议" in meeting
    assert meeting.count("自案件日期“拟定协商会议日期”当日结束起算") == 3      # every tier counts from the plan's date
    township = meeting[meeting.index('data-tier="township"'):]
    township = township[:township.index("</tr>")]
    assert "3 个工作日" in township and "到期前 1 个自然日 提醒任务办理人" in township
    assert "到期后再过 2 个工作日，上报县政协领导和督办人员" in township
    visit = _step(page, 6)
    assert visit.count("自本步骤第一个任务生成起算（等待期不计入）") == 3 and "10 个工作日" in visit
    assert "回访问效" in visit and "督办" in visit
    assert "自本步骤开始起算" in _step(page, 1) and "7 个工作日" not in _step(page, 1)
    assert "再次办理答复：以“督办时限”所填日期当日结束为期限" in page


@pytest.mark.parametrize("who", ["m001", "organizer_xunchang", "liaison_housing"])
def test_others_may_not(client, login, who):
    login(who)
    assert client.get("/deadlines").status_code == 403
    assert 'href="/deadlines"' not in client.get("/overview").get_data(as_text=True)


def test_signed_out_goes_to_sign_in(client):
    assert client.get("/deadlines").status_code in {302, 401}


def test_the_rules_read_in_english(client, login):
    login("office")
    page = _page(client, "en")
    assert "Deadline rules" in page and "The end of the case's date" in page
    assert "When the step's first task is created (waiting time not counted)" in page
    assert "10 working days" in page and "Escalation level 2" in page
    assert "个工作日" not in page and "自本步骤" not in page


def test_the_task_page_says_the_due_date_counts_from_the_meeting_date(client, login, web_engine):
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = web_engine.start_instance("consultation", scenario.intake(), actor="m001")
    advance(web_engine, instance_id, scenario, "hold_meeting")
    [meeting] = web_engine.list_tasks(instance_id=instance_id)
    login(meeting.candidates[0])
    page = html.unescape(client.get(f"/tasks/{meeting.id}").get_data(as_text=True))
    assert "期限起算" in page and "自“拟定协商会议日期”2026-04-15 当日结束起算" in page
    assert "该日期已过" not in page
    web_engine.clock.set(meeting.due_at.replace(day=25))        # the meeting day and its days for minutes passed
    page = html.unescape(client.get(f"/tasks/{meeting.id}?lang=en").get_data(as_text=True))
    assert "The end of “" in page and "(2026-04-15)" in page and "the task was due when it was created" in page
