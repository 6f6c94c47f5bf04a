"""Lint rules beyond parsing, a small diagram per rule; the consultation lints clean; conformance never crashes it."""

from __future__ import annotations

import json

import pytest

from engine.bpmn.lint import lint
from engine.bpmn.operators import REGISTRY, operator_parameters
from engine.bpmn.specs import Bundle, load_bundle
from engine.errors import SpecInvalid
from tests.conftest import CONSULTATION

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'
        ' xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">\n')
FORM = {"type": "object", "properties": {"days": {"type": "string"}, "ok": {"type": "boolean"}}}


def _props(**values) -> str:
    inner = "".join(f'<spiffworkflow:property name="{k}" value="{v}"/>' for k, v in values.items())
    return (f"<bpmn:extensionElements><spiffworkflow:properties>{inner}</spiffworkflow:properties>"
            "</bpmn:extensionElements>")


def _diagram(body: str, lanes: str = "", extra_files: dict | None = None) -> Bundle:
    """A process `p` with `body` between a start event and an end event: start -> <body> -> end via flows in body."""
    xml = (HEAD + '<bpmn:process id="p" isExecutable="true">' + lanes + body + "</bpmn:process></bpmn:definitions>")
    files = {"p.bpmn": xml.encode(), "forms/a.schema.json": json.dumps(FORM).encode()}
    return Bundle(files | (extra_files or {}))


def _task(task_id: str, incoming: str, outgoing: str, tag: str = "userTask", inner: str = "") -> str:
    inner = inner or _props(formJsonSchemaFilename="forms/a.schema.json")
    flows_in = f"<bpmn:incoming>{incoming}</bpmn:incoming>" if incoming else ""
    flows_out = f"<bpmn:outgoing>{outgoing}</bpmn:outgoing>" if outgoing else ""
    return f'<bpmn:{tag} id="{task_id}" name="{task_id}">{inner}{flows_in}{flows_out}</bpmn:{tag}>'


def _flow(flow_id: str, source: str, target: str) -> str:
    return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}"/>'


def _line(*middle: str, tail: str = "") -> str:
    """start -> a -> end, with `middle` and `tail` elements added."""
    return ('<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
            + _task("a", "f1", "f2") + '<bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>'
            + _flow("f1", "start", "a") + _flow("f2", "a", "end") + "".join(middle) + tail)


def _found(bundle: Bundle, **kwargs) -> list[tuple[str, str | None, str]]:
    return [(p.severity, p.element_id, p.message) for p in lint(bundle, **kwargs)]


def test_a_clean_line_has_no_problem():
    assert _found(_diagram(_line())) == []


def test_a_missing_form_file_is_an_error_on_its_task():
    bundle = _diagram(_line().replace("forms/a.schema.json", "forms/gone.schema.json"))
    problems = lint(bundle)
    assert [(p.severity, p.element_id) for p in problems] == [("error", "a")]
    assert "forms/gone.schema.json" in problems[0].message and problems[0].line is not None


def test_a_missing_form_file_is_found_without_parsing_too():
    bundle = _diagram(_line().replace("forms/a.schema.json", "forms/gone.schema.json"))
    from engine.bpmn.specs import parse_bundle

    with pytest.raises(SpecInvalid):
        parse_bundle(bundle, REGISTRY)
    parsed_elsewhere = lint(bundle)          # from a Bundle: the parse problem, not repeated by the lint rule
    assert len([p for p in parsed_elsewhere if p.element_id == "a"]) == 1


def _service(operator: str, params: dict[str, str]) -> str:
    inner = "".join(f'<spiffworkflow:parameter id="{k}" type="str" value="{v}"/>' for k, v in params.items())
    return ("<bpmn:extensionElements>"
            f'<spiffworkflow:serviceTaskOperator id="{operator}"><spiffworkflow:parameters>{inner}'
            "</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>")


def _with_service(operator: str, params: dict[str, str]) -> Bundle:
    return _diagram(_line().replace(_task("a", "f1", "f2"), _task("a", "f1", "f2", "serviceTask",
                                                                  _service(operator, params))))


def test_a_known_operator_with_its_parameters_is_clean():
    assert _found(_with_service("notify", {"kind": "'reminder'", "to": "'assignee'"})) == []


def test_an_unknown_operator_is_an_error():
    [(severity, element, message)] = _found(_with_service("fax", {}))
    assert (severity, element) == ("error", "a") and "fax" in message


def test_an_unknown_parameter_and_a_missing_required_one_are_errors():
    found = _found(_with_service("notify", {"colour": "'red'"}))
    assert [(s, e) for s, e, _ in found] == [("error", "a"), ("error", "a")]
    assert "'colour'" in found[0][2] and "kind" in found[1][2]


def test_operators_can_be_given_by_the_caller():
    assert _found(_with_service("fax", {"number": "'1'"}), operators={"fax": ("number",)}) == []


def test_an_unreachable_element_is_a_warning():
    island = _task("island", "", "f9", "task", " ") + _flow("f9", "island", "end")
    found = _found(_diagram(_line(island)))
    assert ("warning", "island") in [(s, e) for s, e, m in found if "unreachable" in m]


def test_a_dead_end_is_a_warning():
    side = ('<bpmn:parallelGateway id="split"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>fa</bpmn:outgoing>'
            '<bpmn:outgoing>fb</bpmn:outgoing></bpmn:parallelGateway>')
    body = ('<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>' + side
            + _task("a", "fa", "f2") + _task("stuck", "fb", "f8") + _task("loop", "f8", "f7", "task", " ")
            + '<bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>'
            + _flow("f1", "start", "split") + _flow("fa", "split", "a") + _flow("fb", "split", "stuck")
            + _flow("f2", "a", "end") + _flow("f8", "stuck", "loop") + _flow("f7", "loop", "stuck"))
    dead = sorted(e for s, e, m in _found(_diagram(body)) if "dead end" in m and s == "warning")
    assert dead == ["loop", "stuck"]


def test_a_boundary_path_to_an_end_keeps_its_activity_alive():
    boundary = ('<bpmn:boundaryEvent id="late" attachedToRef="a"><bpmn:outgoing>fx</bpmn:outgoing>'
                '<bpmn:timerEventDefinition><bpmn:timeDuration>"P1D"</bpmn:timeDuration></bpmn:timerEventDefinition>'
                '</bpmn:boundaryEvent><bpmn:endEvent id="late_end"><bpmn:incoming>fx</bpmn:incoming></bpmn:endEvent>'
                + _flow("fx", "late", "late_end"))
    assert _found(_diagram(_line(boundary))) == []


def _timer(expression: str) -> Bundle:
    timer = ('<bpmn:boundaryEvent id="late" attachedToRef="a" cancelActivity="false"><bpmn:outgoing>fx</bpmn:outgoing>'
             f'<bpmn:timerEventDefinition><bpmn:timeDuration>{expression}</bpmn:timeDuration>'
             '</bpmn:timerEventDefinition></bpmn:boundaryEvent>'
             '<bpmn:endEvent id="late_end"><bpmn:incoming>fx</bpmn:incoming></bpmn:endEvent>'
             + _flow("fx", "late", "late_end"))
    return _diagram(_line(timer))


@pytest.mark.parametrize("expression", ['"P3D"', "'PT2H'", "days"])
def test_a_timer_of_a_quoted_literal_or_a_known_variable_is_clean(expression):
    assert _found(_timer(expression)) == []           # `days` is a field of the bundle's form


@pytest.mark.parametrize("expression", ["P3D", "weeks", "days + 'X'"])
def test_a_timer_of_anything_else_is_a_warning_on_its_event(expression):
    [(severity, element, message)] = _found(_timer(expression))
    assert (severity, element) == ("warning", "late") and "timer expression" in message


def test_a_timer_may_read_a_variable_the_caller_names():
    assert _found(_timer("weeks"), variables={"weeks"}) == []


def _laned(lane_id: str, task_props: str = "") -> Bundle:
    lanes = (f'<bpmn:laneSet id="ls"><bpmn:lane id="{lane_id}" name="审核组"><bpmn:flowNodeRef>a</bpmn:flowNodeRef>'
             "</bpmn:lane></bpmn:laneSet>")
    body = _line()
    if task_props:
        body = body.replace(_task("a", "f1", "f2"), _task("a", "f1", "f2", inner=task_props))
    return _diagram(body, lanes)


def test_a_lane_without_a_role_is_a_warning():
    assert [(s, e) for s, e, _ in _found(_laned("Lane_0abc"))] == [("warning", "Lane_0abc")]
    assert _found(_laned("lane_office")) == []
    assert [e for _, e, _ in _found(_laned("lane_office"), roles={"member"})] == ["lane_office"]
    named = _props(formJsonSchemaFilename="forms/a.schema.json", role="office")
    assert _found(_laned("Lane_0abc", named)) == []          # each task names its role itself


def test_a_user_task_without_a_form_is_a_warning():
    body = _line().replace(_task("a", "f1", "f2"), _task("a", "f1", "f2", inner=" "))
    assert _found(_diagram(body)) == [("warning", "a", "用户任务没有表单 (user task without a form)")]


def test_parse_problems_come_in_the_same_shape():
    broken = _diagram(_line().replace("<bpmn:outgoing>f2</bpmn:outgoing>", "") + "<bpmn:bogus/>")
    problems = lint(broken)
    assert problems and problems[0].severity == "error" and problems[0].file == "p.bpmn"


def test_the_consultation_lints_clean_of_errors():
    problems = lint(load_bundle([CONSULTATION]))
    assert [p for p in problems if p.severity == "error"] == []


def test_the_operator_registry_lists_each_operator_with_its_parameters():
    assert set(REGISTRY) == {"notify", "publish"}
    kind = REGISTRY["notify"].parameters[0]
    assert (kind.name, kind.required) == ("kind", True) and kind.description
    assert operator_parameters()["publish"] == ("summary",)


def test_lint_never_crashes_on_a_conformance_model():
    from tests.processes.conformance_support import diagrams, miwg_models, require_shared

    require_shared()
    bundles = [d.files for d in diagrams()] + [[m] for m in miwg_models()]
    linted = 0
    for files in bundles:
        try:
            bundle = load_bundle(files)
        except SpecInvalid:
            continue
        assert all(p.severity in {"error", "warning"} for p in lint(bundle))
        linted += 1
    assert linted > 100


def test_with_the_directory_s_roles_the_engine_s_notices_come_as_warnings():
    body = _line().replace(_task("a", "f1", "f2"), _task("a", "f1", "f2", inner=_props(
        formJsonSchemaFilename="forms/a.schema.json")))
    found = _found(_diagram(body), roles={"office"})
    assert [(s, e) for s, e, _ in found] == [("warning", "a")] and "person who started" in found[0][2]
    assert _found(_diagram(body)) == []           # without roles: nothing to say who acts


def test_the_engine_lints_with_its_operators_and_directory(sqlite_service):
    problems = sqlite_service.lint_bundle(_with_service("notify", {"colour": "'red'"}))
    assert {(p.severity, p.element_id) for p in problems} == {("error", "a")}
    assert [p for p in sqlite_service.lint_bundle(load_bundle([CONSULTATION])) if p.severity == "error"] == []


def test_a_lane_of_system_steps_needs_no_role():
    lanes = ('<bpmn:laneSet id="ls"><bpmn:lane id="Lane_sys" name="系统"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>'
             "<bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>")
    assert _found(_diagram(_line(), lanes)) == []
