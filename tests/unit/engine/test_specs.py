"""Bundle validation lists every problem at once, as `file:line element-id: message`."""

from __future__ import annotations

import json
import shutil

import pytest

from engine.bpmn.scripting import RestrictedEnvironment
from engine.bpmn.specs import load_bundle
from engine.errors import SpecInvalid
from engine.store.versions import VersionCache
from tests.conftest import CONSULTATION, DATA


def _copy(tmp_path, src=DATA / "mini"):
    target = tmp_path / src.name
    shutil.copytree(src, target)
    return target


def _problems(path) -> list[str]:
    with pytest.raises(SpecInvalid) as err:
        VersionCache().parse(load_bundle([path]))
    return [str(p) for p in err.value.problems]


def test_every_problem_is_reported_not_only_the_first(tmp_path):
    bundle = _copy(tmp_path)
    bpmn = bundle / "mini.bpmn"
    text = bpmn.read_text(encoding="utf-8")
    text = text.replace("approved == True", "approved ==")                       # unparsable condition
    text = text.replace('id="notify"', 'id="http/PostRequest"')                  # unknown operator
    text = text.replace("confirmed_twice = count * 2", "import os")              # sandbox refusal
    text = text.replace('"P2D"', "().__class__")                                 # dunder in a timer
    bpmn.write_text(text, encoding="utf-8")
    (bundle / "forms" / "review.schema.json").write_text(json.dumps({"type": "objekt"}), encoding="utf-8")
    (bundle / "forms" / "start.schema.json").unlink()
    problems = _problems(bundle)
    assert len(problems) == 6, problems
    expected = [
        "mini.bpmn:48 f_ok: unparsable expression",
        "mini.bpmn:53 notify_ok: unknown service operator 'http/PostRequest'; known: notify, publish",
        "mini.bpmn:67 wait: refused by the script sandbox: Line 1: \"__class__\" is an invalid attribute name",
        "mini.bpmn:75 confirm: refused by the script sandbox: Line 1: import is not allowed in diagram scripts",
        "mini.bpmn:22 start: formJsonSchemaFilename: form file forms/start.schema.json is missing from the bundle",
        "forms/review.schema.json review: not a valid JSON Schema: 'objekt' is not valid",
    ]
    for line, wanted in zip(problems, expected, strict=True):
        assert line.startswith(wanted), (line, wanted)


def test_unknown_decision_and_bad_dmn_cells(tmp_path):
    bundle = _copy(tmp_path, CONSULTATION)
    bpmn = bundle / "consultation.bpmn"
    bpmn.write_text(bpmn.read_text(encoding="utf-8").replace(">follow_up<", ">follow_up_v2<"), encoding="utf-8")
    dmn = bundle / "routing.dmn"
    dmn.write_text(dmn.read_text(encoding="utf-8").replace('"county"', '"county" +* 1', 1), encoding="utf-8")
    problems = _problems(bundle)
    assert any("follow_up_wait_lookup: unknown DMN decision id 'follow_up_v2'" in p for p in problems), problems
    assert any(p.startswith("routing.dmn:") and "unparsable expression" in p for p in problems), problems


def test_subprocess_inside_a_lane_is_refused(tmp_path):
    bundle = _copy(tmp_path, CONSULTATION)
    bpmn = bundle / "consultation.bpmn"
    text = bpmn.read_text(encoding="utf-8")
    ref = "<bpmn:flowNodeRef>define_topic</bpmn:flowNodeRef>"
    text = text.replace(ref, ref + "<bpmn:flowNodeRef>step1</bpmn:flowNodeRef>", 1)
    bpmn.write_text(text, encoding="utf-8")
    [problem] = _problems(bundle)
    assert " step1: subprocess is in lane lane_organizer but contains nodes of lane_platform_lead" in problem


def test_form_paths_cannot_escape_the_bundle(tmp_path):
    bundle = _copy(tmp_path)
    bpmn = bundle / "mini.bpmn"
    bpmn.write_text(bpmn.read_text(encoding="utf-8").replace("forms/review.schema.json", "../../etc/passwd"),
                    encoding="utf-8")
    problems = _problems(bpmn)
    assert problems == ["mini.bpmn:30 review: formJsonSchemaFilename: form file ../../etc/passwd is missing "
                        "from the bundle"]


def test_sandbox_runs_ordinary_scripts_and_helpers():
    env = RestrictedEnvironment()
    data = {"items": [3, 1, 2], "day": "2026-02-10"}
    env.execute("ordered = sorted(items)\nlookup = {'a': 1}\nlookup['b'] = len(items)\ntotal = 0\n"
                "for i in items:\n    total += i\ndue = add_days(day, 10)\nspan = days_between(day, due)", data)
    assert data["ordered"] == [1, 2, 3] and data["lookup"] == {"a": 1, "b": 3} and data["total"] == 6
    assert (data["due"], data["span"]) == ("2026-02-20", 10)
    assert env.evaluate("[dict(s, id=i + 1) for i, s in enumerate([{'t': 'x'}])]", {}) == [{"t": "x", "id": 1}]
