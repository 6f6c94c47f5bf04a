"""Imports flow one way: webui → engine ← tasks; engine never imports flask, celery, webui or tasks."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {"flask", "celery", "webui", "tasks", "werkzeug"}


@pytest.mark.parametrize("path", sorted((ROOT / "engine").rglob("*.py")), ids=lambda p: p.name)
def test_engine_imports_nothing_from_the_outer_layers(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & FORBIDDEN


@pytest.mark.parametrize("path", sorted(p for p in ROOT.glob("*/**/*.py") if ".venv" not in p.parts
                                        and "tests" not in p.parts), ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_stay_small(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 500


# The BPMN runtime and the generic read side (lists, inbox, pages, overview): these modules name no consultation
# record, data key or vocabulary; a process brings its own through engine.hooks (the consultation's are in
# consultation_hooks.py, consultation_views.py, records.py and public.py).
GENERIC = ("domain/people/policy", "engine/bpmn/bounds", "engine/clock", "engine/store/db", "engine/deadlines",
           "engine/errors", "engine/bpmn/expressions", "domain/work/extensions", "engine/bpmn/forms",
           "engine/bpmn/formschema", "engine/hooks", "domain/work/inbox", "engine/bpmn/limits", "domain/work/pages",
           "domain/work/participation", "engine/store/projection", "engine/store/queries", "engine/bpmn/runtime",
           "engine/bpmn/scripting", "engine/bpmn/serialization", "engine/service", "engine/bpmn/specs",
           "engine/bpmn/storable", "engine/sweeping", "engine/store/uow", "engine/store/versions", "engine/views",
           "engine/bpmn/xmlsafe")
# Modules whose own messages have a "title" and an "org_unit" (a notification's): they name no consultation record.
NAMES_ONLY = ("domain/notifications/channels/__init__", "domain/notifications/channels/base",
              "domain/notifications/channels/email", "domain/notifications/channels/inapp",
              "domain/notifications/channels/webhook", "domain/notifications/centre", "domain/notifications/dispatch")
CONSULTATION_NAMES = {"is_consultation", "records", "public", "consultation_hooks", "consultation_views",
                      "Consultation", "IntakeItem", "Suggestion", "SuggestionView", "ConsultationSection",
                      "record_intake", "sync_consultation", "submit_intake", "tracking_code", "public_progress",
                      "STEP_NAMES"}
CONSULTATION_KEYS = {"consultation", "title", "description", "topic", "researchers", "suggestions", "suggestion",
                     "answers", "reanswers", "org_unit", "plan_goal", "report_title", "residents_satisfaction",
                     "decision"}


def _code_words(tree: ast.Module) -> tuple[set[str], set[str]]:
    """Identifiers and string constants in `tree`, docstrings left out."""
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    names, strings = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.alias):
            names |= {node.name.split(".")[-1], node.asname or ""}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[-1])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            strings.add(node.value)
    return names, strings


@pytest.mark.parametrize("module", GENERIC)
def test_the_generic_engine_names_no_consultation_field(module):
    names, strings = _code_words(ast.parse((ROOT / f"{module}.py").read_text(encoding="utf-8")))
    assert not names & CONSULTATION_NAMES
    assert not strings & CONSULTATION_KEYS


@pytest.mark.parametrize("module", NAMES_ONLY)
def test_notifications_name_no_consultation_record(module):
    names, _ = _code_words(ast.parse((ROOT / f"{module}.py").read_text(encoding="utf-8")))
    assert not names & CONSULTATION_NAMES
