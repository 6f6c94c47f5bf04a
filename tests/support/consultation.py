"""The process tests' scenarios and the runners that drive the consultation diagram with them: in memory, or
through the engine (a scenario's answers live in domain/consultation/scenarios.py)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date, timedelta

from domain.consultation.scenarios import LONG, Scenario
from engine.bpmn import runtime
from engine.bpmn.serialization import state_serializer
from engine.clock import LOCAL_TZ
from engine.store.versions import VersionCache

__all__ = ["LONG", "SCENARIOS", "Scenario", "advance", "not_in_the_past", "run_in_memory", "run_through_engine"]

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


# the dates a form may not set in the past, and how far ahead a walk sets them when they already lie behind the
# clock: the meeting a month on; the 督办时限 a year on (a walk reaches it after follow-up waits of 30 days and more)
DATED = {"meeting_date": timedelta(days=30), "supervision_deadline": timedelta(days=365)}


def not_in_the_past(scenario: Scenario, now) -> Scenario:
    """The scenario with its meeting date and 督办时限 moved after `now` when they already lie behind it
    (a plan's meeting date and the 督办时限 may not be set in the past): a clock that many walks have moved on
    (a benchmark's, a shared server's) still walks every scenario; at the scenarios' own start only the copy is new."""
    today = now.astimezone(LOCAL_TZ).date()
    later = {name: today + ahead for name, ahead in DATED.items()}
    moved = {name: later[name].isoformat() for name in later if date.fromisoformat(getattr(scenario, name)) < today}
    # a copy that counts on with the same counters: a walk that asks again at every step (the topology's people
    # do) must remember how many times it already rejected a topic; copy.copy, not dataclasses.replace, so an
    # `intake` a test gave the scenario (an instance attribute replace would drop) stays
    copied = copy.copy(scenario)
    for name, value in moved.items():
        setattr(copied, name, value)
    return copied


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

    scenario = not_in_the_past(scenario, engine.clock.now())
    scenario.counters = dict(scenario.counters)        # this walk's own: a shared scenario is never advanced
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
