"""How a consultation's people answer each step's form, one way per `Scenario` (which way each gateway goes): the
process tests drive the diagram with it, and the demo (demo_cases.py) runs its cases through the engine with it."""

from __future__ import annotations

from dataclasses import dataclass, field

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
    title: str | None = None                           # None: "<name>：老街夜间照明不足"
    description: str = "老街路灯长期损坏，夜间出行不便。"
    topic: str = "老街夜间照明与出行安全"
    plan_goal: str = "摸清照明缺口，提出改造方案"      # the plan's and the report's words, in the topic's terms
    research_questions: str = "路灯损坏数量、维护责任、资金来源"
    visited_places: str = "老街、新街口"
    report_title: str = "关于老街夜间照明的协商报告"
    source: str = "online"
    proposer: str | None = None         # who starts it: the member (source "member") or the recorder (hall, visit…)
    researchers: tuple[str, ...] = ("m001", "m014")
    suggestions: tuple[tuple[str, str], ...] = (("增设老街路灯 20 盏", "dept_housing"),
                                                  ("优化夜间公交班次", "dept_transport"))
    adoption: str = "adopted"
    unsatisfied_ids: tuple[int, ...] | None = None     # which suggestions residents are unhappy with (None: all)
    instruction: str = "received"                      # "none": no leader's instruction (暂无批示)
    instructed_on: str = "2026-03-01"     # the day before the test clock's start: never in the future
    supervision_deadline: str = "2026-12-31"   # 督办时限: may not lie in the past when the supervisor submits
    meeting_date: str = "2026-04-15"    # the plan's meeting date (not in the past when drafted), and the day held
    promised_date: str = "2026-09-30"   # a department's promised date for what it adopts
    refusing: tuple[str, ...] = ()      # departments that answer "不属于本单位职责"
    reassign_to: tuple[str, ...] = ()   # the departments the office picks, in turn
    settle_department: str = "dept_civil"
    counters: dict = field(default_factory=dict)

    def intake(self) -> dict:
        """Start-form data of the citizen's topic."""
        data = {"title": self.title or f"{self.name}：老街夜间照明不足", "description": self.description,
                "category": self.category, "scope": self.scope, "contact_name": "张女士",
                "contact_phone": "13800001234", "source": self.source}
        if self.scope in {"village", "township"}:
            data["township"] = self.township
        if self.source == "member":
            data["proposer"] = self.proposer
        elif self.source != "online":
            data["recorded_by"] = self.proposer
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
        return {"topic": self.topic, "topic_rationale": LONG, "expected_outcome": "形成可落实的整改建议"}

    def _approve_topic(self, data):
        if self._count("topic") <= self.topic_rejections:
            return {"topic_approved": False, "approval_comment": "请聚焦群众最关心的问题。"}
        return {"topic_approved": True, "approval_comment": "同意"}

    def _draft_plan(self, data):
        unit = data.get("org_unit") or ""    # a township's own hall; elsewhere a place written out
        venue = {"venue": f"{unit}_hall"} if unit.startswith("township_") else \
            {"venue": "other", "venue_other": "县政协机关三楼会议室"}
        return {"plan_goal": self.plan_goal, "meeting_date": self.meeting_date, **venue,
                "participants_note": "委员、群众代表、部门负责人", "researchers": list(self.researchers),
                "research_questions": self.research_questions}

    def _review_plan(self, data):
        if self._count("plan") <= self.plan_revisions:
            return {"plan_decision": "revise", "plan_comment": "请补充群众代表名单。"}
        return {"plan_decision": "approve"}

    def _research(self, data):
        return {"findings": LONG, "visited_places": self.visited_places, "residents_consulted": 12}

    def _summarize_research(self, data):
        return {"research_summary": LONG}

    def _hold_meeting(self, data):
        departments = sorted({f"liaison_{dept.removeprefix('dept_')}" for _text, dept in self.suggestions})
        return {"meeting_held_on": self.meeting_date, "attendees": list(self.researchers),
                "department_attendees": departments,
                "other_attendees": [{"name": "张桂芳", "identity": "resident"},
                                    {"name": "李德明", "identity": "stakeholder"}],
                "minutes": LONG,
                "suggestions": [{"text": text, "department": dept} for text, dept in self.suggestions]}

    def _draft_report(self, data):
        return {"report_title": self.report_title, "report_text": LONG}

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
            answer["promised_date"] = self.promised_date
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
