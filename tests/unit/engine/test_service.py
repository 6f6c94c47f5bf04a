"""Engine commands on SQLite and PostgreSQL: versions, start, complete, claim, reassign, cancel, timers, concurrency."""

from __future__ import annotations

import importlib
import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from sqlalchemy import func, select
from sqlalchemy import text as text_clause

from domain.consultation.demo import load_demo
from engine.bpmn import runtime
from engine.errors import ConcurrentUpdate, InvalidState, NotFound, PermissionDenied, ValidationFailed
from engine.store.models import AuditEvent, HumanTask, OutboxMessage, ProcessInstance, ProcessVersion
from tests.conftest import DATA

RESUME = importlib.import_module("engine.store.migrations.versions.0026_resume_timers_left_ready").RESUME

MINI = DATA / "mini"


@pytest.fixture
def mini(service):
    """The engine with demo people and the mini process deployed."""
    with service.unit_of_work() as session:
        load_demo(session, service.clock.now())
    service.deploy([MINI], actor="owner")
    return service


def _count(service, model) -> int:
    with service.unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_identical_content_deploys_as_the_same_version(service, tmp_path):
    first = service.deploy([MINI])
    again = service.deploy([MINI])
    assert (again.version, again.created) == (first.version, False)
    changed = tmp_path / "mini"
    shutil.copytree(MINI, changed)
    bpmn = changed / "mini.bpmn"
    bpmn.write_text(bpmn.read_text(encoding="utf-8").replace('name="审核"', 'name="初审"'), encoding="utf-8")
    second = service.deploy([changed])
    assert second.created and second.version != first.version
    assert _count(service, ProcessVersion) == 2


def test_a_deploy_is_known_by_id_once_committed_and_never_when_rolled_back(service):
    """A committed deploy's parse is cached under its version id (a start right after it reads no files); a deploy
    rolled back leaves no id in the cache (SQLite may give that id to the next version)."""
    with pytest.raises(RuntimeError), service.unit_of_work():
        lost = service.deploy([MINI])
        raise RuntimeError("the surrounding work failed")
    assert service.cache.by_id(lost.version_id) is None and _count(service, ProcessVersion) == 0
    kept = service.deploy([MINI])
    assert service.cache.by_id(kept.version_id).process_id == "mini"


def test_instances_stay_pinned_to_their_version(mini, tmp_path):
    old = mini.start_instance("mini", {"title": "旧版本"})
    changed = tmp_path / "mini"
    shutil.copytree(MINI, changed)
    bpmn = changed / "mini.bpmn"
    bpmn.write_text(bpmn.read_text(encoding="utf-8").replace('name="审核"', 'name="初审"'), encoding="utf-8")
    mini.deploy([changed])
    new = mini.start_instance("mini", {"title": "新版本"})
    names = {t.instance_id: t.name for t in mini.list_tasks()}
    assert names == {old: "审核", new: "初审"}
    assert mini.show_instance(old).version != mini.show_instance(new).version


def test_start_validates_against_the_start_form(mini):
    with pytest.raises(ValidationFailed) as err:
        mini.start_instance("mini", {"count": -1, "extra": "x"})
    assert set(err.value.field_errors) == {"title", "count"}
    assert err.value.field_errors["title"][0].startswith("此项为必填项")
    assert _count(mini, ProcessInstance) == 0


def test_start_of_unknown_process_is_not_found(service):
    with pytest.raises(NotFound, match="no deployed process 'nope'"):
        service.start_instance("nope", {})


def test_task_projection_lists_candidates_and_form(mini):
    instance_id = mini.start_instance("mini", {"title": "路灯维修", "count": 2}, actor="m001")
    [task] = mini.list_tasks(instance_id=instance_id)
    assert (task.name, task.step, task.lane, task.role, task.org_unit) == ("审核", 1, "政协办公室", "office", "county")
    assert task.candidates == ("office", "office2")
    assert task.form["properties"]["approved"]["type"] == "boolean"
    assert "请审核" in task.instructions
    assert [t.id for t in mini.list_tasks(actor="office")] == [task.id]
    assert mini.list_tasks(actor="m001") == []


def test_complete_runs_the_process_and_drops_unknown_fields(mini):
    instance_id = mini.start_instance("mini", {"title": "路灯维修", "count": 2})
    [task] = mini.list_tasks(instance_id=instance_id)
    mini.complete_task(task.id, {"approved": True, "comment": "同意", "tier": "county"}, actor="office")
    view = mini.show_instance(instance_id)
    assert view.status == "waiting"
    assert view.data["approved"] is True and "tier" not in view.data
    assert view.next_timer_at == mini.clock.now() + timedelta(days=2)
    kinds = [e.kind for e in view.events]
    assert kinds == ["instance_started", "task_completed", "service_called"]
    with mini.unit_of_work() as session:
        row = session.get(HumanTask, task.id)
        assert (row.status, row.completed_by) == ("completed", "office")
        messages = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        [message] = [m for m in messages if m.params.get("kind") != "assignment"]
        assert (message.operator, message.params) == ("notify", {"kind": "approved", "message": "已通过：路灯维修"})
        assert [m.task_id for m in messages if m.params.get("kind") == "assignment"] == [task.id]


def test_declined_path_completes_without_side_effects(mini):
    instance_id = mini.start_instance("mini", {"title": "不通过"})
    [task] = mini.list_tasks(instance_id=instance_id)
    mini.complete_task(task.id, {"approved": False}, actor="office2")
    view = mini.show_instance(instance_id)
    assert view.status == "completed" and view.next_timer_at is None
    with mini.unit_of_work() as session:       # only the notice that told the office about its task
        kinds = [m.params.get("kind") for m in session.scalars(select(OutboxMessage))]
    assert kinds == ["assignment"]


def test_invalid_task_data_keeps_the_task_ready(mini):
    instance_id = mini.start_instance("mini", {"title": "x"})
    [task] = mini.list_tasks(instance_id=instance_id)
    with pytest.raises(ValidationFailed) as err:
        mini.complete_task(task.id, {"approved": "yes", "comment": "长" * 300}, actor="office")
    assert set(err.value.field_errors) == {"approved", "comment"}
    assert mini.show_instance(instance_id).revision == task.revision
    assert [t.id for t in mini.list_tasks(instance_id=instance_id)] == [task.id]


def test_only_candidates_may_complete_or_claim(mini):
    instance_id = mini.start_instance("mini", {"title": "x"})
    [task] = mini.list_tasks(instance_id=instance_id)
    with pytest.raises(PermissionDenied, match="m001 在 county 没有 office 角色"):
        mini.complete_task(task.id, {"approved": True}, actor="m001")
    with pytest.raises(PermissionDenied):
        mini.claim_task(task.id, actor="lead_county")


def test_claim_release_and_reassign(mini):
    instance_id = mini.start_instance("mini", {"title": "x"})
    [task] = mini.list_tasks(instance_id=instance_id)
    mini.claim_task(task.id, "office")
    assert mini.get_task(task.id).candidates == ("office",)
    with pytest.raises(PermissionDenied, match="assigned to office"):
        mini.complete_task(task.id, {"approved": True}, actor="office2")
    with pytest.raises(InvalidState, match="already claimed by office"):
        mini.claim_task(task.id, "office2")
    with pytest.raises(InvalidState, match="没有 office 角色"):
        mini.reassign_task(task.id, "m001", actor="office")
    mini.reassign_task(task.id, "office2", actor="office")
    assert mini.get_task(task.id).assignee == "office2"
    with pytest.raises(PermissionDenied):
        mini.release_task(task.id, actor="m001")
    mini.release_task(task.id, actor="office2")
    assert mini.get_task(task.id).candidates == ("office", "office2")
    kinds = [e.kind for e in mini.show_instance(instance_id).events]
    assert kinds[-3:] == ["task_claimed", "task_reassigned", "task_released"]


def test_stale_revision_is_a_concurrent_update_and_changes_nothing(mini):
    instance_id = mini.start_instance("mini", {"title": "x"})
    [task] = mini.list_tasks(instance_id=instance_id)
    with pytest.raises(ConcurrentUpdate, match="被他人更新"):
        mini.complete_task(task.id, {"approved": True}, actor="office", revision=task.revision - 1)
    assert mini.get_task(task.id).status == "ready"


def test_racing_submits_one_wins_the_other_gets_concurrent_update(mini):
    instance_id = mini.start_instance("mini", {"title": "x"})
    [task] = mini.list_tasks(instance_id=instance_id)
    # Both people loaded the form at the same revision; the first submit wins.
    mini.complete_task(task.id, {"approved": False}, actor="office", revision=task.revision)
    with pytest.raises((ConcurrentUpdate, InvalidState)):
        mini.complete_task(task.id, {"approved": True}, actor="office2", revision=task.revision)
    assert mini.show_instance(instance_id).data["approved"] is False


def test_done_and_unknown_tasks(mini):
    instance_id = mini.start_instance("mini", {"title": "x"})
    [task] = mini.list_tasks(instance_id=instance_id)
    mini.complete_task(task.id, {"approved": False}, actor="office")
    with pytest.raises(InvalidState, match="已办结"):
        mini.complete_task(task.id, {"approved": True}, actor="office")
    with pytest.raises(NotFound, match="no such task"):
        mini.complete_task("00000000-0000-0000-0000-000000000000", {}, actor="office")
    with pytest.raises(NotFound, match="no such instance"):
        mini.show_instance(99999)


def test_timer_fires_once_when_due(mini):
    instance_id = mini.start_instance("mini", {"title": "x", "count": 4})
    [task] = mini.list_tasks(instance_id=instance_id)
    mini.complete_task(task.id, {"approved": True}, actor="office")
    assert mini.fire_due_timers() == []
    mini.clock.advance(days=2, seconds=1)
    assert mini.fire_due_timers() == [instance_id]
    assert mini.fire_due_timers() == []
    [confirm] = mini.list_tasks(instance_id=instance_id)
    assert (confirm.name, confirm.step) == ("确认", 2)
    assert mini.show_instance(instance_id).events[-1].kind == "timer_fired"


def test_a_timer_that_comes_due_before_its_command_ends_fires_in_it(mini, monkeypatch):
    """The clock moves on while a submit runs (another process moved the deployment test's shared clock; a slow
    run; a wait of a moment): the two-day wait it reached is due by the run's last look at the timers. That look
    left it ready with no timer recorded, so no sweep ever looked at it: the case waited for nothing, for ever.
    It now fires in the command that found it due."""
    instance_id = mini.start_instance("mini", {"title": "x", "count": 4})
    [task] = mini.list_tasks(instance_id=instance_id)
    look = BpmnWorkflow.refresh_timers
    start = mini.clock.now() + timedelta(days=3)      # the wait begins at the submit's first look at the timers

    def three_days_later(workflow):      # each look at the timers comes three days after the step before it
        mini.clock.advance(days=3)
        look(workflow)

    monkeypatch.setattr(BpmnWorkflow, "refresh_timers", three_days_later)
    mini.complete_task(task.id, {"approved": True}, actor="office")
    monkeypatch.undo()
    view = mini.show_instance(instance_id)
    assert (view.status, view.next_timer_at) == ("running", None)
    [confirm] = mini.list_tasks(instance_id=instance_id)
    assert (confirm.name, confirm.step) == ("确认", 2)
    assert mini.fire_due_timers() == []
    # the case's history says so, as it does for a timer the sweep fires: once, after the submit that found it due
    kinds = [(event.kind, event.detail) for event in view.events]
    fired = [detail for kind, detail in kinds if kind == "timer_fired"]
    assert fired == [{"element": "wait", "during": "task_completed", "due": (start + timedelta(days=2)).isoformat()}]
    assert [kind for kind, _ in kinds].index("timer_fired") > [kind for kind, _ in kinds].index("task_completed")


def test_a_timer_due_before_a_start_ends_is_recorded_in_the_start(service, monkeypatch):
    """The same inside a start: the one-hour wait right after the start event is over by the start's last look at
    the timers; it fires there, and the history says so with the start as its command."""
    service.deploy([DATA / "timers"], actor="test")
    started, look = service.clock.now(), BpmnWorkflow.refresh_timers

    def two_hours_later(workflow):
        service.clock.advance(hours=2)
        look(workflow)

    monkeypatch.setattr(BpmnWorkflow, "refresh_timers", two_hours_later)
    instance_id = service.start_instance("timers", {})
    monkeypatch.undo()
    view = service.show_instance(instance_id)
    assert (view.status, view.next_timer_at) == ("completed", None)
    due = started + timedelta(hours=3)     # the wait began after the first look (two hours in); it lasts an hour
    assert [e.detail for e in view.events if e.kind == "timer_fired"] == [
        {"element": "wait", "during": "instance_started", "due": due.isoformat()}]


def test_a_timer_that_waits_writes_no_history_line_until_it_fires(mini):
    instance_id = mini.start_instance("mini", {"title": "x", "count": 4})
    [task] = mini.list_tasks(instance_id=instance_id)
    mini.complete_task(task.id, {"approved": True}, actor="office")
    due = mini.clock.now() + timedelta(days=2)
    assert "timer_fired" not in [event.kind for event in mini.show_instance(instance_id).events]
    mini.clock.advance(days=2, seconds=1)
    assert mini.fire_due_timers() == [instance_id]
    events = [event for event in mini.show_instance(instance_id).events if event.kind == "timer_fired"]
    assert len(events) == 1 and "during" not in events[0].detail
    assert events[0].detail["element"] == "wait"
    assert events[0].detail["due"] == due.isoformat()       # the wait's own due time, as the sweep found it due


NESTED_WAIT = """<bpmn:subProcess id="wait" name="等待">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:startEvent id="wait_start"><bpmn:outgoing>w1</bpmn:outgoing></bpmn:startEvent>
      <bpmn:intermediateCatchEvent id="wait_timer_event">
        <bpmn:incoming>w1</bpmn:incoming><bpmn:outgoing>w2</bpmn:outgoing>
        <bpmn:timerEventDefinition id="wait_timer">
          <bpmn:timeDuration>"P2D"</bpmn:timeDuration>
        </bpmn:timerEventDefinition>
      </bpmn:intermediateCatchEvent>
      <bpmn:endEvent id="wait_end"><bpmn:incoming>w2</bpmn:incoming></bpmn:endEvent>
      <bpmn:sequenceFlow id="w1" sourceRef="wait_start" targetRef="wait_timer_event" />
      <bpmn:sequenceFlow id="w2" sourceRef="wait_timer_event" targetRef="wait_end" />
    </bpmn:subProcess>"""


def test_a_case_a_ready_timer_left_waiting_is_swept_again_after_the_upgrade(service, tmp_path, monkeypatch):
    """A case stored by the engine before the fix above (its wait inside a subprocess, as the consultation's
    follow-up wait is: `waiting`, no next timer) is found by the next sweep once revision 0026 has run, and moves
    on."""
    bundle = tmp_path / "nested"
    shutil.copytree(MINI, bundle)
    diagram = bundle / "mini.bpmn"
    text = diagram.read_text("utf-8")
    start, end = text.index('<bpmn:intermediateCatchEvent id="wait"'), text.index("</bpmn:intermediateCatchEvent>")
    diagram.write_text(text[:start] + NESTED_WAIT + text[end + len("</bpmn:intermediateCatchEvent>"):], "utf-8")
    with service.unit_of_work() as session:
        load_demo(session, service.clock.now())
    service.deploy([bundle], actor="owner")
    instance_id = service.start_instance("mini", {"title": "x", "count": 4})
    [task] = service.list_tasks(instance_id=instance_id)
    look = BpmnWorkflow.refresh_timers

    def three_days_later(workflow):
        service.clock.advance(days=3)
        look(workflow)

    monkeypatch.setattr(BpmnWorkflow, "refresh_timers", three_days_later)
    monkeypatch.setattr(runtime, "_engine_ready", lambda workflow: False)      # the engine before the fix
    service.complete_task(task.id, {"approved": True}, actor="office")
    monkeypatch.undo()
    assert (service.show_instance(instance_id).status, service.show_instance(instance_id).next_timer_at) == \
        ("waiting", None)
    assert service.fire_due_timers(service.clock.now() + timedelta(days=365)) == []      # stuck: nobody looks

    service.clock.advance(seconds=1)
    assert service.fire_due_timers() == []                                              # not even when it is due
    with service.unit_of_work() as session:       # what revision 0026 does to a database
        session.execute(text_clause(RESUME))
    assert service.fire_due_timers() == [instance_id]
    view = service.show_instance(instance_id)
    assert (view.status, view.next_timer_at, view.events[-1].kind) == ("running", None, "instance_resumed")
    [confirm] = service.list_tasks(instance_id=instance_id)
    assert confirm.name == "确认"


def test_cancel_closes_open_tasks(mini):
    instance_id = mini.start_instance("mini", {"title": "x"})
    [task] = mini.list_tasks(instance_id=instance_id)
    mini.cancel_instance(instance_id, actor="office", reason="重复提交")
    assert mini.show_instance(instance_id).status == "cancelled"
    assert mini.list_tasks(instance_id=instance_id) == []
    with mini.unit_of_work() as session:
        assert session.get(HumanTask, task.id).status == "cancelled"
        assert session.scalar(select(AuditEvent.detail).where(AuditEvent.kind == "instance_cancelled")) == \
            {"reason": "重复提交"}
    with pytest.raises(InvalidState):
        mini.cancel_instance(instance_id, actor="office")


def test_interleaved_writers_the_second_save_is_refused(mini, monkeypatch):
    """While one submit from a page is running the engine, another transaction changes the instance and commits
    first: the submit is refused with ConcurrentUpdate and leaves nothing behind."""
    instance_id = mini.start_instance("mini", {"title": "x"})
    [task] = mini.list_tasks(instance_id=instance_id)
    revision = mini.show_instance(instance_id).revision
    real_run = runtime.run

    def run_with_a_rival(workflow, clock, on_task=None):
        with ThreadPoolExecutor(1) as rival:          # a second person's transaction commits meanwhile
            rival.submit(mini.claim_task, task.id, "office2").result()
        return real_run(workflow, clock, on_task)

    monkeypatch.setattr(runtime, "run", run_with_a_rival)
    with pytest.raises(ConcurrentUpdate, match="被他人更新"):
        mini.complete_task(task.id, {"approved": False}, actor="office", revision=revision)
    monkeypatch.setattr(runtime, "run", real_run)
    view = mini.show_instance(instance_id)
    assert view.status == "running" and "approved" not in view.data
    assert mini.get_task(task.id).assignee == "office2"
    assert [e.kind for e in view.events] == ["instance_started", "task_claimed"]


def test_a_submit_without_a_page_is_tried_again_on_what_the_rival_left(mini, monkeypatch):
    """The CLI or an API client sends no revision: a rival commit while its submit runs (here a reassignment that
    keeps the actor's right to act) makes the engine try again, and the submit lands on top of the rival's change."""
    instance_id = mini.start_instance("mini", {"title": "x"})
    [task] = mini.list_tasks(instance_id=instance_id)
    real_run, rivals = runtime.run, []

    def run_with_a_rival(workflow, clock, on_task=None):
        if not rivals:
            rivals.append(1)
            with ThreadPoolExecutor(1) as rival:
                rival.submit(mini.claim_task, task.id, "office").result()
        return real_run(workflow, clock, on_task)

    monkeypatch.setattr(runtime, "run", run_with_a_rival)
    mini.complete_task(task.id, {"approved": False}, actor="office")
    monkeypatch.setattr(runtime, "run", real_run)
    view = mini.show_instance(instance_id)
    assert view.data["approved"] is False
    assert [e.kind for e in view.events][:3] == ["instance_started", "task_claimed", "task_completed"]
