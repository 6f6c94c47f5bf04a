"""The demo's consultations: a fixed set of cases run THROUGH THE ENGINE over the last six months, so a fresh
`make run` shows the supervisors' pages (board, ledger, figures, heatmap, members' records, inboxes) with real rows.

Each case starts some days before now and its people answer every form as a `Scenario` says, the clock moving on a
case's pace between steps (and to the plan's meeting date for the meeting). A case stops when its next step would
come after now, or before the task it is meant to leave open (an overdue case). Deadlines are swept as the clock
moves, so late steps were reminded and escalated when they were late. One overdue task is urged by the county's
supervisor. Everything is deterministic but for `now`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.consultation import demo_data
from domain.consultation.scenarios import Scenario
from engine.clock import LOCAL_TZ, FrozenClock
from engine.store.models import ProcessInstance

PROCESS_ID = "consultation"
URGER = "supervisor_county"
# The steps whose answers read the case's data (the routing's tier and unit, the plan's unit, the visits to make);
# the others need only the task's own unit, and loading a case costs a workflow restore.
NEEDS_CASE_DATA = frozenset({"triage", "draft_plan", "follow_up_visit"})


@dataclass
class DatedScenario(Scenario):
    """A scenario whose dates follow the clock: the plan sets its meeting `meeting_in` days ahead, a leader's
    instruction is dated the day it is recorded, promises and the 督办时限 lie ahead of the day they are given."""

    today: date | None = None
    meeting_in: int = 10

    def answer(self, task_spec: str, data: dict) -> dict:
        """Valid form data for the task as of `today`."""
        if self.today is not None:
            self.instructed_on = self.today.isoformat()
            self.promised_date = (self.today + timedelta(days=90)).isoformat()
            self.supervision_deadline = (self.today + timedelta(days=20)).isoformat()
            if task_spec == "draft_plan":
                self.meeting_date = (self.today + timedelta(days=self.meeting_in)).isoformat()
        return super().answer(task_spec, data)


@dataclass(frozen=True)
class DemoCase:
    """One demo consultation: who starts it, how many days ago, how many days each step takes, and the task it is
    left at (None: as far as now allows)."""

    scenario: DatedScenario
    started_days_ago: int
    pace_days: float = 2.0
    stop_before: str | None = None
    urge: bool = False
    starter: str = "m001"


def _members_of(code: str) -> tuple[str, ...]:
    """The demo members of an org unit (township, sector group or committee), in account order."""
    return tuple(user for role, user in demo_data.memberships_by_org(demo_data.users()).get(code, ())
                 if role == "member")


def _worded(topic: str, places: str) -> dict:
    """A case's plan and report in its own topic's words (not every demo case is about the old street's lights)."""
    return {"plan_goal": f"摸清「{topic}」的现状和群众诉求，提出解决办法",
            "research_questions": "问题现状、涉及群众、责任单位、资金来源", "visited_places": places,
            "report_title": f"关于{topic}的协商报告"}


def _township(pinyin: str, title: str, topic: str, suggestions, **kwargs) -> DatedScenario:
    members = _members_of(f"township_{pinyin}")
    worded = {**_worded(topic, demo_data.township_places(pinyin)), **kwargs}
    return DatedScenario(title, title=title, description=f"群众反映：{title}，希望尽快协商解决。", topic=topic,
                         scope=worded.pop("scope", "township"), township=f"township_{pinyin}",
                         researchers=members[:2], suggestions=suggestions, **worded)


def _wide(scope: str, category: str, committee: str | None, title: str, topic: str, suggestions,
          **kwargs) -> DatedScenario:
    members = _members_of(committee) if committee else ("m003", "m017", "m042")
    return DatedScenario(title, title=title, description=f"多方反映：{title}，涉及面广，需要协商。", topic=topic,
                         scope=scope, category=category, researchers=members[:3], suggestions=suggestions,
                         **{**_worded(topic, "有关乡镇和县直部门"), **kwargs})


def cases() -> list[DemoCase]:
    """The demo's cases, fresh (a scenario counts the rounds it has answered)."""
    return [
        # Finished: every suggestion answered, visited and rated.
        DemoCase(_township("xunchang", "老街夜间照明不足", "老街夜间照明与出行安全",
                           (("增设老街路灯 20 盏", "dept_housing"), ("优化夜间公交班次", "dept_transport"))), 178),
        DemoCase(_township("gongquan", "珙泉农贸市场周边占道经营", "农贸市场周边秩序整治",
                           (("划定临时摊位区", "dept_market"), ("增设停车泊位", "gov_gongquan")),
                           category="governance", adoption="partly"), 172, 2.5),
        DemoCase(_township("luodu", "罗渡村道雨季塌方", "村道安全与养护", (("修缮村道", "dept_transport"),),
                           scope="village", adoption="not_adopted", source="visit", proposer="office"), 168,
                 starter="office"),
        DemoCase(_township("didong", "底洞场镇自来水水压不足", "场镇供水保障",
                           (("更换老旧供水管网", "svc_water"), ("新建加压泵站", "dept_water")),
                           adoption="solved"), 160, 1.5),
        DemoCase(_township("luobiao", "洛表古镇停车难", "古镇停车与旅游秩序",
                           (("新建游客停车场", "dept_culture"), ("设置限时停车位", "gov_luobiao")),
                           unsatisfied_rounds=1, unsatisfied_ids=(1,)), 165),
        DemoCase(_township("wangjia", "王家镇小学上下学交通拥堵", "校园周边交通安全",
                           (("增设学校门口减速带", "dept_transport"), ("错峰放学", "dept_education")),
                           category="education", instruction="none"), 150, 1.5),
        DemoCase(_township("mutan", "沐滩河沿岸垃圾堆放", "河道环境整治",
                           (("设置垃圾收集点", "gov_mutan"), ("开展河道清漂", "dept_ecology")),
                           category="environment", source="member", proposer="m009"), 145, 2.0,
                 starter="m009"),
        DemoCase(_wide("multi_township", "agriculture", "committee_agriculture", "茶叶产业链条短、品牌弱",
                       "做强珙县茶叶产业", (("建设茶叶初加工中心", "dept_agriculture"),
                                      ("打造区域公用品牌", "dept_economy")), adoption="partly"), 176, 2.5),
        DemoCase(_wide("multi_township", "health", "committee_social", "乡镇卫生院人才流失",
                       "基层医疗人才队伍建设", (("提高基层医务人员待遇", "dept_health"),
                                        ("定向培养乡村医生", "dept_hr")), unsatisfied_rounds=1), 170, 2.0),
        DemoCase(_wide("county", "economy", None, "县城老旧小区改造进度慢", "老旧小区改造提速",
                       (("编制三年改造计划", "dept_housing"), ("引入社会资本参与", "dept_drc"),
                        ("同步改造供电线路", "svc_power")), plan_revisions=1), 180, 2.5),
        DemoCase(_wide("county", "elderly", None, "农村留守老人照护缺口", "农村养老服务体系建设",
                       (("每个乡镇建设一所区域养老中心", "dept_civil"), ("发展互助养老", "dept_civil")),
                       adoption="partly", report_revisions=1), 166, 2.0),
        DemoCase(DatedScenario("declined", title="邻里噪音纠纷请求调解", decline=True), 120),
        # In progress, on time: at the meeting, with the departments, waiting for the follow-up, being researched.
        DemoCase(_township("caoying", "曹营镇集镇污水直排", "集镇污水收集处理",
                           (("建设污水管网", "dept_housing"), ("加强排污监管", "dept_ecology")),
                           category="environment"), 32, 1.5),
        DemoCase(_township("xiaoer", "孝儿镇便民服务中心办事排长队", "便民服务提质增效",
                           (("增设自助服务终端", "gov_xiaoer"),), category="governance"), 75, 2.0),
        DemoCase(_township("shangluo", "上罗镇农村客运班次少", "农村客运通达",
                           (("加密农村客运班次", "dept_transport"),), category="transport"), 12, 2.0),
        DemoCase(_wide("multi_township", "economy", "committee_economy", "中小企业融资难", "优化中小企业融资服务",
                       (("设立应急转贷资金", "dept_economy"), ("开展银企对接", "dept_drc"))), 45, 2.0),
        DemoCase(_wide("county", "education", None, "县城学位紧张", "义务教育学位供给",
                       (("新建城北小学", "dept_education"), ("优化学区划分", "dept_education"))), 20, 2.0),
        DemoCase(_township("guandou", "观斗苗族乡民族文化传承", "民族文化保护传承",
                           (("建设民族文化陈列室", "dept_culture"),), category="other"), 6, 1.0),
        # At risk (临期): the topic is due tomorrow.
        DemoCase(_township("gongquan", "珙泉镇老旧小区加装电梯", "老旧小区加装电梯",
                           (("简化加装电梯审批", "dept_housing"),), category="elderly"), 4, 0.3,
                 stop_before="define_topic"),
        # Overdue: left at a task whose deadline has passed (the sweep reminded and escalated it).
        DemoCase(_township("xunchang", "巡场镇背街小巷路面破损", "背街小巷路面修复",
                           (("修复背街小巷路面", "dept_housing"), ("完善排水沟", "dept_water"))),
                 80, 1.5, stop_before="answer_suggestion", urge=True),
        DemoCase(_township("luohai", "洛亥镇山洪灾害隐患", "山洪灾害防治", (("建设监测预警点", "dept_emergency"),),
                           category="other"), 40, 1.0, stop_before="research"),
        DemoCase(_wide("multi_township", "transport", "committee_economy", "跨乡镇公路养护责任不清", "农村公路养护",
                       (("明确养护责任清单", "dept_transport"),)), 60, 1.0, stop_before="review_plan"),
        DemoCase(_wide("county", "health", None, "县医院看病排队时间长", "县域医疗服务提质",
                       (("推行分时段预约", "dept_health"),)), 50, 1.0, stop_before="define_topic"),
        DemoCase(_township("yuhe", "玉和苗族乡饮水安全", "农村饮水安全", (("新建集中供水点", "dept_water"),),
                           category="health"), 110, 1.5, stop_before="answer_suggestion"),
    ]


def has_cases(session: Session) -> bool:
    """Whether any consultation was ever started (the demo adds its cases only to a database without one)."""
    return session.scalar(select(ProcessInstance.id).limit(1)) is not None


def _local_day(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TZ).date()


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), LOCAL_TZ)


def run_case(services, case: DemoCase, now: datetime, rng: random.Random) -> int:
    """Start the case at its start day and answer its tasks step by step until it ends, its next step would come
    after `now`, or the task it stops before is ready; returns the instance id. `services.engine.clock` must be a
    FrozenClock: it is moved here."""
    engine, clock, scenario = services.engine, services.engine.clock, case.scenario
    clock.set(_at(_local_day(now) - timedelta(days=case.started_days_ago), 9, 30))
    instance_id = engine.start_instance(PROCESS_ID, scenario.intake(), actor=case.starter)
    for _ in range(200):
        tasks = engine.list_tasks(instance_id=instance_id)
        if not tasks:
            view = engine.show_instance(instance_id)
            if view.next_timer_at is None or view.next_timer_at >= now:
                return instance_id                               # ended, or waiting for a timer still ahead
            _move(engine, clock, view.next_timer_at + timedelta(seconds=1))
            engine.fire_due_timers()
            continue
        if case.stop_before in {task.task_spec for task in tasks}:
            return instance_id
        task = tasks[0]
        moment = clock.now() + timedelta(days=case.pace_days * rng.uniform(0.5, 1.5), hours=rng.uniform(0, 3))
        if task.task_spec == "hold_meeting":                     # held on the plan's date, in the afternoon
            moment = max(moment, _at(date.fromisoformat(scenario.meeting_date), 14, 30))
        if moment >= now:
            return instance_id
        if _move(engine, clock, moment):
            task = engine.get_task(task.id)                      # the sweep may have escalated it meanwhile
        scenario.today = _local_day(moment)
        held = engine.show_instance(instance_id).data if task.task_spec in NEEDS_CASE_DATA else {}
        data = scenario.answer(task.task_spec, held | {"_org_unit": task.org_unit})
        engine.complete_task(task.id, data, actor=task.candidates[0], revision=task.revision)
    raise RuntimeError(f"demo case {scenario.name!r} did not settle in 200 steps")


def _move(engine, clock: FrozenClock, moment: datetime) -> int:
    """Move the clock, sweeping the deadlines that fell due on the way (as the running sweep would have); returns
    how many deadline actions were taken."""
    clock.set(moment)
    return len(engine.sweep_deadlines(moment).done)


def load_cases(services, now: datetime) -> list[int]:
    """Run every demo case, then bring all to `now` (timers and deadlines due by then) and urge the cases marked so;
    returns the instance ids. `services` must run on a FrozenClock of its own."""
    started = []
    for index, case in enumerate(cases()):
        instance_id = run_case(services, case, now, random.Random(index))
        started.append((case, instance_id))
    _move(services.engine, services.engine.clock, now)
    services.engine.fire_due_timers(now)
    urger = services.accounts.user(URGER)
    for case, instance_id in started:
        if case.urge:
            for task in services.engine.list_tasks(instance_id=instance_id)[:1]:
                services.supervision.urge(urger, task.id, "请抓紧办理，本周内答复。")
    return [instance_id for _, instance_id in started]
