"""Drives the consultation diagram with valid form data for a scenario: in memory, or through the engine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from engine.bpmn import runtime
from engine.bpmn.serialization import state_serializer
from engine.store.versions import VersionCache

LONG = "经现场走访和座谈，群众反映集中，需协调有关部门研究解决。"


@dataclass
class Scenario:
    """Which way each gateway goes."""

    name: str
    scope: str = "township"
    category: str = "infrastructure"
    township: str = "township_xunchang"
    decline: bool = False
    topic_rejections: int = 0
    plan_revisions: int = 0
    report_revisions: int = 0
    unsatisfied_rounds: int = 0
    researchers: tuple[str, ...] = ("m001", "m014")
    suggestions: tuple[tuple[str, str], ...] = (("增设老街路灯 20 盏", "dept_housing"),
                                                  ("优化夜间公交班次", "dept_transport"))
    adoption: str = "adopted"
    unsatisfied_ids: tuple[int, ...] | None = None     # which suggestions residents are unhappy with (None: all)
    instruction: str = "received"                      # "none": no leader's instruction (暂无批示)
    instructed_on: str = "2026-03-01"     # the day before the test clock's start: never in the future
    supervision_deadline: str = "2026-12-31"   # 督办时限: may not lie in the past when the supervisor submits
    refusing: tuple[str, ...] = ()      # departments that answer "不属于本单位职责"
    reassign_to: tuple[str, ...] = ()   # the departments the office picks, in turn
    settle_department: str = "dept_civil"
    counters: dict = field(default_factory=dict)

    def intake(self) -> dict:
        """Start-form data of the citizen's topic."""
        data = {"title": f"{self.name}：老街夜间照明不足", "description": "老街路灯长期损坏，夜间出行不便。",
                "category": self.category, "scope": self.scope, "contact_name": "张女士",
                "contact_phone": "13800001234", "source": "online"}
        if self.scope in {"village", "township"}:
            data["township"] = self.township
        return data

    def _count(self, key: str) -> int:
        self.counters[key] = self.counters.get(key, 0) + 1
        return self.counters[key]

    def answer(self, task_spec: str, data: dict) -> dict:
        """Valid form data for the task, following the scenario's branches."""
        handler = getattr(self, f"_{task_spec}")
        return handler(data)

    def _triage(self, data):
        if self.decline:
            return {"decision": "decline", "tier": data["tier"], "org_unit": data["org_unit"],
                    "decline_reason": "内部核查：与县信访局 2026-118 号件重复。",
                    "public_reason": "属于信访事项，已转有关部门依法办理。"}
        return {"decision": "accept", "tier": data["tier"], "org_unit": data["org_unit"]}

    def _define_topic(self, data):
        return {"topic": "老街夜间照明与出行安全", "topic_rationale": LONG, "expected_outcome": "形成可落实的整改建议"}

    def _approve_topic(self, data):
        if self._count("topic") <= self.topic_rejections:
            return {"topic_approved": False, "approval_comment": "请聚焦群众最关心的问题。"}
        return {"topic_approved": True, "approval_comment": "同意"}

    def _draft_plan(self, data):
        unit = data.get("org_unit") or ""    # a township's own hall; elsewhere a place written out
        venue = {"venue": f"{unit}_hall"} if unit.startswith("township_") else \
            {"venue": "other", "venue_other": "县政协机关三楼会议室"}
        return {"plan_goal": "摸清照明缺口，提出改造方案", "meeting_date": "2026-04-15", **venue,
                "participants_note": "委员、群众代表、部门负责人", "researchers": list(self.researchers),
                "research_questions": "路灯损坏数量、维护责任、资金来源"}

    def _review_plan(self, data):
        if self._count("plan") <= self.plan_revisions:
            return {"plan_decision": "revise", "plan_comment": "请补充群众代表名单。"}
        return {"plan_decision": "approve"}

    def _research(self, data):
        return {"findings": LONG, "visited_places": "老街、新街口", "residents_consulted": 12}

    def _summarize_research(self, data):
        return {"research_summary": LONG}

    def _hold_meeting(self, data):
        departments = sorted({f"liaison_{dept.removeprefix('dept_')}" for _text, dept in self.suggestions})
        return {"meeting_held_on": "2026-04-15", "attendees": list(self.researchers),
                "department_attendees": departments,
                "other_attendees": [{"name": "张桂芳", "identity": "resident"},
                                    {"name": "李德明", "identity": "stakeholder"}],
                "minutes": LONG,
                "suggestions": [{"text": text, "department": dept} for text, dept in self.suggestions]}

    def _draft_report(self, data):
        return {"report_title": "关于老街夜间照明的协商报告", "report_text": LONG}

    def _approve_report(self, data):
        if self._count("report") <= self.report_revisions:
            return {"report_decision": "revise", "report_comment": "请补充资金测算。"}
        return {"report_decision": "approve"}

    def _record_instruction(self, data):
        if self.instruction == "none":
            return {"instruction_status": "none", "no_instruction_note": "报告已报送，领导未作批示，按报告意见办理。"}
        return {"instruction_status": "received", "instruction_by": "县委副书记",
                "instruction_text": "请住建局牵头落实。", "instructed_on": self.instructed_on}

    def _answer(self, adoption=None):
        adoption = adoption or self.adoption
        answer = {"adoption": adoption}
        if adoption in {"adopted", "partly", "solved"}:
            answer["measures"] = "已列入年度改造计划"
        if adoption in {"adopted", "partly"}:
            answer["promised_date"] = "2026-09-30"
        if adoption in {"partly", "not_adopted"}:
            answer["reason"] = "资金分年度安排"
        return answer

    def _answer_suggestion(self, data):
        department = data.get("_org_unit") or (data.get("suggestion") or {}).get("department")
        if department in self.refusing:
            return {"adoption": "not_ours", "reason": "该事项属于供电企业职责，不属于本单位职责。"}
        return self._answer()

    def _reassign_department(self, data):
        picks = self.reassign_to or ("svc_power",)
        return {"new_department": picks[(self._count("reassign") - 1) % len(picks)], "reassign_note": "按职责改派"}

    def _settle_suggestion(self, data):
        return {"department": self.settle_department, **self._answer("adopted")}

    def _reanswer_suggestion(self, data):
        return self._answer()

    def _follow_up_visit(self, data):
        unhappy = self._count("visit") <= self.unsatisfied_rounds
        visits = []
        held = data.get("visits") or [{"suggestion_id": number, "text": text, "department": department}
                                      for number, (text, department) in enumerate(self.suggestions, start=1)]
        for visit in held:
            if unhappy and (self.unsatisfied_ids is None or visit["suggestion_id"] in self.unsatisfied_ids):
                visits.append({**visit, "implementation_status": "仅部分路段完成",
                               "residents_satisfaction": "unsatisfied", "residents_feedback": "新街口仍然很暗"})
            else:
                visits.append({**visit, "implementation_status": "全部完成", "residents_satisfaction": "satisfied"})
        return {"visits": visits}

    def _supervise(self, data):
        return {"supervision_notice": "请于限期内完成剩余路段。", "supervision_deadline": self.supervision_deadline}


SCENARIOS = {
    "declined": Scenario("declined", decline=True),
    "township": Scenario("township"),
    "village_not_adopted": Scenario("village", scope="village", township="township_luodu", adoption="not_adopted",
                                    researchers=("m011", "m024"), suggestions=(("修缮村道", "dept_transport"),)),
    "committee": Scenario("committee", scope="multi_township", category="agriculture", adoption="partly",
                          researchers=("m003", "m008")),     # members of committee_agriculture
    "county": Scenario("county", scope="county", category="economy", topic_rejections=1, plan_revisions=1,
                       report_revisions=1, unsatisfied_rounds=1, researchers=("m003",)),
    "township_solved_twice_unsatisfied": Scenario("twice", unsatisfied_rounds=2, adoption="solved"),
    "mixed_follow_up": Scenario("mixed", unsatisfied_rounds=1, unsatisfied_ids=(2,)),
    "no_instruction": Scenario("none", instruction="none"),
    "rerouted": Scenario("rerouted", suggestions=(("老街电网改造，解决电压不稳", "dept_housing"),
                                                 ("优化夜间公交班次", "dept_transport")),
                         refusing=("dept_housing",), reassign_to=("svc_power_xunchang",)),
    "rerouted_to_the_limit": Scenario("limit", suggestions=(("老街电网改造，解决电压不稳", "dept_housing"),),
                                      refusing=("dept_housing", "dept_drc", "gov_xunchang", "svc_water"),
                                      reassign_to=("dept_drc", "gov_xunchang", "svc_water"),
                                      settle_department="svc_power"),
}


def run_in_memory(parsed, scenario: Scenario, clock, restore: str = "none",
                  reparse: Callable[[], object] | None = None) -> tuple[object, list[str]]:
    """Run to the end without a database.

    `restore`: "none" keeps one workflow object; "warm" saves and restores it after every step against the same
    parsed spec; "cold" restores it against a fresh parse (`reparse()`) every time, as a new process would.
    """
    workflow = runtime.new_workflow(parsed, scenario.intake())
    runtime.run(workflow, clock)
    path = []
    for _ in range(500):
        if restore != "none":
            text = state_serializer().dumps(workflow)
            if restore == "cold":
                parsed = reparse()
            workflow = runtime.attach(state_serializer().loads(text, parsed.spec, parsed.subprocess_specs))
        if workflow.completed:
            return workflow, path
        ready = runtime.ready_user_tasks(workflow)
        if not ready:
            due = runtime.next_timer_at(workflow)
            assert due is not None, "stuck: nothing ready and no timer"
            clock.set(due + timedelta(seconds=1))   # SpiffWorkflow fires strictly after the due time
            runtime.run(workflow, clock)
            continue
        task = ready[0]
        spec_id = task.task_spec.bpmn_id
        path.append(spec_id)
        data = scenario.answer(spec_id, runtime.instance_data(workflow) | task.data)

        def complete(task=task, data=data):
            task.set_data(**data)
            task.run()

        runtime.run(workflow, clock, on_task=complete)
    raise AssertionError("did not finish in 500 steps")


def run_through_engine(engine, scenario: Scenario, starter: str = "m001",
                       cold: bool = False) -> tuple[int, list[tuple[str, str]]]:
    """Start and finish an instance through the engine service; returns (instance id, [(task, actor)]).

    With `cold`, every command runs with an empty version cache, as if each ran in a new process: nothing is
    shared between steps but the database.
    """
    def step():
        if cold:
            engine.cache = VersionCache()
        return engine

    instance_id = step().start_instance("consultation", scenario.intake(), actor=starter)
    done = []
    for _ in range(500):
        tasks = step().list_tasks(instance_id=instance_id)
        if not tasks:
            view = step().show_instance(instance_id)
            if view.status in {"completed", "cancelled", "error"}:
                return instance_id, done
            assert view.next_timer_at is not None, f"stuck in {view.status}"
            engine.clock.set(view.next_timer_at + timedelta(seconds=1))
            assert step().fire_due_timers() == [instance_id]
            continue
        task = tasks[0]
        assert task.candidates, f"nobody may act on {task.task_spec} in {task.org_unit}"
        actor = task.candidates[0]
        data = scenario.answer(task.task_spec, step().show_instance(instance_id).data | {"_org_unit": task.org_unit})
        step().complete_task(task.id, data, actor=actor, revision=task.revision)
        done.append((task.task_spec, actor))
    raise AssertionError("did not finish in 500 steps")


def advance(engine, instance_id: int, scenario: Scenario, stop_before: str | None = None) -> list[tuple[str, str]]:
    """Complete the instance's tasks with the scenario's data (firing timers when only they are left) until a task
    `stop_before` is ready (None: until the instance ends); returns [(task, actor)]."""
    done = []
    for _ in range(500):
        tasks = engine.list_tasks(instance_id=instance_id)
        if any(task.task_spec == stop_before for task in tasks):
            return done
        if not tasks:
            view = engine.show_instance(instance_id)
            if stop_before is None and view.status == "completed":
                return done
            assert view.next_timer_at is not None, f"{stop_before} never came ({view.status})"
            engine.clock.set(view.next_timer_at + timedelta(seconds=1))
            assert engine.fire_due_timers() == [instance_id]
            continue
        task = tasks[0]
        data = scenario.answer(task.task_spec, engine.show_instance(instance_id).data | {"_org_unit": task.org_unit})
        engine.complete_task(task.id, data, actor=task.candidates[0], revision=task.revision)
        done.append((task.task_spec, task.candidates[0]))
    raise AssertionError("did not get there in 500 steps")
