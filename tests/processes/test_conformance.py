"""Conformance with diagrams written by others: SpiffWorkflow's own test diagrams and the MIWG reference models."""

from __future__ import annotations

import re
from functools import cache

import pytest
from click.testing import CliRunner

from cli.main import cli
from engine.bpmn.specs import ParsedBundle, load_bundle, parse_bundle
from engine.errors import SpecInvalid
from engine.store.versions import OPERATORS
from tests.processes.conformance_support import (
    Diagram,
    add_user,
    diagrams,
    miwg_models,
    plain_specs,
    require_shared,
    run_engine,
    run_plain,
    shared_missing,
    spec_wiring,
)

# Survey of shared/conformance/spiffworkflow (98 diagrams) with SpiffWorkflow 3.2.0, at the time of writing:
# 13 out of scope (plain SpiffWorkflow refuses them), 85 parse. Of those, 77 deploy, 7 are refused on purpose
# (3 unknown service operators, 1 plain-BPMN service task without operator, 2 form files not shipped, 1 `import`)
# and 1 by accident (Approvals: encoding="ASCII", strict xfail). Runs: 31 compared (25 equal, 6 strict xfail for
# engine bugs), 37 need input data or host functions (28 stop with the same error as plain SpiffWorkflow, 9 strict
# xfail), 9 wait for an event from outside, 1 never ends.

# Diagrams plain SpiffWorkflow 3.2 cannot parse (with the parser they were written for, sibling files added):
# out of scope. The text is what SpiffWorkflow says; the test checks it still says so.
OUT_OF_SCOPE = {
    "bpmn/Invalid-Workflows/non-executable-process.bpmn": "no executable process",
    "bpmn/call_activity_nested/call_activity_level_2.bpmn": "The process 'Level2b' was not found",
    # camunda:decisionRef names the DMN <definitions> id, not a decision
    "bpmn/call_activity_nested/call_activity_nested.bpmn": "'NoneType' object has no attribute 'get_decision_ref'",
    "bpmn/data_object_invalid.bpmn": "Cannot resolve dataOutputAssociation",
    "bpmn/data_store.bpmn": "Data Store with name TestDataStore has no implementation",
    "bpmn/data_store_read.bpmn": "Data Store with name TestDataStore has no implementation",
    "bpmn/data_store_write.bpmn": "Data Store with name TestDataStore has no implementation",
    "bpmn/invalid_cancel.bpmn": "Cancel Events may only be used with transactions",
    "bpmn/multiple_call_activities.bpmn": "The process 'Process_sypm122' was not found",
    "bpmn/nested_call_activity.bpmn": "The process 'is_this_missing' was not found",
    "bpmn/parallel_multiinstance_invalid.bpmn": "must specify exactly one of cardinality or loop input data reference",
    "bpmn/single_call_activity.bpmn": "The process 'SingleTask_Process' was not found",
    "bpmn/standard_loop_invalid.bpmn": "A loopMaximum or loopCondition must be specified for Loop Tasks",
}

# The only reasons our engine may refuse a diagram plain SpiffWorkflow parses. Each is a decision, not an accident.
DELIBERATE_REFUSALS = {
    # Scripts run in RestrictedPython (no imports, no dunder access): the diagram would run code as the worker.
    "sandbox": re.compile(r"^refused by the script sandbox: "),
    # Not Python at all (FEEL, JUEL): SpiffWorkflow's PythonScriptEngine would raise SyntaxError when it got there;
    # we say so at deploy time. The engine runs ast.parse first, so this is only ever text Python cannot parse.
    "unparsable": re.compile(r"^unparsable (expression|script): "),
    # Service tasks only call the operators the engine implements (outbox); others would fail at run time.
    "unknown operator": re.compile(r"^unknown service operator '[^']*'; known: "),
    # A plain-BPMN serviceTask has no spiffworkflow:serviceTaskOperator: nothing to call. Our engine parses every
    # diagram with SpiffBpmnParser, whose ServiceTaskParser refuses it with this message.
    "service task without operator": re.compile(r"^A Service Task must have an operator\.?\s*$"),
    # A user task's form must ship with the bundle, or nobody could fill it in.
    "form missing": re.compile(r"^form(JsonSchema|UiSchema)Filename: form file \S+ is missing from the bundle$"),
    # Hardened XML loading: no DTDs or entities (XXE, billion laughs).
    "doctype": re.compile(r"^DOCTYPE and ENTITY declarations are not allowed$"),
    # SpiffWorkflow would put every task inside a subprocess into the subprocess's lane (wrong people).
    "subprocess in lane": re.compile(r"^subprocess is in lane \S+ but contains nodes of "),
}

# Runs that cannot be compared without what the diagram's own tests supply: plain SpiffWorkflow itself stops with
# an error containing this text when started with no data and user tasks completed with {}.
# test_same_error_as_plain_spiffworkflow_without_input checks our engine stops with an error containing it too.
NEEDS_INPUT = {
    "bpmn/boundary.bpmn": "Error evaluating expression 'answer == 'Yes''",
    "bpmn/call_activity_call_activity.bpmn": "name 'remove_this_var' is not defined",
    "bpmn/call_activity_with_error.bpmn": "name 'remove_this_var' is not defined",
    "bpmn/collaboration.bpmn": "name 'lover_name' is not defined",
    "bpmn/conditional_event.bpmn": "'task_a_done' not exist in the task",
    "bpmn/correlation.bpmn": "name 'task_num' is not defined",
    "bpmn/correlation_two_conversations.bpmn": "name 'task_num' is not defined",
    "bpmn/custom_function_test.bpmn": "name 'custom_function' is not defined",            # a host function
    "bpmn/custom_function_test_call_activity.bpmn": "name 'custom_function' is not defined",
    "bpmn/data_object.bpmn": "'obj_1' not exist in the task",
    "bpmn/data_object_gateway.bpmn": "'val' not exist in the task",
    "bpmn/exclusive_gateway_no_default.bpmn": "Error evaluating expression 'x > 1'",
    "bpmn/inclusive_gateway.bpmn": "Error evaluating expression 'u > 0'",
    "bpmn/io_spec.bpmn": "name 'in_1' is not defined",
    "bpmn/io_spec_on_task.bpmn": "Missing data ouput",
    "bpmn/lanes.bpmn": "Error evaluating expression 'NeedClarification == 'Yes''",
    "bpmn/parallel_multiinstance_cardinality.bpmn": "Expected an output item",
    "bpmn/parallel_multiinstance_loop_input.bpmn": "'NoneType' object is not iterable",
    "bpmn/sequential_multiinstance_cardinality.bpmn": "Expected an output item",
    "bpmn/sequential_multiinstance_loop_input.bpmn": "Missing data input for multiinstance task",
    "bpmn/standard_loop.bpmn": "Error evaluating expression 'not done'",
    "bpmn/timer-cycle-start.bpmn": "name 'custom_function' is not defined",
    "bpmn/timer-date-start.bpmn": "name 'datetime' is not defined",                       # a host module
    "bpmn/timer-non-interrupt-boundary.bpmn": "Error evaluating expression 'work_done == 'Yes''",
    "bpmn/transaction.bpmn": "Error evaluating expression 'value == \"\"'",
    "spiff/correlation.bpmn": "Error evaluating expression '{'num': task_num, 'name': task_name}'",
    "spiff/data_object.bpmn": "'obj_1' not exist in the task",
    "spiff/error_event_payload.bpmn": "Error evaluating expression 'error'",
    "spiff/escalation_event_payload.bpmn": "Error evaluating expression 'escalation'",
    "spiff/prescript_postscript.bpmn": "name 'a' is not defined",
    "spiff/prescript_postscript_call_activity.bpmn": "name 'in_data' is not defined",
    "spiff/prescript_postscript_data_object.bpmn": "unsupported operand type(s) for *: 'NoneType' and 'int'",
    "spiff/prescript_postscript_parent.bpmn": "name 'old' is not defined",
    "spiff/receive_correlations.bpmn": "name 'value_1' is not defined",
    "spiff/script_on_mi.bpmn": "'NoneType' object is not iterable",
    "spiff/signal_event_payload.bpmn": "Error evaluating expression '{'r1': v1, 'r2': v2}'",
    "spiff/spiff_multiinstance.bpmn": "name 'input_data' is not defined",
}

# Runs that stop waiting for a message or signal only another process or an outside caller sends.
WAITS_FOR_EVENT = {
    "bpmn/event-gateway.bpmn": "an event-based gateway (message or signal)",
    "bpmn/multiple-start-parallel.bpmn": "a parallel multiple start event",
    "bpmn/multiple-start.bpmn": "a multiple start event",
    "bpmn/multiple-throw-start.bpmn": "a multiple start event",
    "bpmn/multiple-throw.bpmn": "a multiple start event",
    "bpmn/return_to_event.bpmn": "message basic_message",
    "bpmn/start_event_split.bpmn": "message_1 or message_2",
    "spiff/default_correlation_key.bpmn": "message B",
    "spiff/waiting_event.bpmn": "message B",
}

NEVER_ENDS = {
    # Level3 has a call activity calling Level3: plain SpiffWorkflow recurses until memory runs out.
    "bpmn/call_activity_nested/call_activity_level_3.bpmn": "process Level3 calls itself with no way out",
}

LOCALS_GAP = pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "engine gap: the script `if 'hey' in locals(): ...` passes the deploy-time sandbox check but the sandbox has no "
    "`locals`, so the run stops with NameError instead of being refused at deploy with a clear reason"))
PARSER_FLAVOUR = pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "divergence: the engine parses plain-BPMN diagrams with SpiffBpmnParser, which does not evaluate standard "
    "correlationPropertyRetrievalExpression/messagePath when a message is thrown; plain SpiffWorkflow's BpmnParser "
    "does (here it stops on the missing correlation value), so ours runs on where plain SpiffWorkflow stops"))

DEPLOY_XFAIL: dict = {}
MAIN_XFAIL: dict = {}
RUN_XFAIL = {
    "spiff/script_task_with_unit_tests.bpmn": LOCALS_GAP,
}
ERROR_XFAIL = {
    "bpmn/collaboration.bpmn": PARSER_FLAVOUR,
    "bpmn/correlation.bpmn": PARSER_FLAVOUR,
    "bpmn/correlation_two_conversations.bpmn": PARSER_FLAVOUR,
}

# Workflow data keys expected to differ between plain SpiffWorkflow and ours: none. Our sandbox drops nothing the
# compared diagrams leave in the data, and the clock both runs use is the same FrozenClock.
DATA_KEYS_EXPECTED_TO_DIFFER: frozenset[str] = frozenset()

DIAGRAMS = diagrams()
IN_SCOPE = [d for d in DIAGRAMS if d.id not in OUT_OF_SCOPE]
PROBLEM_LINE = re.compile(r"^\S+(:\d+)? \S+: \S.*$")


def _params(items: list, marks: dict) -> list:
    if not items and shared_missing():     # one skipped case that says why, rather than "empty parameter set"
        return [pytest.param(None, id="shared-folder-missing", marks=pytest.mark.skip(reason=shared_missing()))]
    return [pytest.param(d, id=getattr(d, "id", None) or d.name, marks=[marks[d.id]] if getattr(d, "id", None) in marks
                         else []) for d in items]


@cache
def _parse(diagram: Diagram) -> ParsedBundle | SpecInvalid:
    """Our engine's parse of the diagram's bundle (pure; cached across the tests of this module)."""
    try:
        return parse_bundle(load_bundle(diagram.files), OPERATORS)
    except SpecInvalid as exc:
        return exc


def _skip_unless_deployable(diagram: Diagram) -> ParsedBundle:
    if diagram.id in OUT_OF_SCOPE:
        pytest.skip(f"out of scope: plain SpiffWorkflow 3.2 refuses it ({OUT_OF_SCOPE[diagram.id]})")
    parsed = _parse(diagram)
    if isinstance(parsed, SpecInvalid):
        accidental = [str(p) for p in parsed.problems if _refusal(p.message) is None]
        assert not accidental, "refused for reasons nobody chose:\n" + "\n".join(accidental)
        pytest.skip(f"refused on purpose at deploy: {parsed.problems[0].message}")
    return parsed


def _refusal(message: str) -> str | None:
    return next((name for name, pattern in DELIBERATE_REFUSALS.items() if pattern.search(message)), None)


def test_the_conformance_folders_are_there():
    require_shared()          # skipped with its reason in a clone alone; required under CI (CI=true)
    assert len(DIAGRAMS) >= 90 and len(miwg_models()) >= 20
    assert set(OUT_OF_SCOPE) | set(NEEDS_INPUT) | set(WAITS_FOR_EVENT) | set(NEVER_ENDS) <= {d.id for d in DIAGRAMS}


@pytest.mark.parametrize("diagram", _params(DIAGRAMS, DEPLOY_XFAIL))
def test_deploys_or_is_refused_on_purpose(diagram: Diagram):
    if diagram.id in OUT_OF_SCOPE:
        try:
            plain_specs(diagram)
        except Exception as exc:  # noqa: BLE001 - SpiffWorkflow raises assorted types for broken diagrams
            assert OUT_OF_SCOPE[diagram.id] in str(exc), f"plain SpiffWorkflow now says: {exc}"
        else:
            pytest.fail("plain SpiffWorkflow 3.2 parses it now: remove it from OUT_OF_SCOPE")
        pytest.skip(f"out of scope: plain SpiffWorkflow 3.2 refuses it ({OUT_OF_SCOPE[diagram.id]})")
    assert plain_specs(diagram)
    parsed = _parse(diagram)
    if isinstance(parsed, SpecInvalid):
        accidental = [str(p) for p in parsed.problems if _refusal(p.message) is None]
        assert not accidental, "refused for reasons nobody chose:\n" + "\n".join(accidental)
    else:
        assert parsed.spec is not None


@pytest.mark.parametrize("diagram", _params(IN_SCOPE, MAIN_XFAIL))
def test_deploys_the_process_no_call_activity_calls(diagram: Diagram):
    parsed = _skip_unless_deployable(diagram)
    assert parsed.process_id == diagram.main_process


@pytest.mark.parametrize("cold", [False, True], ids=["warm", "cold"])
@pytest.mark.parametrize("diagram", _params(IN_SCOPE, RUN_XFAIL))
def test_persisted_run_ends_like_plain_spiffworkflow(diagram: Diagram, sqlite_service, cold):
    _skip_unless_deployable(diagram)
    if diagram.id in NEVER_ENDS:
        pytest.skip(f"never ends: {NEVER_ENDS[diagram.id]}")
    if diagram.id in NEEDS_INPUT:
        pytest.skip(f"needs input data or host functions: plain SpiffWorkflow stops with {NEEDS_INPUT[diagram.id]}")
    if diagram.id in WAITS_FOR_EVENT:
        plain = run_plain(diagram, diagram.main_process, sqlite_service.clock.now())
        assert plain.error is None and not plain.completed and plain.waiting, f"stale skip reason: {plain}"
        pytest.skip(f"waits for an event from outside: {WAITS_FOR_EVENT[diagram.id]}")
    service = sqlite_service
    plain = run_plain(diagram, diagram.main_process, service.clock.now())
    assert plain.error is None and plain.completed, (
        f"plain SpiffWorkflow did not finish ({plain.error_type}: {plain.error}; waiting for {plain.waiting}): "
        "add the diagram to NEEDS_INPUT or WAITS_FOR_EVENT with the reason")
    deployed = service.deploy(diagram.files)
    assert deployed.process_id == diagram.main_process
    ours = run_engine(service, deployed.process_id, add_user(service), cold=cold)
    assert ours.error is None, f"ours stopped: {ours.error_type}: {ours.error}"
    assert ours.actions == plain.actions
    assert ours.completed
    assert ours.states == plain.states, (
        f"only plain: {plain.states - ours.states}; only ours: {ours.states - plain.states}")
    compared = {k: v for k, v in ours.data.items() if k not in DATA_KEYS_EXPECTED_TO_DIFFER}
    assert compared == {k: v for k, v in plain.data.items() if k not in DATA_KEYS_EXPECTED_TO_DIFFER}
    # Running an instance leaves the shared parsed spec exactly as a fresh parse: nothing leaks to the next one.
    bundle = load_bundle(diagram.files)
    assert spec_wiring(service.cache.parse(bundle)) == spec_wiring(parse_bundle(bundle, OPERATORS))


@pytest.mark.parametrize("diagram", _params([d for d in IN_SCOPE if d.id in NEEDS_INPUT], ERROR_XFAIL))
def test_same_error_as_plain_spiffworkflow_without_input(diagram: Diagram, sqlite_service):
    _skip_unless_deployable(diagram)
    plain = run_plain(diagram, diagram.main_process, sqlite_service.clock.now())
    assert plain.error is not None and NEEDS_INPUT[diagram.id] in plain.error, (
        f"plain SpiffWorkflow no longer stops with {NEEDS_INPUT[diagram.id]!r}: {plain.error}")
    deployed = sqlite_service.deploy(diagram.files)
    assert deployed.process_id == diagram.main_process
    ours = run_engine(sqlite_service, deployed.process_id, add_user(sqlite_service))
    assert ours.error is not None, "ours ran on where plain SpiffWorkflow stopped"
    assert ours.error_type == "ScriptError", f"escaped the engine's errors: {ours.error_type}: {ours.error}"
    assert NEEDS_INPUT[diagram.id] in ours.error, f"plain: {plain.error}; ours: {ours.error}"


# MIWG reference models, 21: C.9.1 validates clean (exit 0); 20 exit 1 with problem lines: 6 declare ISO-8859-1,
# 3 have no executable process, 7 use FEEL/JUEL/prose conditions, 2 data stores without implementation, 2 data
# associations SpiffWorkflow cannot resolve.
@pytest.mark.parametrize("model", _params(miwg_models(), {}))
def test_miwg_model_validates_without_a_traceback(model, tmp_path):
    result = CliRunner().invoke(cli, ["validate", str(model)],
                                env={"XIESHANG_DATABASE_URL": f"sqlite:///{tmp_path / 'miwg.db'}"})
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert result.exit_code in {0, 1}
    lines = result.stdout.splitlines()
    if result.exit_code == 1:
        assert lines and all(PROBLEM_LINE.match(line) for line in lines), result.stdout
    else:    # a valid model prints only notices (a user task outside any lane goes to the starter)
        assert all(PROBLEM_LINE.match(line) and "(notice: " in line for line in lines), result.stdout
