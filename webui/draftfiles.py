"""What a process draft holds for the studio's form and table editors: its forms (X.schema.json + X.ui.json under
forms/) with the tasks that use each, and its DMN files with the decisions inside and the tasks that call them. Read
through the engine's hardened XML loader; a file that does not load is listed with its problem, never skipped."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from lxml import etree

from engine.bpmn.specs import NS, read_elements
from engine.bpmn.xmlsafe import UnsafeXml, load_xml

FORMS_DIR = "forms/"
SCHEMA_SUFFIX = ".schema.json"
UI_SUFFIX = ".ui.json"
FORM_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-]{0,63}$")
DMN_FILE = re.compile(r"^[A-Za-z0-9_\-]+(?:/[A-Za-z0-9_\-]+)*\.dmn$")


@dataclass(frozen=True)
class Use:
    """A flow node that uses a form or calls a decision: its id, name, kind and file."""

    element_id: str
    name: str
    tag: str
    file: str


@dataclass
class DraftForm:
    """One form of the draft: its name (the file stem under forms/), both paths, and who uses it."""

    name: str
    schema_path: str
    ui_path: str
    has_ui: bool
    title: str = ""
    uses: list[Use] = field(default_factory=list)


@dataclass
class Decision:
    """One decision of a DMN file: id, name, its table's hit policy and size."""

    decision_id: str
    name: str
    hit_policy: str
    inputs: int
    outputs: int
    rules: int
    uses: list[Use] = field(default_factory=list)


@dataclass
class DmnFile:
    """One DMN file of the draft with its decisions, or the problem that keeps it from loading."""

    path: str
    decisions: list[Decision] = field(default_factory=list)
    problem: str | None = None


def schema_path(name: str) -> str:
    """The draft path of form `name`'s JSON schema."""
    return f"{FORMS_DIR}{name}{SCHEMA_SUFFIX}"


def ui_path(name: str) -> str:
    """The draft path of form `name`'s UI schema."""
    return f"{FORMS_DIR}{name}{UI_SUFFIX}"


def _bpmn_roots(files: dict[str, str]) -> list[tuple[str, object]]:
    roots = []
    for path in sorted(p for p in files if p.endswith(".bpmn")):
        try:
            roots.append((path, load_xml(files[path].encode(), path)))
        except UnsafeXml:
            continue         # the modeler and the review name it; here it simply uses nothing
    return roots


def forms_of(files: dict[str, str], title_of) -> list[DraftForm]:
    """The draft's forms under forms/, each with the flow nodes naming its schema; `title_of(text)` reads a title."""
    forms = {}
    for path in sorted(files):
        if path.startswith(FORMS_DIR) and path.endswith(SCHEMA_SUFFIX):
            name = path[len(FORMS_DIR):-len(SCHEMA_SUFFIX)]
            if FORM_NAME.match(name):
                forms[path] = DraftForm(name, path, ui_path(name), ui_path(name) in files, title_of(files[path]))
    for bpmn_path, root in _bpmn_roots(files):
        for info in read_elements(root, bpmn_path).values():
            named = info.properties.get("formJsonSchemaFilename")
            target = posixpath.normpath(posixpath.join(posixpath.dirname(bpmn_path), named)) if named else None
            if target in forms:
                forms[target].uses.append(Use(info.id, info.name or info.id, info.tag, bpmn_path))
    return list(forms.values())


def _local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def decision_callers(files: dict[str, str]) -> dict[str, list[Use]]:
    """decision id → the business-rule tasks calling it (spiffworkflow:calledDecisionId)."""
    callers: dict[str, list[Use]] = {}
    for bpmn_path, root in _bpmn_roots(files):
        for called in root.iterfind(".//spiffworkflow:calledDecisionId", NS):
            task = called.getparent().getparent() if called.getparent() is not None else None
            if task is None or not (called.text or "").strip():
                continue
            callers.setdefault(called.text.strip(), []).append(
                Use(task.get("id", ""), task.get("name") or task.get("id", ""), _local(task.tag), bpmn_path))
    return callers


def dmn_files(files: dict[str, str]) -> list[DmnFile]:
    """The draft's DMN files with their decisions (each table's hit policy, columns and rules)."""
    callers = decision_callers(files)
    out = []
    for path in sorted(p for p in files if p.endswith(".dmn")):
        try:
            root = load_xml(files[path].encode(), path)
        except UnsafeXml as exc:
            out.append(DmnFile(path, problem=exc.problem.message))
            continue
        decisions = []
        for node in root.iter():
            if _local(node.tag) != "decision":
                continue
            table = next((c for c in node if _local(c.tag) == "decisionTable"), None)
            kids = [_local(c.tag) for c in table] if table is not None else []
            decisions.append(Decision(node.get("id", ""), node.get("name") or node.get("id", ""),
                                      table.get("hitPolicy", "UNIQUE") if table is not None else "",
                                      kids.count("input"), kids.count("output"), kids.count("rule"),
                                      callers.get(node.get("id", ""), [])))
        out.append(DmnFile(path, decisions))
    return out
