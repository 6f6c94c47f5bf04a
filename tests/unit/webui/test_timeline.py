"""The instance page tells what happened in words; /overview is in Beijing time; the inbox opens where the work is."""

from __future__ import annotations

import copy
import html
import re
from datetime import timedelta

from tests.support.consultation import SCENARIOS
from tests.unit.webui.test_pages import _advance_to


def _timeline(client, instance_id: int) -> str:
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    part = page[page.index('<ul class="timeline">'):]
    text = html.unescape(re.sub(r"<[^>]+>", " ", part[:part.index("</ul>")]))
    return re.sub(r"\s+", " ", text).replace(" ： ", "：")


def _started(web_engine, **changes):
    scenario = copy.deepcopy(SCENARIOS["township"])
    for name, value in changes.items():
        setattr(scenario, name, value)
    return web_engine.start_instance("consultation", scenario.intake(), actor="m001"), scenario


def test_a_returned_plan_shows_its_reason_and_the_approval_after_it(web_engine, client, login):
    instance_id, scenario = _started(web_engine, plan_revisions=1)
    _advance_to(web_engine, instance_id, scenario, "summarize_research")
    login("office")
    text = _timeline(client, instance_id)
    assert "审核协商方案：退回修改 理由：请补充群众代表名单。" in text      # the lead's words, not an event code
    assert "审核协商方案：通过" in text and "受理分流：受理" in text and "task_completed" not in text


def test_an_escalation_names_the_level_the_step_and_who_held_the_late_task(web_engine, web_services, client,
                                                                           login):
    instance_id, scenario = _started(web_engine)
    task = _advance_to(web_engine, instance_id, scenario, "define_topic")
    holder = task.candidates[0]
    web_engine.claim_task(task.id, holder)
    web_services.sweep(task.due_at + timedelta(seconds=1))
    web_engine.clock.set(task.due_at + timedelta(days=30))
    web_services.sweep(web_engine.clock.now())
    login("office")
    text = _timeline(client, instance_id)
    page = re.sub(r"<[^>]+>|\s+", "", client.get(f"/instances/{instance_id}").get_data(as_text=True))
    name = web_services.accounts.user(holder).display_name
    assert f"状态：办理中·正在办理：确定协商主题·办理人：{name}已超期" in page    # in words, not only colour
    assert f"超期督办：升级至第 1 级 · 确定协商主题 超期未办：{name}" in text
    assert f"超期督办：升级至第 2 级 · 确定协商主题 超期未办：{name}" in text
    english = client.get(f"/instances/{instance_id}?lang=en").get_data(as_text=True)
    assert "escalated to level 2" in english and "Late: " in english


def test_an_escalation_of_an_unclaimed_task_names_the_role_that_should_have_taken_it(web_engine, web_services,
                                                                                    client, login):
    instance_id, scenario = _started(web_engine)
    task = _advance_to(web_engine, instance_id, scenario, "define_topic")
    if task.assignee:
        web_engine.release_task(task.id, task.assignee)
    web_services.sweep(task.due_at + timedelta(seconds=1))
    login("office")
    text = _timeline(client, instance_id)
    assert re.search(r"超期督办：升级至第 1 级 · 确定协商主题 超期未办：无人认领（[^）]+）", text)
    english = client.get(f"/instances/{instance_id}?lang=en").get_data(as_text=True)
    assert "nobody had claimed it (" in english and "无人认领" not in english


def test_reassignment_and_extensions_are_told_from_whom_to_whom(web_engine, web_services, client, login):
    instance_id, scenario = _started(web_engine)
    task = _advance_to(web_engine, instance_id, scenario, "research")
    first, second = task.assignee, next(r for r in scenario.researchers if r != task.assignee)
    web_engine.reassign_task(task.id, second, actor=first)
    accounts = web_services.accounts
    request_id = web_services.extensions.request(task.id, accounts.user(second), 3, "等待村民代表返乡")
    web_services.extensions.decide(request_id, accounts.user("supervisor_xunchang"), True)
    login("office")
    text = _timeline(client, instance_id)
    names = accounts.user(first).display_name, accounts.user(second).display_name
    assert "转办「调查研究」：{} → {}".format(*names) in text
    assert "申请延期 3 天 · 充分调查研究 理由：等待村民代表返乡" in text and "批准延期 3 天 · 新期限" in text
    again = web_services.extensions.request(task.id, accounts.user(second), 1, "再等一天")
    web_services.extensions.decide(again, accounts.user("supervisor_xunchang"), False)
    english = client.get(f"/instances/{instance_id}?lang=en").get_data(as_text=True)
    assert "Extension of 3 days approved" in english and "Extension of 1 day rejected" in english     # plurals
    assert "Asked for 3 more days" in english and "Asked for 1 more day ·" in english


def test_overview_times_are_beijing_time(web_engine, client, login):
    web_engine.start_instance("mini", {"title": "路灯"})          # updated at 01:00 UTC = 09:00 in Beijing
    login("office")
    page = client.get("/overview").get_data(as_text=True)
    assert "2026-03-02 09:00" in page and "2026-03-02 01:00" not in page
    assert '<td>小流程 <span class="muted">mini</span></td>' in page      # a deployed process by its diagram's name


def test_the_inbox_opens_the_tab_that_has_work_and_keeps_an_explicit_choice(web_engine, client, login):
    _started(web_engine)                        # triage waits, claimable by the office; nothing is assigned to it
    login("office")
    landing = client.get("/inbox").get_data(as_text=True)
    assert re.search(r'tab=claimable[^>]*class="on"', landing) and "目前没有分配给您的任务" not in landing
    chosen = client.get("/inbox?tab=assigned").get_data(as_text=True)
    assert re.search(r'tab=assigned[^>]*class="on"', chosen) and "目前没有分配给您的任务。" in chosen
    assert '其他分类中有任务：' in chosen and '<a href="/inbox?tab=claimable">可认领 1</a>' in chosen
    login("m001")               # the proposer: the triage shows under 我参与的, which is others' work, not theirs
    own = client.get("/inbox").get_data(as_text=True)
    assert re.search(r'tab=assigned[^>]*class="on"', own) and "目前没有分配给您的任务。" in own
    assert '<a href="/inbox?tab=involved">我参与的 1</a>' in own and "tab=supervise" not in own


def test_the_follow_up_wait_ending_is_told_by_its_name(web_engine, web_services, client, login):
    """The timer the sweep fires is told as the wait that ended (回访等待), not as a deadline reminder."""
    instance_id, scenario = _started(web_engine)
    for _ in range(40):
        tasks = web_engine.list_tasks(instance_id=instance_id)
        if not tasks:
            break
        task = tasks[0]
        data = scenario.answer(task.task_spec, web_engine.show_instance(instance_id).data)
        web_engine.complete_task(task.id, data, actor=task.candidates[0])
    due = web_engine.show_instance(instance_id).next_timer_at
    assert due is not None
    web_services.sweep(due + timedelta(seconds=1))
    assert [t.task_spec for t in web_engine.list_tasks(instance_id=instance_id)] == ["follow_up_visit"]
    login("office")
    text = _timeline(client, instance_id)
    assert "「回访等待」期满，流程继续" in text and "到期提醒" not in text
    english = html.unescape(client.get(f"/instances/{instance_id}?lang=en").get_data(as_text=True))
    assert "“回访等待” is over; the process goes on" in english
