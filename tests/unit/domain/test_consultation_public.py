"""The public tracking query shows a topic's progress through 受理 and the six steps, results only once published,
and never contact details, people or internal reasons — on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from domain.consultation import hooks as consultation_hooks
from domain.consultation.demo import load_demo
from domain.consultation.models import Consultation
from domain.consultation.public import DECLINED_NOTICE, normalize_code, public_progress
from engine.clock import LOCAL_TZ
from tests.conftest import CONSULTATION
from tests.support.consultation import SCENARIOS, Scenario

PRIVATE = ("张女士", "13800001234")


@pytest.fixture
def consultation(service):
    """The engine with demo people and the consultation deployed."""
    with service.unit_of_work() as session:
        load_demo(session, service.clock.now())
    service.deploy([CONSULTATION], actor="owner")
    return service


def drive(engine, instance_id: int, scenario: Scenario, stop_before: str | None = None) -> list[tuple[str, str]]:
    """Complete the instance's tasks with the scenario's data (firing timers when only they are left), stopping
    before task `stop_before` if given; returns [(task, actor)]."""
    done = []
    for _ in range(500):
        tasks = engine.list_tasks(instance_id=instance_id)
        if not tasks:
            view = engine.show_instance(instance_id)
            if view.status in {"completed", "cancelled", "error"}:
                return done
            engine.clock.set(view.next_timer_at + timedelta(seconds=1))
            assert engine.fire_due_timers() == [instance_id]
            continue
        task = tasks[0]
        if task.task_spec == stop_before:
            return done
        actor = task.candidates[0]
        engine.complete_task(task.id, scenario.answer(task.task_spec, engine.show_instance(instance_id).data),
                             actor=actor, revision=task.revision)
        done.append((task.task_spec, actor))
    raise AssertionError("did not finish in 500 steps")


def submit(engine, scenario: Scenario, **changes) -> str:
    """A citizen's topic through the public intake; returns its tracking code."""
    return consultation_hooks.submit_intake(engine, scenario.intake() | changes).tracking_code


def progress_of(engine, code: str):
    with engine.unit_of_work() as session:
        return public_progress(session, code)


def states(progress) -> list[str]:
    return [progress.acceptance.state] + [step.state for step in progress.steps]


def private_words(accounts, done) -> set[str]:
    """Contact details, and the username and name of everyone who acted on the instance."""
    words = set(PRIVATE)
    for _, username in done:
        words |= {username, accounts.user(username).display_name}
    return words


@pytest.mark.parametrize(("text", "code"), [
    ("XS-7KQ2-M9TD", "XS-7KQ2-M9TD"), (" xs-7kq2-m9td ", "XS-7KQ2-M9TD"), ("xs 7kq2 m9td", "XS-7KQ2-M9TD"),
    ("7KQ2M9TD", "XS-7KQ2-M9TD"), ("XS-0KQ2-M9TD", None), ("XS-7KQ2-M9T", None), ("", None), (None, None),
    ("<script>", None), ("XS-7KQ2-M9TD-X", None)])
def test_codes_are_read_forgivingly_but_strictly(text, code):
    assert normalize_code(text) == code


def test_unknown_and_malformed_codes_find_nothing(consultation):
    submit(consultation, SCENARIOS["township"])
    assert progress_of(consultation, "XS-2222-2222") is None
    assert progress_of(consultation, "' OR 1=1 --") is None


def test_a_new_topic_waits_for_acceptance(consultation, clock):
    clock.set(datetime(2026, 3, 2, 17, 30, tzinfo=UTC))   # 01:30 on 3 March in Beijing
    code = submit(consultation, SCENARIOS["township"], village="township_xunchang_v07")
    progress = progress_of(consultation, code.lower())
    assert progress.tracking_code == code
    assert progress.title == "township：老街夜间照明不足"
    # The village is chosen from the directory: the page names it, never its code.
    assert (progress.category_name, progress.township_name, progress.village) == ("城乡建设", "巡场镇", "新街社区")
    assert progress.submitted_on == date(2026, 3, 3)
    assert (progress.status, progress.status_label) == ("intake", "受理中")
    assert states(progress) == ["current"] + ["pending"] * 6
    assert [s.name for s in progress.steps][0] == "确定协商主题" and len(progress.steps) == 6
    assert progress.results is None and progress.declined_notice is None
    assert not any(word in repr(progress) for word in PRIVATE)


def test_progress_follows_the_steps(consultation):
    scenario = replace(SCENARIOS["township"], counters={})
    receipt = consultation_hooks.submit_intake(consultation, scenario.intake())
    drive(consultation, receipt.instance_id, scenario, stop_before="define_topic")
    progress = progress_of(consultation, receipt.tracking_code)
    assert (progress.status_label, states(progress)) == ("已受理", ["done", "current"] + ["pending"] * 5)
    drive(consultation, receipt.instance_id, scenario, stop_before="hold_meeting")
    assert states(progress_of(consultation, receipt.tracking_code)) == ["done"] * 4 + ["current", "pending", "pending"]


def test_results_are_public_only_once_published(services, consultation):
    scenario = replace(SCENARIOS["township"], counters={})
    receipt = consultation_hooks.submit_intake(consultation, scenario.intake())
    done = drive(consultation, receipt.instance_id, scenario, stop_before="follow_up_visit")
    before = progress_of(consultation, receipt.tracking_code)
    assert before.results is None   # answers exist, but nothing is published before the follow-up
    assert states(before) == ["done"] * 6 + ["current"]
    done += drive(consultation, receipt.instance_id, scenario)
    after = progress_of(consultation, receipt.tracking_code)
    assert (after.status, after.status_label, states(after)) == ("completed", "已完成", ["done"] * 7)
    results = after.results
    assert (results.topic, results.report_title) == ("老街夜间照明与出行安全", "关于老街夜间照明的协商报告")
    assert results.satisfaction_label == "满意"
    assert results.published_on == consultation.clock.now().astimezone(LOCAL_TZ).date()
    assert [(s.number, s.text, s.department_name, s.adoption_label, s.measures, s.promised_date)
            for s in results.suggestions] == [
        (1, "增设老街路灯 20 盏", "县住房和城乡建设局", "采纳", "已列入年度改造计划", date(2026, 9, 30)),
        (2, "优化夜间公交班次", "县交通运输局", "采纳", "已列入年度改造计划", date(2026, 9, 30))]
    text = repr(after)
    assert "请住建局牵头落实" not in text and "县委副书记" not in text   # the leader's instruction stays inside
    assert not [word for word in private_words(services.accounts, done) if word in text]


def test_a_declined_topic_shows_the_office_words_for_the_proposer_and_no_pending_steps(services, consultation):
    scenario = replace(SCENARIOS["declined"], counters={})
    receipt = consultation_hooks.submit_intake(consultation, scenario.intake())
    done = drive(consultation, receipt.instance_id, scenario)
    progress = progress_of(consultation, receipt.tracking_code)
    assert (progress.status, progress.status_label) == ("declined", "不予受理")
    assert states(progress) == ["declined"]            # it ended at acceptance: the six steps are not waiting
    assert progress.declined_reason == "属于信访事项，已转有关部门依法办理。"
    assert progress.declined_notice == DECLINED_NOTICE and progress.results is None
    assert "2026-118" not in repr(progress) and "内部核查" not in repr(progress)   # the internal reason stays in
    assert not [word for word in private_words(services.accounts, done) if word in repr(progress)]


def test_a_topic_declined_before_the_public_reason_shows_the_general_notice(services, consultation):
    scenario = replace(SCENARIOS["declined"], counters={})
    receipt = consultation_hooks.submit_intake(consultation, scenario.intake())
    drive(consultation, receipt.instance_id, scenario)
    with consultation.unit_of_work() as session:      # as an older triage form left it: no words for the proposer
        session.scalar(select(Consultation).where(Consultation.instance_id == receipt.instance_id)).public_reason = None
    progress = progress_of(consultation, receipt.tracking_code)
    assert progress.declined_reason is None and progress.declined_notice == DECLINED_NOTICE
    assert states(progress) == ["declined"]
