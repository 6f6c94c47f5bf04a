"""Versions and moving running instances between them, on SQLite and PostgreSQL, warm and cold.

v1 is the mini process (review → notify → wait 2 days → confirm → end). v2 adds a user task `archive` after
`confirm`; v3 renames `review`, the task an instance waits at."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.consultation.demo import load_demo
from engine.errors import ConcurrentUpdate, InvalidState
from engine.store.models import AuditEvent, ProcessVersion
from engine.store.versions import VersionCache
from tests.conftest import CONSULTATION, DATA
from tests.support.consultation import SCENARIOS, advance, not_in_the_past
from tests.support.open_counts import inbox_kept_and_recounted

MINI = DATA / "mini"
ARCHIVE = ('<bpmn:userTask id="archive" name="归档"><bpmn:extensionElements><spiffworkflow:properties>'
           '<spiffworkflow:property name="orgUnit" value="&quot;county&quot;" /></spiffworkflow:properties>'
           '</bpmn:extensionElements><bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing></bpmn:userTask>')


# `confirm` acts in the county too, so that its organizers can finish every instance here
COUNTY_CONFIRM = ('<spiffworkflow:property name="step" value="2" />',
                  '<spiffworkflow:property name="step" value="2" />'
                  '<spiffworkflow:property name="orgUnit" value="&quot;county&quot;" />')


def _without_wait(text: str) -> str:
    start = text.index('<bpmn:intermediateCatchEvent id="wait"')
    end = text.index("</bpmn:intermediateCatchEvent>") + len("</bpmn:intermediateCatchEvent>")
    return text[:start] + text[end:]


# v2 without the wait: notify_ok goes straight on to confirm
NO_WAIT = (('<bpmn:sequenceFlow id="f3" sourceRef="notify_ok" targetRef="wait" />',
            '<bpmn:sequenceFlow id="f3" sourceRef="notify_ok" targetRef="confirm" />'),
           ('<bpmn:sequenceFlow id="f4" sourceRef="wait" targetRef="confirm" />', ''),
           ('<bpmn:incoming>f4</bpmn:incoming>', '<bpmn:incoming>f3</bpmn:incoming>'),
           ("<bpmn:flowNodeRef>wait</bpmn:flowNodeRef>", ""), _without_wait)


def _variant(tmp_path: Path, name: str, *edits) -> Path:
    """A copy of the mini process (with COUNTY_CONFIRM) edited by (old, new) replacements or functions."""
    folder = tmp_path / name / "mini"
    shutil.copytree(MINI, folder)
    bpmn = folder / "mini.bpmn"
    text = bpmn.read_text(encoding="utf-8")
    for edit in (COUNTY_CONFIRM, *edits):
        if callable(edit):
            text = edit(text)
            continue
        assert edit[0] in text
        text = text.replace(*edit)
    bpmn.write_text(text, encoding="utf-8")
    return folder


def with_archive(tmp_path: Path) -> Path:
    return _variant(tmp_path, "v2", (
        '<bpmn:sequenceFlow id="f5" sourceRef="confirm" targetRef="end_ok" />',
        '<bpmn:sequenceFlow id="f5" sourceRef="confirm" targetRef="archive" />'
        '<bpmn:sequenceFlow id="f6" sourceRef="archive" targetRef="end_ok" />'),
        ('<bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>', '<bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>'),
        ('<bpmn:endEvent id="end_ok"', ARCHIVE + '<bpmn:endEvent id="end_ok"'),
        ("<bpmn:flowNodeRef>confirm</bpmn:flowNodeRef>",
         "<bpmn:flowNodeRef>confirm</bpmn:flowNodeRef><bpmn:flowNodeRef>archive</bpmn:flowNodeRef>"))


@pytest.fixture
def mini(service, tmp_path):
    with service.unit_of_work() as session:
        load_demo(session, service.clock.now())
    service.deploy([_variant(tmp_path, "v1")], actor="owner", note="第一版")
    return service


def _finish(engine, instance_id: int, cold: bool) -> list[str]:
    """Work the instance to its end (approve, wait out the timer); the task specs done, in order."""
    done = []
    for _ in range(10):
        if cold:
            engine.cache = VersionCache()          # as after a restart: every version parsed afresh
        tasks = engine.list_tasks(instance_id=instance_id)
        if not tasks:
            if engine.show_instance(instance_id).status == "completed":
                return done
            engine.clock.advance(days=2, seconds=1)
            assert engine.fire_due_timers() == [instance_id]
            continue
        [task] = tasks
        assert task.candidates, task.task_spec
        engine.complete_task(task.id, {"approved": True} if task.task_spec == "review" else {},
                             actor=task.candidates[0])
        done.append(task.task_spec)
    raise AssertionError(f"instance {instance_id} did not finish: {done}")


def test_deploys_are_numbered_per_process_and_keep_their_note(mini, tmp_path):
    second = mini.deploy([with_archive(tmp_path)], actor="owner", note="  加 归档\n步骤 ")
    assert second.number == 2
    rows = mini.process_versions("mini")
    assert [(r.number, r.note, r.deployed_by) for r in rows] == [(2, "加 归档 步骤", "owner"), (1, "第一版", "owner")]
    with pytest.raises(InvalidState, match="at most 500"):
        mini.deploy([_variant(tmp_path, "v9", ('name="审核"', 'name="复核"'))], note="长" * 501)


@pytest.mark.parametrize("cold", [False, True], ids=["warm", "cold"])
def test_a_moved_instance_finishes_on_the_new_path(mini, tmp_path, cold):
    instance_id = mini.start_instance("mini", {"title": "路灯", "count": 1}, actor="m001")
    mini.deploy([with_archive(tmp_path)], actor="owner", note="加归档")
    [check] = mini.preview_migration("mini", 1, 2)
    assert (check.instance_id, check.movable, check.reasons) == (instance_id, True, ())
    [result] = mini.migrate_instances("mini", 1, 2, actor="owner")
    assert (result.instance_id, result.moved) == (instance_id, True)
    assert [(r.number, r.open_instances) for r in mini.process_versions("mini")] == [(2, 1), (1, 0)]
    kept, recounted = inbox_kept_and_recounted(mini)
    assert kept == recounted and sum(kept.values()) == 1          # the moved task counted once, in its new row
    assert _finish(mini, instance_id, cold) == ["review", "confirm", "archive"]
    with mini.reading() as session:
        [event] = session.scalars(select(AuditEvent).where(AuditEvent.kind == "instance_migrated")).all()
    assert (event.instance_id, event.actor, event.detail["from"], event.detail["to"]) == (instance_id, "owner", 1, 2)


def test_an_instance_whose_current_task_changed_is_refused_with_the_reason(mini, tmp_path):
    waiting = mini.start_instance("mini", {"title": "路灯", "count": 1}, actor="m001")
    mini.deploy([_variant(tmp_path, "v2", ('name="审核"', 'name="初审"'))], actor="owner")
    [check] = mini.preview_migration("mini", 1, 2)
    assert not check.movable
    [reason] = check.reasons
    assert "「审核」(review)待办理" in reason and "名称" in reason and "bpmn_name changed" in reason
    assert mini.migrate_instances("mini", 1, 2, actor="owner") == []        # nothing movable: nothing tried
    [result] = mini.migrate_instances("mini", 1, 2, actor="owner", instance_ids=[waiting])
    assert not result.moved and "名称" in result.message
    assert mini.show_instance(waiting).version == mini.process_versions("mini")[1].content_hash[:12]


@pytest.mark.parametrize("cold", [False, True], ids=["warm", "cold"])
def test_moving_back_works(mini, tmp_path, cold):
    instance_id = mini.start_instance("mini", {"title": "路灯", "count": 1}, actor="m001")
    mini.deploy([with_archive(tmp_path)], actor="owner")
    assert mini.migrate_instances("mini", 1, 2, actor="owner")[0].moved
    [back] = mini.preview_migration("mini", 2, 1)
    assert back.movable
    assert mini.migrate_instances("mini", 2, 1, actor="owner")[0].moved
    assert _finish(mini, instance_id, cold) == ["review", "confirm"]


def test_an_instance_past_the_change_cannot_move_back(mini, tmp_path):
    instance_id = mini.start_instance("mini", {"title": "路灯", "count": 1}, actor="m001")
    mini.deploy([with_archive(tmp_path)], actor="owner")
    mini.migrate_instances("mini", 1, 2, actor="owner")
    [review] = mini.list_tasks(instance_id=instance_id)
    mini.complete_task(review.id, {"approved": True}, actor=review.candidates[0])
    mini.clock.advance(days=2, seconds=1)
    mini.fire_due_timers()
    [confirm] = mini.list_tasks(instance_id=instance_id)
    mini.complete_task(confirm.id, {}, actor=confirm.candidates[0])
    [back] = mini.preview_migration("mini", 2, 1)
    assert not back.movable and any("(archive)" in r and "已删除" in r for r in back.reasons)


def test_one_failed_move_does_not_stop_the_others(mini, tmp_path):
    first = mini.start_instance("mini", {"title": "甲", "count": 1}, actor="m001")
    second = mini.start_instance("mini", {"title": "乙", "count": 1}, actor="m001")
    mini.deploy([with_archive(tmp_path)], actor="owner")
    seen = {c.instance_id: c.revision for c in mini.preview_migration("mini", 1, 2)}
    assert [c.instance_id for c in mini.preview_migration("mini", 1, 2, limit=1)] == [first]
    [task] = mini.list_tasks(instance_id=first)
    mini.claim_task(task.id, task.candidates[0])            # the first changes after the preview
    results = mini.migrate_instances("mini", 1, 2, actor="owner", instance_ids=[first, second], revisions=seen)
    assert [(r.instance_id, r.moved) for r in results] == [(first, False), (second, True)]
    with mini.reading() as session:
        versions = dict(session.execute(select(ProcessVersion.number, ProcessVersion.id)).all())
    assert mini.show_instance(second).version != mini.show_instance(first).version
    assert versions[2] != versions[1]


@pytest.mark.parametrize("cold", [False, True], ids=["warm", "cold"])
def test_a_consultation_in_its_research_step_moves_and_finishes_with_the_renamed_visit(consultation, tmp_path, cold):
    """Subprocesses and a multi-instance step: the researchers' ready tasks keep their items across the move."""
    scenario = not_in_the_past(copy.deepcopy(SCENARIOS["township"]), consultation.clock.now())
    instance_id = consultation.start_instance("consultation", scenario.intake(), actor="m001")
    advance(consultation, instance_id, scenario, stop_before="research")
    before = sorted((t.id, t.item_label) for t in consultation.list_tasks(instance_id=instance_id))
    renamed = tmp_path / "consultation"
    shutil.copytree(CONSULTATION, renamed)
    bpmn = renamed / "consultation.bpmn"
    bpmn.write_text(bpmn.read_text(encoding="utf-8").replace('name="回访问效"', 'name="电话回访"'), encoding="utf-8")
    consultation.deploy([renamed], actor="owner", note="回访改名")
    [check] = consultation.preview_migration("consultation", 1, 2)
    assert check.movable, check.reasons
    assert consultation.migrate_instances("consultation", 1, 2, actor="owner")[0].moved
    if cold:
        consultation.cache = VersionCache()
    assert sorted((t.id, t.item_label) for t in consultation.list_tasks(instance_id=instance_id)) == before
    names = {}
    consultation.on_task_added = (lambda session, human, now: names.setdefault(human.task_spec, human.name),)
    advance(consultation, instance_id, scenario)
    view = consultation.show_instance(instance_id)
    assert view.status == "completed" and len(view.data["research_reports"]) == len(scenario.researchers)
    assert names["follow_up_visit"] == "电话回访"


@pytest.mark.parametrize("cold", [False, True], ids=["warm", "cold"])
def test_a_moved_instance_drops_the_predicted_steps_the_new_version_removed(mini, tmp_path, cold):
    """The wait is only predicted under the ready review: the diff cannot align it, so the move predicts again."""
    instance_id = mini.start_instance("mini", {"title": "路灯", "count": 1}, actor="m001")
    mini.deploy([_variant(tmp_path, "v2", *NO_WAIT)], actor="owner", note="不再等待")
    assert mini.migrate_instances("mini", 1, 2, actor="owner")[0].moved
    done = _finish(mini, instance_id, cold)
    assert done == ["review", "confirm"] and mini.show_instance(instance_id).events[-1].kind == "instance_completed"


def test_two_versions_deployed_at_once_cannot_share_a_number(mini, tmp_path, monkeypatch):
    real_scalar = Session.scalar

    def stale_scalar(session, statement, *args, **kwargs):     # as if another deploy had read the same number
        text = str(statement).lower()
        return 0 if "max(process_version.number)" in text else real_scalar(session, statement, *args, **kwargs)

    folder = with_archive(tmp_path)
    monkeypatch.setattr(Session, "scalar", stale_scalar)
    with pytest.raises(ConcurrentUpdate, match="try again"):
        mini.deploy([folder], actor="owner")
    monkeypatch.undo()
    assert mini.deploy([folder], actor="owner").number == 2
