"""Submitted data, the CLI and storage on both databases: refusals change nothing."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
from sqlalchemy import select

from engine.errors import Problem, ScriptError, SpecInvalid, ValidationFailed
from engine.store.models import OutboxMessage
from tests.unit.engine.hostile.support import (
    ACTOR,
    DOCTYPE_REFUSED,
    FORMAT_ESCAPES,
    FORMAT_REFUSED,
    LOOPS,
    NOTHING,
    TOKEN,
    assert_token_absent,
    budget_message,
    counts,
    dump,
    render_bpmn,
    with_doctype,
    write_bundle,
)


def test_probe_server_sees_requests(probe):
    """The zero-hit assertions below can fail: a real fetch is counted."""
    base, hits = probe
    with urllib.request.urlopen(f"{base}/canary") as response:
        assert TOKEN.encode() in response.read()
    assert hits == ["/canary"]


def test_fixture_bundle_is_valid_and_runs(sqlite_service, tmp_path):
    """The safe fixture deploys and runs end to end, so every refusal below is caused by the hostile part."""
    bundle = write_bundle(tmp_path / "ok")
    assert sqlite_service.validate([bundle]) == []
    sqlite_service.deploy([bundle], actor="owner")
    instance_id = sqlite_service.start_instance("hostile", {"title": "t"})
    [task] = sqlite_service.list_tasks(instance_id=instance_id)
    assert (task.task_spec, task.assignee, task.org_unit) == ("review", "clerk", "county")
    sqlite_service.complete_task(task.id, {"approved": True}, ACTOR)
    view = sqlite_service.show_instance(instance_id)
    assert view.status == "waiting"
    assert view.data == {"title": "t", "greeting": "hello", "level": "low", "seen": 1, "approved": True,
                         "reviewed": True, "notified": {"queued": True, "operator": "notify"}}


# --------------------------------------------------------------------------------------------------
# Submitted data: only the form's fields get in; wrong types get a message per field.
# --------------------------------------------------------------------------------------------------
TAMPERING = {"tier": "gold", "org_unit": "evil_unit", "__class__": 1, "_getattr_": 1, "_tick_": None,
             "greeting": "overwritten", "level": "high", "notified": "forged"}


@pytest.fixture
def deployed(sqlite_service, tmp_path):
    """The safe fixture bundle, deployed."""
    sqlite_service.deploy([write_bundle(tmp_path / "bundle")], actor="owner")
    return sqlite_service


def test_start_drops_keys_the_start_form_does_not_declare(deployed):
    instance_id = deployed.start_instance("hostile", {"title": "t", **TAMPERING})
    view = deployed.show_instance(instance_id)
    assert view.data == {"title": "t", "greeting": "hello", "level": "low", "seen": 1}
    assert (view.tier, view.org_unit) == (None, None)
    [task] = deployed.list_tasks(instance_id=instance_id)
    assert (task.org_unit, task.tier, task.assignee) == ("county", None, "clerk")


def test_complete_drops_keys_the_form_does_not_declare(deployed):
    instance_id = deployed.start_instance("hostile", {"title": "t"})
    [task] = deployed.list_tasks(instance_id=instance_id)
    deployed.complete_task(task.id, {"approved": True, "comment": "ok", **TAMPERING}, ACTOR)
    view = deployed.show_instance(instance_id)
    assert view.data == {"title": "t", "greeting": "hello", "level": "low", "seen": 1, "approved": True,
                         "comment": "ok", "reviewed": True, "notified": {"queued": True, "operator": "notify"}}
    assert (view.tier, view.org_unit) == (None, None)
    assert view.events[1].detail == {"task": "review", "name": "Review", "fields": ["approved", "comment"]}
    with deployed.unit_of_work() as session:
        messages = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [m.params.get("kind") for m in messages] == ["assignment", None]   # the review task's notice, then ours
        assert messages[1].params == {"message": "ok: hello"}


INVALID = {
    "wrong-types": ({"approved": "yes", "comment": 5},
                    {"approved": ["类型不正确，应为 是/否"],
                     "comment": ["类型不正确，应为 文本"]}),
    "missing-and-too-long": ({"comment": "x" * 21, "tier": "gold"},
                             {"approved": ["此项为必填项"],
                              "comment": ["不能超过 20 个字"]}),
    "not-an-object": (["approved"], {"(form)": ["提交的数据必须是一个对象 (data must be a JSON object)"]}),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_data_gets_a_message_per_field_and_changes_nothing(case, deployed, run_cli):
    data, field_errors = INVALID[case]
    instance_id = deployed.start_instance("hostile", {"title": "t"})
    [task] = deployed.list_tasks(instance_id=instance_id)
    before = dump(deployed)
    with pytest.raises(ValidationFailed) as refused:
        deployed.complete_task(task.id, data, ACTOR)
    assert refused.value.field_errors == field_errors
    assert str(refused.value) == "表单数据无效 (invalid data)\n" + "\n".join(
        f"{field}: {'; '.join(msgs)}" for field, msgs in sorted(field_errors.items()))
    completed = run_cli("complete", task.id, "--data", json.dumps(data, ensure_ascii=False), "--as", ACTOR)
    if isinstance(data, dict):
        assert (completed.exit_code, completed.stdout) == (1, "")
        assert completed.stderr == "表单数据无效 (invalid data):\n" + "".join(
            f"  {field}: {msg}\n" for field, msgs in sorted(field_errors.items()) for msg in msgs)
    else:   # the CLI refuses a non-object before the engine sees it
        assert completed.exit_code == 2 and "must be a JSON object" in completed.stderr
    assert dump(deployed) == before
    assert [t.id for t in deployed.list_tasks(instance_id=instance_id)] == [task.id]


# --------------------------------------------------------------------------------------------------
# The CLI shows run-time refusals as one line, exit 1, no traceback.
# --------------------------------------------------------------------------------------------------
def test_cli_start_shows_the_script_error(sqlite_service, run_cli, tmp_path):
    bundle = write_bundle(tmp_path / "bundle", script=FORMAT_ESCAPES["format"])
    deployed = run_cli("deploy", bundle, "--json")
    assert deployed.exit_code == 0 and json.loads(deployed.stdout)["process_id"] == "hostile"
    before = dump(sqlite_service)
    started = run_cli("start", "hostile", "--data", "{}", "--json")
    assert (started.exit_code, started.stdout) == (1, "")
    assert started.stderr == f"错误 (error): script_task: {FORMAT_REFUSED.replace(':', ': ', 1)}\n"
    assert dump(sqlite_service) == before


def test_cli_complete_shows_the_budget_stop(sqlite_service, run_cli, tmp_path):
    sqlite_service.deploy([write_bundle(tmp_path / "bundle", post=LOOPS["while-1"])], actor="owner")
    instance_id = sqlite_service.start_instance("hostile", {})
    [task] = sqlite_service.list_tasks(instance_id=instance_id)
    before = dump(sqlite_service)
    completed = run_cli("complete", task.id, "--data", '{"approved": true}', "--as", ACTOR)
    assert (completed.exit_code, completed.stdout) == (1, "")
    pattern = budget_message("review", "Error occurred in the Post-Script").pattern
    assert re.fullmatch(re.escape("错误 (error): ") + pattern + "\n", completed.stderr)
    assert dump(sqlite_service) == before


# --------------------------------------------------------------------------------------------------
# Storage, on SQLite and PostgreSQL: a refused deploy and a failed start leave no row behind.
# --------------------------------------------------------------------------------------------------
def test_refusals_store_nothing(service, secret, tmp_path):
    xxe = with_doctype(render_bpmn(), f'<!DOCTYPE definitions [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>', "&xxe;")
    with pytest.raises(SpecInvalid) as refused:
        service.deploy([write_bundle(tmp_path / "xxe", bpmn=xxe)], actor="owner")
    assert refused.value.problems[0] == Problem("hostile.bpmn", 2, None, DOCTYPE_REFUSED)
    assert counts(service) == NOTHING
    service.deploy([write_bundle(tmp_path / "escape", script=FORMAT_ESCAPES["format_map"])], actor="owner")
    before = dump(service)
    assert counts(service) == {**NOTHING, "process_version": 1, "audit_event": 1}
    with pytest.raises(ScriptError) as failed:
        service.start_instance("hostile", {"title": "t"})
    assert str(failed.value) == f"script_task: {FORMAT_REFUSED.replace(':', ': ', 1)}"
    after = dump(service)
    assert after == before
    assert_token_absent(refused.value, failed.value, after)

