"""Issue 8 (third part): form schemas, submissions, data sizes have a bounded cost; refusals say why, store nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from engine.bpmn import storable
from engine.bpmn.forms import BROKEN_SCHEMA, clean_submission
from engine.bpmn.formschema import DEFAULT_MAX_ITEMS, MAX_FORM_BYTES, MAX_ITEMS
from engine.errors import ScriptError, SpecInvalid, ValidationFailed
from tests.unit.engine.hostile.support import ACTOR, dump, write_bundle

SHIPPED = Path(__file__).parents[4] / "processes" / "consultation" / "forms"
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def _bundle(tmp_path, start_schema, name="bundle", **code) -> Path:
    """The hostile fixture bundle with its start form replaced by `start_schema` (a dict or raw text)."""
    path = write_bundle(tmp_path / name, **code)
    text = start_schema if isinstance(start_schema, str) else json.dumps(start_schema)
    (path / "start.schema.json").write_text(text)
    return path


def _form(**fields) -> dict:
    return {"$schema": DRAFT, "type": "object", "properties": fields}


def _mixed(count: int) -> list:
    """Half ints, half strings: jsonschema's uniqueItems cannot sort them and compares every pair."""
    return [i if i % 2 else str(i) for i in range(count)]


# ---------------------------------------------------------------- arrays and uniqueItems
def test_a_20000_item_mixed_researchers_submit_is_refused_at_once():
    """Measured: 69.6 s of CPU before; refused before the schema check runs."""
    schema = json.loads((SHIPPED / "draft_plan.schema.json").read_text())
    started = time.process_time()
    with pytest.raises(ValidationFailed) as refused:
        clean_submission(schema, {"researchers": _mixed(20_000)})
    assert time.process_time() - started < 1.0
    assert refused.value.field_errors == {"researchers": [f"最多 {MAX_ITEMS} 项 (at most {MAX_ITEMS} items)"]}


def test_every_shipped_array_sets_max_items():
    for path in sorted(SHIPPED.glob("*.schema.json")):
        text = path.read_text()
        assert text.count('"type": "array"') == text.count('"maxItems"'), path.name


def test_an_array_without_max_items_gets_the_default_and_a_notice(sqlite_service, tmp_path, run_cli):
    bundle = _bundle(tmp_path, _form(title={"type": "string"}, names={"type": "array", "uniqueItems": True}))
    result = run_cli("validate", bundle)
    assert result.exit_code == 0
    assert (f"start.schema.json start: /properties/names: "
            f"提示：列表未设 maxItems，系统按最多 {DEFAULT_MAX_ITEMS} 项处理 "
            f"(notice: no maxItems; the engine allows at most {DEFAULT_MAX_ITEMS} items)") in result.output
    sqlite_service.deploy([bundle], actor="owner")
    before = dump(sqlite_service)
    started = time.process_time()
    with pytest.raises(ValidationFailed) as refused:
        sqlite_service.start_instance("hostile", {"names": _mixed(DEFAULT_MAX_ITEMS + 1)}, ACTOR)
    assert time.process_time() - started < 1.0
    assert refused.value.field_errors == {"names": [f"最多 {DEFAULT_MAX_ITEMS} 项"]}
    assert dump(sqlite_service) == before


def test_max_items_above_the_limit_is_refused_at_deploy(sqlite_service, tmp_path, run_cli):
    bundle = _bundle(tmp_path, _form(names={"type": "array", "maxItems": 100_000}))
    result = run_cli("validate", bundle)
    assert result.exit_code == 1
    assert f"start.schema.json start: /properties/names: maxItems 100000 is above the limit of {MAX_ITEMS}" \
        in result.output


# ---------------------------------------------------------------- patterns
def test_a_catastrophic_pattern_runs_in_linear_time(sqlite_service, tmp_path):
    """Measured: a 27-character answer took 8.9 s with `^(a+)+$`; RE2 answers at once."""
    sqlite_service.deploy([_bundle(tmp_path, _form(title={"type": "string", "pattern": "^(a+)+$"}))], actor="o")
    before = dump(sqlite_service)
    started = time.process_time()
    with pytest.raises(ValidationFailed) as refused:
        sqlite_service.start_instance("hostile", {"title": "a" * 26 + "!"}, ACTOR)
    assert time.process_time() - started < 1.0
    assert refused.value.field_errors == {"title": ["格式不正确"]}
    assert dump(sqlite_service) == before


@pytest.mark.parametrize("pattern", [r"^(a)\1$", "^(?=a)a$", "^(?<!b)a$"])
def test_a_pattern_that_needs_backtracking_is_refused_at_deploy(pattern, sqlite_service, tmp_path, run_cli):
    bundle = _bundle(tmp_path, _form(title={"type": "string", "pattern": pattern}))
    result = run_cli("validate", bundle)
    assert result.exit_code == 1
    line = next(line for line in result.output.splitlines() if "linear time" in line)
    assert line.startswith(f"start.schema.json start: /properties/title: pattern {pattern!r} cannot run in linear")
    assert line.endswith("backreferences and lookaround are not supported")


# ---------------------------------------------------------------- $ref
@pytest.mark.parametrize("ref", ["https://example.invalid/s.json", "file:///etc/passwd", "other.schema.json"])
def test_a_ref_outside_the_document_is_refused_at_deploy(ref, sqlite_service, tmp_path, run_cli, probe):
    base, hits = probe
    ref = ref.replace("https://example.invalid", base)
    result = run_cli("validate", _bundle(tmp_path, _form(title={"$ref": ref})))
    assert result.exit_code == 1
    assert (f"start.schema.json start: /properties/title: $ref {ref!r} points outside this file; only refs inside "
            "it (#/$defs/…) are allowed — other files and URLs are never fetched") in result.output
    assert hits == []


@pytest.mark.parametrize("schema", [{"$schema": DRAFT, "$ref": "#"},
                                    {"$schema": DRAFT, "$defs": {"a": {"allOf": [{"$ref": "#/$defs/a"}]}},
                                     "$ref": "#/$defs/a"}])
def test_a_self_referencing_ref_is_refused_at_deploy(schema, sqlite_service, tmp_path):
    with pytest.raises(SpecInvalid) as refused:
        sqlite_service.deploy([_bundle(tmp_path, schema)], actor="owner")
    assert any("refers back to itself without descending into the data (an endless loop)" in p.message
               for p in refused.value.problems)


def test_a_recursive_ref_through_the_data_is_allowed(sqlite_service, tmp_path):
    node = {"type": "object", "properties": {"name": {"type": "string"},
                                             "children": {"type": "array", "maxItems": 5,
                                                          "items": {"$ref": "#/$defs/node"}}}}
    schema = {**_form(title={"type": "string"}, tree={"$ref": "#/$defs/node"}), "$defs": {"node": node}}
    assert sqlite_service.validate([_bundle(tmp_path, schema)]) == []


def test_a_version_with_a_backtracking_pattern_is_refused_at_submit():
    """A version deployed before these checks: the form cannot be used, said plainly, never a 500."""
    with pytest.raises(ValidationFailed) as refused:
        clean_submission(_form(title={"type": "string", "pattern": "^(?=a)a$"}), {"title": "a"})
    assert refused.value.field_errors == {"(form)": [BROKEN_SCHEMA]}


def test_a_version_with_a_remote_ref_is_never_fetched_at_submit(probe):
    """A version deployed before these checks: a clear refusal, no request, no 500."""
    base, hits = probe
    with pytest.raises(ValidationFailed) as refused:
        clean_submission(_form(title={"$ref": f"{base}/s.json"}), {"title": "x"})
    assert refused.value.field_errors == {"(form)": [BROKEN_SCHEMA]}
    assert hits == []


# ---------------------------------------------------------------- size and nesting of form files and submissions
def test_a_form_nested_100000_deep_is_one_validate_line(sqlite_service, tmp_path, run_cli):
    result = run_cli("validate", _bundle(tmp_path, "[" * 100_000 + "]" * 100_000))
    assert result.exit_code == 1
    assert "start.schema.json start: nested 100000 levels deep; the limit is 64" in result.output


def test_an_oversized_form_file_is_refused(sqlite_service, tmp_path, run_cli):
    big = _form(title={"type": "string", "description": "x" * MAX_FORM_BYTES})
    result = run_cli("validate", _bundle(tmp_path, big))
    assert result.exit_code == 1
    assert f"; the limit for a form file is {MAX_FORM_BYTES}" in result.output


def test_a_deeply_nested_submission_is_refused_before_validation():
    data: list = []
    for _ in range(5000):
        data = [data]
    with pytest.raises(ValidationFailed) as refused:
        clean_submission(_form(title={"type": "array"}), {"title": data})
    [(field, [message])] = refused.value.field_errors.items()
    assert field.startswith("title/0/0") and message == "嵌套超过 32 层 (nested more than 32 levels deep)"


# ---------------------------------------------------------------- task and instance data
def test_a_50_mb_string_from_a_script_is_refused_naming_the_element(sqlite_service, tmp_path):
    """Measured: stored on every start (+47 MB of database each time); now refused, nothing saved."""
    sqlite_service.deploy([write_bundle(tmp_path / "b", script="greeting = 'x' * 50000000")], actor="owner")
    before = dump(sqlite_service)
    with pytest.raises(ScriptError) as refused:
        sqlite_service.start_instance("hostile", {"title": "t"}, ACTOR)
    assert refused.value.element_id == "script_task"
    assert "50,000,000" in str(refused.value) and "1,000,000" in str(refused.value)   # the sandbox stops it first
    assert dump(sqlite_service) == before


def test_too_much_text_in_one_task_is_refused(sqlite_service, tmp_path):
    script = "greeting = ['x' * 900000 for i in range(5)]"
    sqlite_service.deploy([write_bundle(tmp_path / "b", script=script)], actor="owner")
    before = dump(sqlite_service)
    with pytest.raises(ScriptError) as refused:
        sqlite_service.start_instance("hostile", {"title": "t"}, ACTOR)
    assert refused.value.element_id == "script_task"
    assert "more than 4,000,000 characters of text in one task's data" in str(refused.value)
    assert dump(sqlite_service) == before


def test_an_instance_state_over_the_limit_is_refused(sqlite_service, tmp_path, monkeypatch):
    monkeypatch.setattr(storable, "MAX_STATE", 20_000)
    sqlite_service.deploy([write_bundle(tmp_path / "b", script="greeting = 'x' * 30000")], actor="owner")
    before = dump(sqlite_service)
    with pytest.raises(ScriptError) as refused:
        sqlite_service.start_instance("hostile", {"title": "t"}, ACTOR)
    assert "无法保存的数据 (a value that cannot be stored): state: the instance's data would take" in str(refused.value)
    assert str(refused.value).endswith("characters; the limit is 20,000")
    assert dump(sqlite_service) == before
