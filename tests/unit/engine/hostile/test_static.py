"""Scripts and expressions that try to escape are refused at deploy, every one with its place."""

from __future__ import annotations

import pytest

from engine.errors import Problem, SpecInvalid
from tests.unit.engine.hostile.support import (
    NOTHING,
    PLACES,
    SANDBOX,
    STATIC_ESCAPES,
    counts,
    restricted_refusal,
    underscore_refusal,
    write_bundle,
)

# --------------------------------------------------------------------------------------------------
# Scripts and expressions refused when deploying: every problem, each with its file, line and element.
# --------------------------------------------------------------------------------------------------








@pytest.mark.parametrize("name", list(STATIC_ESCAPES))
def test_an_escape_is_refused_at_deploy_in_every_place_code_lives(name, sqlite_service, tmp_path):
    code, reason = STATIC_ESCAPES[name]
    bundle = write_bundle(tmp_path / "bundle", **{place.key: code for place in PLACES})
    expected = [Problem(p.file, p.line, p.static_id, SANDBOX + reason) for p in PLACES]
    assert sqlite_service.validate([bundle]) == expected
    with pytest.raises(SpecInvalid) as refused:
        sqlite_service.deploy([bundle], actor="owner")
    assert refused.value.problems == expected
    assert counts(sqlite_service) == NOTHING


IMPORT_REFUSED = SANDBOX + "Line 1: import is not allowed in diagram scripts; use the provided helpers"


@pytest.mark.parametrize("code", ["import os", "from os import path", "import os.path as p"])
def test_imports_are_refused_at_deploy(code, sqlite_service, tmp_path):
    bundle = write_bundle(tmp_path / "bundle", **{place.key: code for place in PLACES})
    unparsable = f"unparsable expression: invalid syntax ({code!r})"
    entry = f"unparsable expression: invalid syntax ({'dmninputexpr ' + code!r})"
    expected = [Problem(p.file, p.line, p.static_id,
                        IMPORT_REFUSED if p.key in {"script", "pre", "post"}
                        else entry if p.key == "dmn_entry" else unparsable) for p in PLACES]
    assert sqlite_service.validate([bundle]) == expected
    with pytest.raises(SpecInvalid):
        sqlite_service.deploy([bundle], actor="owner")
    assert counts(sqlite_service) == NOTHING


MIXED = {
    "script": "import os",
    "pre": "(x for x in []).gi_frame",
    "post": "exec('y = 1')",
    "org_unit": "__builtins__",
    "assignee": "today.__globals__",
    "condition": "type(approved).__mro__",
    "param": "str.__dict__",
    "timer": "f'{greeting.__class__}'",
    "dmn_input": "(lambda f=().__class__: f)()",
    "dmn_entry": "__import__('os')",
    "dmn_output": "eval('1')",
}
MIXED_LINES = [
    "hostile.bpmn:16 script_task: " + IMPORT_REFUSED,
    "hostile.bpmn:29 review: " + SANDBOX + underscore_refusal("__builtins__", "variable"),
    "hostile.bpmn:30 review: " + SANDBOX + underscore_refusal("__globals__"),
    "hostile.bpmn:32 review: " + SANDBOX + restricted_refusal("gi_frame"),
    "hostile.bpmn:33 review: " + SANDBOX + "Line 1: Exec calls are not allowed.",
    "hostile.bpmn:44 f_yes: " + SANDBOX + underscore_refusal("__mro__"),
    "hostile.bpmn:50 notify_task: " + SANDBOX + underscore_refusal("__dict__"),
    "hostile.bpmn:61 wait: " + SANDBOX + underscore_refusal("__class__"),
    "grade.dmn:8 grade_in_expr: " + SANDBOX + underscore_refusal("__class__"),
    "grade.dmn:14 grade_rule_1_in: " + SANDBOX + underscore_refusal("__import__", "variable"),
    "grade.dmn:17 grade_rule_1_out: " + SANDBOX + "Line 1: Eval calls are not allowed.",
]


def test_one_diagram_with_many_bad_scripts_lists_every_problem(sqlite_service, run_cli, tmp_path):
    bundle = write_bundle(tmp_path / "bundle", **MIXED)
    assert [str(p) for p in sqlite_service.validate([bundle])] == MIXED_LINES
    with pytest.raises(SpecInvalid) as refused:
        sqlite_service.deploy([bundle], actor="owner")
    assert str(refused.value) == "\n".join(MIXED_LINES)
    checked = run_cli("validate", bundle)
    assert (checked.exit_code, checked.stdout) == (1, "".join(f"{line}\n" for line in MIXED_LINES))
    deployed = run_cli("deploy", bundle)
    assert (deployed.exit_code, deployed.stdout, deployed.stderr) == (1, "", "".join(f"{x}\n" for x in MIXED_LINES))
    assert counts(sqlite_service) == NOTHING


