"""The layout's contracts: imports flow one way (cli → webui → tasks → domain → engine, checked by import-linter
from `.importlinter`), the engine names no consultation word, nothing outside the engine uses its private parts, a
domain area imports no private name of another, and modules stay small."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {"flask", "celery", "webui", "tasks", "werkzeug", "domain", "cli"}
PACKAGES = ("engine", "domain", "cli", "webui", "tasks")
OUTSIDE_ENGINE = ("domain", "webui", "cli", "tasks")


def _sources(*tops: str) -> list[Path]:
    return sorted(p for top in tops for p in (ROOT / top).rglob("*.py") if "migrations" not in p.parts)


def test_the_import_contracts_hold():
    """import-linter's contracts (layers, frameworks, the BPMN runtime without a database, the domain's areas)."""
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is a test dependency (pyproject.toml [test])"
    result = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


@pytest.mark.parametrize("path", _sources("engine"), ids=lambda p: str(p.relative_to(ROOT)))
def test_engine_imports_nothing_from_the_outer_layers(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & FORBIDDEN


@pytest.mark.parametrize("path", sorted(p for package in OUTSIDE_ENGINE for p in (ROOT / package).rglob("*.py")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_outside_the_engine_uses_a_private_attribute_of_another_object(path):
    """`x._name` only for x = self or cls: services use the engine's public store API (engine/store/access.py)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    private = [f"{path.name}:{node.lineno} {ast.unparse(node)}" for node in ast.walk(tree)
               if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
               and not (isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"})]
    assert private == []


@pytest.mark.parametrize("path", _sources(*PACKAGES), ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_stay_small(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 500


@pytest.mark.parametrize("path", _sources("domain", "cli", "webui", "tasks"), ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_outside_the_engine_imports_its_private_names(path):
    """Services use the engine's public store and unit-of-work API, never `from engine.x import _helper`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    private = [f"from {node.module} import {alias.name} (line {node.lineno})" for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                and node.module.split(".")[0] == "engine" for alias in node.names
                if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert not private


def _area(module: str) -> str:
    """`domain.work` for `domain.work.inbox`; `engine` for anything in the engine; the top package otherwise."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "domain" and len(parts) > 2 else parts[0]


@pytest.mark.parametrize("path", _sources(*PACKAGES), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_area_imports_a_private_name_of_another(path):
    """A private name (`_helper`) is its area's own: another domain area, the web or the CLI import public names."""
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    reached = [f"from {node.module} import {alias.name}" for node in ast.walk(tree)
               if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
               and node.module.split(".")[0] in PACKAGES and _area(node.module) != _area(module)
               for alias in node.names if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert not reached


# The BPMN runtime and the generic read side (lists, inbox, pages, overview): these modules name no consultation
# record, data key or vocabulary; a process brings its own through engine.hooks (the consultation's are in
# consultation_hooks.py, consultation_views.py, records.py and public.py).
GENERIC = ("domain/people/policy", "engine/bpmn/bounds", "engine/clock", "engine/store/db", "engine/deadlines",
           "engine/errors", "engine/bpmn/expressions", "domain/work/extensions", "engine/bpmn/forms",
           "engine/bpmn/formschema", "engine/hooks", "domain/work/inbox", "engine/bpmn/limits", "domain/work/pages",
           "domain/work/participation", "engine/store/projection", "engine/store/queries", "engine/bpmn/runtime",
           "engine/bpmn/scripting", "engine/bpmn/serialization", "engine/service", "engine/bpmn/specs",
           "engine/bpmn/storable", "engine/sweeping", "engine/store/uow", "engine/store/versions", "engine/views",
           "engine/bpmn/xmlsafe", "engine/policy", "engine/store/access", "engine/store/directory", "engine/sweep")
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


# The county's words: its roles, tiers, org-unit kinds and the method's Chinese terms. The engine runs any process
# for any organisation; these reach it only as configuration from the domain (domain/people/roles.py, the
# consultation's vocabulary), never as constants in its code.
COUNTY_WORDS = {"platform_lead", "organizer", "office", "supervisor", "department", "member", "process_owner",
                "county", "committee", "sector", "township", "village"}
METHOD_TERMS = ("政协", "协商", "委员", "乡镇", "专委会", "界别", "督办")


@pytest.mark.parametrize("path", _sources("engine"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_engine_names_no_consultation_word(path):
    names, strings = _code_words(ast.parse(path.read_text(encoding="utf-8")))
    assert not names & CONSULTATION_NAMES
    assert not strings & (CONSULTATION_KEYS - {"org_unit"})      # an org unit is the engine's directory's own
    assert not strings & COUNTY_WORDS
    assert not [s for s in strings if any(term in s for term in METHOD_TERMS)]
