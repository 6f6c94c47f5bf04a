"""Process hooks: a process without hooks runs plainly; the consultation's hooks write its records; a failing hook
stops the command with HookFailed (cause kept, logged), not a script error, and nothing is half-saved."""

from __future__ import annotations

import copy
import logging

import pytest
from sqlalchemy import func, select

from domain.consultation import hooks as consultation_hooks
from domain.consultation.demo import load_demo
from domain.consultation.models import Consultation, IntakeItem, Suggestion
from domain.services import Services
from domain.wiring import standard_hooks
from engine.bpmn import runtime
from engine.bpmn.specs import load_bundle
from engine.errors import HookFailed, ScriptError
from engine.hooks import HookRegistry, ProcessHooks
from engine.service import Engine
from engine.store.models import AuditEvent, HumanTask, OutboxMessage, ProcessInstance
from engine.store.versions import VersionCache
from tests.conftest import CONSULTATION, DATA
from tests.support.consultation import SCENARIOS

BOX = DATA / "suggestion_box"
LETTER = {"title": "食堂排队太长", "description": "中午排队要二十分钟，希望多开一个窗口。", "category": "canteen",
          "tier": "floor_3", "org_unit": "canteen_team"}
READ = {"topic": "食堂窗口", "suggestions": [{"id": 1, "text": "多开一个窗口", "department": "dept_housing"}]}


def _with_people(engine: Engine) -> Engine:
    with engine.unit_of_work() as session:
        load_demo(session, engine.clock.now())
    engine.deploy([BOX], actor="owner")
    return engine


def _counts(engine: Engine, *models) -> dict[str, int]:
    with engine.unit_of_work() as session:
        return {m.__name__: session.scalar(select(func.count()).select_from(m)) for m in models}


def _boom(*args):
    raise ZeroDivisionError("our bug")


@pytest.fixture
def box(service):
    """The standard engine (consultation hooks registered) with demo people and the suggestion box deployed."""
    return _with_people(service)


def failing(sqlite_url, clock, **hooks) -> Engine:
    """An engine whose suggestion box has the given hooks."""
    registry = HookRegistry(ProcessHooks("suggestion_box", **hooks))
    return _with_people(Services.from_url(sqlite_url, clock, hooks=registry).engine)


def test_a_new_process_with_title_and_description_runs_plainly(box):
    instance_id = box.start_instance("suggestion_box", LETTER, actor="m001")
    [task] = box.list_tasks(instance_id=instance_id)
    assert (task.org_unit, task.tier) == ("county", None)     # from the diagram's orgUnit, not from its data
    box.complete_task(task.id, READ, actor=task.candidates[0])
    view = box.show_instance(instance_id)
    assert (view.status, view.tier, view.org_unit) == ("completed", None, None)
    assert view.data["topic"] == "食堂窗口"
    assert _counts(box, IntakeItem, Consultation, Suggestion) == {"IntakeItem": 0, "Consultation": 0, "Suggestion": 0}
    assert _counts(box, OutboxMessage)["OutboxMessage"] >= 1    # its publish service call still goes out


def test_the_consultation_still_writes_its_records(service):
    with service.unit_of_work() as session:
        load_demo(session, service.clock.now())
    service.deploy([CONSULTATION], actor="owner")
    scenario = copy.deepcopy(SCENARIOS["township"])
    receipt = consultation_hooks.submit_intake(service, scenario.intake())
    [triage] = service.list_tasks(instance_id=receipt.instance_id)
    answer = scenario.answer("triage", service.show_instance(receipt.instance_id).data)
    service.complete_task(triage.id, answer, actor=triage.candidates[0])
    view = service.show_instance(receipt.instance_id)
    assert (view.tier, view.org_unit) == ("township", "township_xunchang")
    with service.unit_of_work() as session:
        record = session.scalar(select(Consultation).where(Consultation.instance_id == receipt.instance_id))
        assert (record.tier, record.org_unit_code, record.status) == ("township", "township_xunchang", "in_progress")
    assert receipt.tracking_code.startswith("XS-")


def test_a_failing_start_hook_raises_hook_failed_and_saves_nothing(sqlite_url, clock, caplog):
    engine = failing(sqlite_url, clock, on_start=_boom)
    with caplog.at_level(logging.ERROR, logger="engine.hooks"), pytest.raises(HookFailed) as err:
        engine.start_instance("suggestion_box", LETTER, actor="m001")
    assert isinstance(err.value.__cause__, ZeroDivisionError) and not isinstance(err.value, ScriptError)
    assert (err.value.process_id, err.value.hook) == ("suggestion_box", "on_start")
    assert "管理员" in err.value.message and "administrators" in err.value.message
    assert _counts(engine, ProcessInstance, HumanTask, AuditEvent) == {"ProcessInstance": 0, "HumanTask": 0,
                                                                       "AuditEvent": 1}    # only the deploy's
    [record] = [r for r in caplog.records if r.name == "engine.hooks"]
    assert record.exc_info and "suggestion_box.on_start" in record.getMessage()
    assert "ZeroDivisionError: our bug" in caplog.text and "Traceback" in caplog.text


def test_a_failing_save_hook_rolls_back_the_whole_command(sqlite_url, clock):
    calls = []

    def on_save(session, instance, data, now, advance):
        calls.append(instance.status)
        if instance.status == "completed":
            raise KeyError("suggestions")

    engine = failing(sqlite_url, clock, on_save=on_save)
    instance_id = engine.start_instance("suggestion_box", LETTER, actor="m001")
    [task] = engine.list_tasks(instance_id=instance_id)
    before, outbox = engine.show_instance(instance_id), _counts(engine, OutboxMessage)
    with pytest.raises(HookFailed) as err:
        engine.complete_task(task.id, READ, actor=task.candidates[0])
    assert isinstance(err.value.__cause__, KeyError) and err.value.hook == "on_save"
    after = engine.show_instance(instance_id)
    assert (after.status, after.revision, after.events) == (before.status, before.revision, before.events)
    assert "topic" not in after.data
    assert [t.id for t in engine.list_tasks(instance_id=instance_id)] == [task.id]
    assert _counts(engine, OutboxMessage) == outbox     # neither the publish call nor a notification
    assert calls == ["running", "completed"]


def test_a_failing_scope_hook_is_hook_failed_too(sqlite_url, clock):
    engine = failing(sqlite_url, clock, scope=_boom)
    with pytest.raises(HookFailed) as err:
        engine.start_instance("suggestion_box", LETTER, actor="m001")
    assert err.value.hook == "scope" and isinstance(err.value.__cause__, ZeroDivisionError)
    assert _counts(engine, ProcessInstance)["ProcessInstance"] == 0


def test_an_error_a_hook_raises_on_purpose_passes_unchanged(sqlite_url, clock):
    def refuse(*args):
        raise ScriptError("read", "a refusal the hook means")

    engine = failing(sqlite_url, clock, on_start=refuse)
    with pytest.raises(ScriptError):
        engine.start_instance("suggestion_box", LETTER, actor="m001")


def test_a_hook_failing_inside_an_engine_run_is_not_a_script_error(clock):
    def on_task():
        try:
            _boom()
        except ZeroDivisionError as exc:
            raise HookFailed("suggestion_box", "on_task") from exc

    bundle = VersionCache().parse(load_bundle([BOX]))
    workflow = runtime.new_workflow(bundle, dict(LETTER))
    with pytest.raises(HookFailed) as err:
        runtime.run(workflow, clock, on_task=on_task)
    assert isinstance(err.value.__cause__, ZeroDivisionError)


def test_a_process_registers_its_hooks_once():
    registry = HookRegistry(ProcessHooks("suggestion_box"))
    with pytest.raises(ValueError):
        registry.register(ProcessHooks("suggestion_box"))
    assert registry.of("other").on_start is None and registry.scope("other", LETTER) == (None, None)


def test_the_standard_wiring_registers_the_consultation():
    hooks = standard_hooks().of("consultation")
    assert hooks.on_start and hooks.on_save and hooks.scope and hooks.public_view
    assert hooks.vocabulary[1] == "确定协商主题" and hooks.vocabulary[0] == "受理分流"
    assert hooks.scope({"tier": "county", "org_unit": "county"}) == ("county", "county")


def test_public_tracking_is_the_consultations_registered_view(sqlite_services, sqlite_service):
    with sqlite_service.unit_of_work() as session:
        load_demo(session, sqlite_service.clock.now())
    sqlite_service.deploy([CONSULTATION], actor="owner")
    code = consultation_hooks.submit_intake(sqlite_service, SCENARIOS["township"].intake()).tracking_code
    assert sqlite_services.participation.track(code).tracking_code == code
    assert sqlite_services.participation.track("XS-AAAA-AAAA") is None
    plain = Services(sqlite_service.sessions, sqlite_service.clock, hooks=HookRegistry())   # nobody issues codes
    assert plain.participation.track(code) is None


def test_a_hook_failure_spiffworkflow_wrapped_is_still_hook_failed(clock):
    from SpiffWorkflow.exceptions import WorkflowException

    workflow = runtime.new_workflow(VersionCache().parse(load_bundle([BOX])), dict(LETTER))

    def on_task():
        try:
            try:
                _boom()
            except ZeroDivisionError as exc:
                raise HookFailed("suggestion_box", "on_task") from exc
        except HookFailed as failed:
            raise WorkflowException("error in task") from failed     # how SpiffWorkflow reports a task's error

    with pytest.raises(HookFailed) as err:
        runtime.run(workflow, clock, on_task=on_task)
    assert isinstance(err.value.__cause__, ZeroDivisionError)
