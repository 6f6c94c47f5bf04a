"""The `xieshang` CLI as other tools drive it: JSON on stdout, messages on stderr, exit 1 without tracebacks."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cli.main import cli
from tests.conftest import DATA


@pytest.fixture
def run(tmp_path, monkeypatch):
    """Invoke the CLI on a fresh SQLite database; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("XIESHANG_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("XIESHANG_INSTANCE_PATH", str(tmp_path))
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    assert invoke("init")[0] == 0
    return invoke


def test_demo_json_lists_accounts(run):
    code, out, _ = run("demo", "--no-cases", "--json")
    accounts = json.loads(out)
    assert code == 0 and len(accounts) == 380
    office = next(a for a in accounts if a["username"] == "office")
    assert office == {"username": "office", "password": "xieshang-demo", "roles": ["office"], "org_unit": "county"}
    roles = {r for a in accounts for r in a["roles"]}
    assert roles == {"admin", "process_owner", "supervisor", "office", "platform_lead", "organizer", "member",
                     "department"}
    code, out, _ = run("demo", "--once", "--no-cases", "--json")
    assert code == 0 and len(json.loads(out)) == 380


def test_round_trip_through_the_cli(run):
    run("demo", "--no-cases")
    code, out, _ = run("deploy", str(DATA / "mini"), "--json", "--note", "第一版")
    assert code == 0 and json.loads(out)["process_id"] == "mini" and json.loads(out)["number"] == 1
    code, out, _ = run("start", "mini", "--data", '{"title": "路灯", "count": 2}', "--as", "m001", "--json")
    instance_id = json.loads(out)["instance_id"]
    code, out, _ = run("tasks", "--as", "office", "--json")
    [task] = json.loads(out)
    assert {"id", "instance_id", "name", "step", "lane", "candidates", "assignee", "due_at", "form",
            "escalation_level"} <= set(task)
    assert task["instance_id"] == instance_id and task["candidates"] == ["office", "office2"]
    code, _, err = run("complete", task["id"], "--data", '{"approved": "maybe"}', "--as", "office")
    assert code == 1 and "approved: 类型不正确" in err and "Traceback" not in err
    code, _, _ = run("complete", task["id"], "--data", '{"approved": true}', "--as", "office")
    assert code == 0
    code, out, _ = run("show", str(instance_id), "--json")
    shown = json.loads(out)
    assert (shown["status"], shown["step"]) == ("waiting", 1)
    assert [e["kind"] for e in shown["events"]] == ["instance_started", "task_completed", "service_called"]
    code, out, _ = run("sweep", "--now", "2100-01-01T00:00:00+00:00", "--json")
    assert json.loads(out)["fired"] == [instance_id]
    code, out, _ = run("tasks", "--instance", str(instance_id), "--json")
    assert [t["name"] for t in json.loads(out)] == ["确认"]


def test_errors_are_messages_not_tracebacks(run):
    for args, expected in [
        (("show", "42", "--json"), "no such instance"),
        (("start", "nope", "--json"), "no deployed process 'nope'"),
        (("complete", "no-such-task", "--as", "office"), "no such task"),
        (("start", "x", "--data", "[1]"), "must be a JSON object"),
        (("start", "x", "--data", "{oops"), "not valid JSON"),
        (("sweep", "--now", "yesterday"), "not an ISO 8601 time"),
        (("deploy", "/nonexistent/path"), "no such file or directory"),
    ]:
        code, out, err = run(*args)
        assert code != 0, args
        assert expected in out + err, (args, out, err)
        assert "Traceback" not in out + err


def test_validate_exit_codes(run, tmp_path):
    code, out, _ = run("validate", str(DATA / "mini"))
    assert (code, out) == (0, "")
    broken = tmp_path / "broken.bpmn"
    broken.write_text((DATA / "mini" / "mini.bpmn").read_text(encoding="utf-8")
                      .replace("approved == True", "approved = = True")
                      .replace('id="notify"', 'id="sms"'), encoding="utf-8")
    code, out, _ = run("validate", str(broken))
    assert code == 1
    assert out.splitlines() == [
        "broken.bpmn:48 f_ok: unparsable expression: invalid syntax ('approved = = True')",
        "broken.bpmn:53 notify_ok: unknown service operator 'sms'; known: notify, publish",
        "broken.bpmn:22 start: formJsonSchemaFilename: form file forms/start.schema.json is missing from the bundle",
        "broken.bpmn:30 review: formJsonSchemaFilename: form file forms/review.schema.json is missing from the bundle",
    ]


def test_database_not_initialised_is_explained(tmp_path, monkeypatch):
    monkeypatch.setenv("XIESHANG_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = CliRunner().invoke(cli, ["tasks", "--json"])
    assert result.exit_code == 1 and "xieshang init" in result.stderr


def test_backfill_records_older_instances_forms_once_and_skips_a_broken_one(run, tmp_path):
    from sqlalchemy import create_engine, text

    run("demo", "--no-cases")
    run("deploy", str(DATA / "mini"))
    ids = [json.loads(run("start", "mini", "--data", json.dumps({"title": t, "count": 1}), "--as", "m001",
                          "--json")[1])["instance_id"] for t in ("路灯", "井盖")]
    [task] = [t for t in json.loads(run("tasks", "--as", "office", "--json")[1]) if t["instance_id"] == ids[0]]
    assert run("complete", task["id"], "--data", '{"approved": true}', "--as", "office")[0] == 0
    database = create_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with database.begin() as connection:       # as instances started before submissions were recorded
        connection.execute(text("DELETE FROM task_submission"))
        connection.execute(text("UPDATE process_instance SET state = '{broken' WHERE id = :id"), {"id": ids[1]})
    code, out, _ = run("backfill", "--json")
    result = json.loads(out)
    assert code == 0 and result["recorded"] == {str(ids[0]): 2} and list(result["failed"]) == [str(ids[1])]
    with database.connect() as connection:
        rows = connection.execute(text("SELECT instance_id, task_spec, actor FROM task_submission")).all()
    assert sorted(r.actor for r in rows) == ["m001", "office"] and {r.instance_id for r in rows} == {ids[0]}
    assert json.loads(run("backfill", "--json")[1])["recorded"] == {}          # once: recorded instances are skipped
    database.dispose()


def test_backfill_adopts_legacy_evidence_files_and_lists_the_others(run, tmp_path):
    legacy, stray = "0123456789abcdef01234567.pdf", "fedcba9876543210fedcba98.png"
    run("demo", "--no-cases")
    run("deploy", str(DATA / "mini"))
    code, out, _ = run("start", "mini", "--data", json.dumps({"title": legacy, "count": 1}), "--as", "m001", "--json")
    instance_id = json.loads(out)["instance_id"]
    (tmp_path / "uploads").mkdir(exist_ok=True)
    (tmp_path / "uploads" / legacy).write_bytes(b"%PDF-1.4 legacy")
    (tmp_path / "uploads" / stray).write_bytes(b"\x89PNG stray")
    code, out, err = run("backfill", "--json")
    files = json.loads(out)["files"]
    assert code == 0 and files["adopted"] == {legacy: {"instance_id": instance_id, "owner": "m001", "task_id": None}}
    assert files["unreferenced"] == [stray] and (tmp_path / "uploads" / stray).is_file()
    code, _, err = run("backfill")
    assert code == 0 and "0 adopted, 1 named by no form" in err and stray in err


def test_tokens_are_issued_listed_and_revoked_from_the_cli(run):
    run("demo")
    code, out, _ = run("token", "m001", "--label", "导出", "--days", "7", "--json")
    assert code == 0 and json.loads(out)["token"].startswith("xs_")
    code, out, _ = run("token", "m001", "--list", "--json")
    (listed,) = json.loads(out)
    assert listed["label"] == "导出" and listed["valid"] is True
    assert listed["expires_at"][:10] > listed["created_at"][:10]
    code, out, _ = run("token", "m001", "--revoke", str(listed["id"]))
    assert code == 0 and run("token", "m001", "--list", "--json")[1].strip() == "[]"
    code, _, err = run("token", "m002", "--revoke", str(listed["id"]))
    assert code == 1 and "no such token" in err
