"""Process bundles (BPMN + DMN + forms): load, validate every problem at once, parse once per version."""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from jsonschema import Draft202012Validator, SchemaError
from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS as DMN_SCHEMAS
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from engine.bpmn.bounds import LOOP_NOTICE, bound_loops, bound_problems, unbounded_loops
from engine.bpmn.expressions import expression_problems
from engine.bpmn.formschema import FormFileInvalid, load_form, schema_problems, with_item_caps
from engine.bpmn.xmlsafe import UnsafeXml, load_xml
from engine.errors import Problem, SpecInvalid

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
FORM_KEYS = ("formJsonSchemaFilename", "formUiSchemaFilename")
MAX_FILES = 200
STEP_PROPERTY = "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property[@name='step']"


@dataclass(frozen=True)
class Bundle:
    """The files of one deployable process: relative path → bytes."""

    files: dict[str, bytes]

    @cached_property
    def content_hash(self) -> str:
        """sha256 over every path and its bytes, in path order."""
        digest = hashlib.sha256()
        for path in sorted(self.files):
            digest.update(path.encode() + b"\0" + self.files[path] + b"\0")
        return digest.hexdigest()

    def paths(self, suffix: str) -> list[str]:
        """Paths ending in `suffix`, sorted."""
        return sorted(p for p in self.files if p.endswith(suffix))


def load_bundle(paths: Iterable[Path | str]) -> Bundle:
    """Read a bundle from directories (every .bpmn/.dmn/.json below) or files (plus the forms they name)."""
    files: dict[str, bytes] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            root = path.resolve()
            for item in sorted(path.rglob("*")):
                if item.is_symlink() or not item.resolve().is_relative_to(root):
                    continue    # a bundle holds its own files only: links could reach anything on the server
                if item.is_file() and item.suffix in {".bpmn", ".dmn", ".json"}:
                    files[item.relative_to(path).as_posix()] = item.read_bytes()
        elif path.is_file():
            files[path.name] = path.read_bytes()
            if path.suffix == ".bpmn":
                files.update(_referenced_forms(path))
        else:
            raise SpecInvalid([Problem(str(raw), None, None, "no such file or directory")])
    if len(files) > MAX_FILES:
        raise SpecInvalid([Problem("-", None, None, f"{len(files)} files; the limit is {MAX_FILES}")])
    return Bundle(files)


def _referenced_forms(bpmn_path: Path) -> dict[str, bytes]:
    try:
        root = load_xml(bpmn_path.read_bytes(), bpmn_path.name)
    except UnsafeXml:
        return {}
    found = {}
    base = bpmn_path.parent.resolve()
    for prop in root.iterfind(".//spiffworkflow:property", NS):
        name, value = prop.get("name"), prop.get("value") or ""
        if name not in FORM_KEYS or Path(value).is_absolute() or ".." in Path(value).parts:
            continue
        candidate = bpmn_path.parent / value
        if candidate.is_file() and not candidate.is_symlink() and candidate.resolve().is_relative_to(base):
            found[Path(value).as_posix()] = candidate.read_bytes()
    return found


@dataclass(frozen=True)
class ElementInfo:
    """What the engine reads from a flow node's XML beyond SpiffWorkflow: lane, properties, source line."""

    id: str
    tag: str
    name: str | None
    file: str
    line: int | None
    lane_id: str | None
    properties: dict[str, str] = field(default_factory=dict)
    instructions: str | None = None
    scope: str | None = None     # the element that declares this node's step: its deadline applies here
    lane_name: str | None = None

    @property
    def role(self) -> str | None:
        """The role that acts on this node: the `role` property, else the lane id without `lane_`."""
        if "role" in self.properties:
            return self.properties["role"]
        if self.lane_id and self.lane_id.startswith("lane_"):
            return self.lane_id[len("lane_"):]
        return self.lane_id

    def acting_role(self, known: Collection[str]) -> str | None:
        """The role that acts here, if `known` (the directory's roles) has it; a lane drawn elsewhere (SpiffArena,
        Camunda: `Lane_0abc` "Reviewer") maps to a role nobody can hold, so it counts as no lane."""
        role = self.role
        return role if role is None or "role" in self.properties or role in known else None

    def to_starter(self, known: Collection[str]) -> bool:
        """A user task with no role `known` to act and no named assignee goes to the person who started it."""
        return self.tag == "userTask" and self.acting_role(known) is None and not self.properties.get("assignee")

    @property
    def step(self) -> int | None:
        """The method step (0 = intake/triage, 1..6) from the `step` property."""
        value = self.properties.get("step")
        return int(value) if value and value.isdigit() else None


def _local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _step_scope(node) -> tuple[str | None, str | None]:
    """(step, scope id): the node's step (its own `step` property, else its subprocess's) and the outermost element
    declaring that step — a step subprocess is one scope for the deadline of every task inside it."""
    step, scope, current = None, None, node
    while current is not None:
        prop = current.find(STEP_PROPERTY, NS)
        if prop is not None:
            if step is None or prop.get("value") == step:
                step, scope = prop.get("value"), current.get("id")
            else:
                break
        current = current.getparent()
    return step, scope


def read_elements(root: etree._Element, filename: str) -> dict[str, ElementInfo]:
    """Index every flow node in a BPMN document by id."""
    lanes = {ref.text.strip(): ref.getparent() for ref in root.iterfind(".//bpmn:flowNodeRef", NS) if ref.text}
    elements = {}
    for process in root.iterfind(".//bpmn:process", NS):
        for node in process.iter():
            node_id = node.get("id")
            if not node_id or _local(node.tag) in {"sequenceFlow", "lane", "laneSet", "process"}:
                continue
            props = {p.get("name"): p.get("value", "") for p in node.iterfind(
                "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS)}
            step, scope = _step_scope(node)
            if step is not None:
                props.setdefault("step", step)
            instructions = node.find("bpmn:extensionElements/spiffworkflow:instructionsForEndUser", NS)
            lane = lanes.get(node_id)
            elements[node_id] = ElementInfo(
                id=node_id, tag=_local(node.tag), name=node.get("name"), file=filename, line=node.sourceline,
                lane_id=lane.get("id") if lane is not None else None, properties=props,
                lane_name=lane.get("name") if lane is not None else None,
                instructions=instructions.text if instructions is not None else None, scope=scope)
    return elements


@dataclass
class ParsedBundle:
    """A parsed, validated bundle; shared by every instance of its version (read-only after parsing)."""

    bundle: Bundle
    process_id: str
    spec: object
    subprocess_specs: dict
    elements: dict[str, ElementInfo]
    forms: dict[str, dict]
    decisions: dict[str, object]
    form_notices: list[Problem] = field(default_factory=list)

    def field_schema(self, field: str) -> dict | None:
        """The JSON schema the bundle's forms give a data field (the first form that has it), or None."""
        for element_id in self.elements:
            prop = ((self.form(element_id)[0] or {}).get("properties") or {}).get(field)
            if isinstance(prop, dict):
                return prop
        return None

    def form(self, element_id: str) -> tuple[dict | None, dict | None, str | None]:
        """(JSON schema, UI schema, schema path) of a node's form; Nones when it has none."""
        info = self.elements.get(element_id)
        if info is None or "formJsonSchemaFilename" not in info.properties:
            return None, None, None
        path = _resolve(info.file, info.properties["formJsonSchemaFilename"])
        ui_name = info.properties.get("formUiSchemaFilename")
        ui = self.forms.get(_resolve(info.file, ui_name)) if ui_name else None
        return self.forms.get(path), ui, path


def _resolve(base_file: str, relative: str) -> str:
    return posixpath.normpath(posixpath.join(posixpath.dirname(base_file), relative))


def _lane_problems(root, filename: str, out) -> None:
    """A subprocess placed in a lane makes SpiffWorkflow put every task inside it in that lane: refuse it."""
    lane_of = {ref.text.strip(): ref.getparent() for ref in root.iterfind(".//bpmn:flowNodeRef", NS) if ref.text}
    for sub in root.iterfind(".//bpmn:subProcess", NS):
        lane = lane_of.get(sub.get("id"))
        if lane is None:
            continue
        inner = {lane_of[n.get("id")].get("id") for n in sub.iter() if n.get("id") in lane_of} - {lane.get("id")}
        if inner:
            out.add(filename, sub.sourceline, sub.get("id"),
                    f"subprocess is in lane {lane.get('id')} but contains nodes of {', '.join(sorted(inner))}; "
                    "SpiffWorkflow would assign them all to its lane — take the subprocess out of the lane")


class _Collector:
    """Collects problems; parse_bundle raises them all at once."""

    def __init__(self):
        self.problems: list[Problem] = []
        self.notices: list[Problem] = []

    def add(self, file, line, element_id, message):
        self.problems.append(Problem(file, line, element_id, message))


_DMN_VALIDATORS: dict[str, BpmnValidator] = {}


def _xsd_problems(root, filename, out: _Collector, dmn: bool) -> None:
    if dmn:
        xsd = DMN_SCHEMAS.get(root.nsmap.get(None) or root.nsmap.get("dmn"))
        if xsd is None:
            out.add(filename, root.sourceline, root.get("id"), "unknown DMN namespace")
            return
        validator = _DMN_VALIDATORS.setdefault(xsd, BpmnValidator(xsd))
    else:
        validator = VALIDATOR
        validator.preprocess(root)
    schema = validator.validator
    if not schema.validate(root):
        for err in schema.error_log:
            out.add(filename, err.line, None, f"schema: {err.message}")


def _form_problems(bundle: Bundle, elements: dict[str, ElementInfo], out: _Collector) -> dict[str, dict]:
    forms: dict[str, dict] = {}
    for info in elements.values():
        for key in FORM_KEYS:
            if key not in info.properties:
                continue
            path = _resolve(info.file, info.properties[key])
            if path not in bundle.files:
                out.add(info.file, info.line, info.id, f"{key}: form file {path} is missing from the bundle")
                continue
            try:
                doc = load_form(bundle.files[path])
            except FormFileInvalid as exc:
                out.add(path, None, info.id, str(exc))
                continue
            if key == "formJsonSchemaFilename":
                try:
                    Draft202012Validator.check_schema(doc)
                except SchemaError as exc:
                    out.add(path, None, info.id, f"not a valid JSON Schema: {exc.message}")
                    continue
                if path not in forms:
                    problems, remarks = schema_problems(doc)
                    for message in problems:
                        out.add(path, None, info.id, message)
                    out.notices.extend(Problem(path, None, info.id, m) for m in remarks)
                    if problems:
                        continue
                doc = with_item_caps(doc)
            forms[path] = doc
    return forms


def parse_bundle(bundle: Bundle, operators: Iterable[str]) -> ParsedBundle:
    """Validate and parse a bundle; raise SpecInvalid listing every problem found."""
    out = _Collector()
    refused = False     # a refused file makes checks that depend on its content meaningless
    parser = SpiffBpmnParser()
    elements: dict[str, ElementInfo] = {}
    bpmn_roots = []
    for path in bundle.paths(".bpmn") + bundle.paths(".dmn"):
        try:
            root = load_xml(bundle.files[path], path)
        except UnsafeXml as exc:
            out.problems.append(exc.problem)
            refused = True
            continue
        is_dmn = path.endswith(".dmn")
        _xsd_problems(root, path, out, dmn=is_dmn)
        expression_problems(root, path, out, set(operators), dmn=is_dmn)
        if not is_dmn:
            bound_problems(root, path, out)
        try:
            if is_dmn:
                parser.add_dmn_xml(root, filename=path)
            else:
                parser.add_bpmn_xml(etree.ElementTree(root), filename=path)
                elements.update(read_elements(root, path))
                bpmn_roots.append((path, root))
                _lane_problems(root, path, out)
        except ValidationException as exc:
            out.add(exc.file_name or path, exc.line_number or None, exc.id or None, str(exc).split("\n")[0])
    if not bundle.paths(".bpmn"):
        out.add("-", None, None, "the bundle has no .bpmn file")
    forms = _form_problems(bundle, elements, out)
    decisions = _decisions(parser, out)
    if refused:
        raise SpecInvalid(out.problems)
    for path, root in bpmn_roots:
        for ref in root.iterfind(".//spiffworkflow:calledDecisionId", NS):
            if (ref.text or "").strip() not in decisions:
                owner = ref.getparent().getparent()
                out.add(path, ref.sourceline, owner.get("id"), f"unknown DMN decision id {ref.text!r}")
    process_id, spec, subprocess_specs = _main_spec(parser, out) if not out.problems else (None, None, None)
    if out.problems:
        raise SpecInvalid(out.problems)
    for process_spec in (spec, *subprocess_specs.values()):
        bound_loops(process_spec)
        wire_loops(process_spec)
        wire_triggered_paths(process_spec)
    return ParsedBundle(bundle, process_id, spec, subprocess_specs, elements, forms, decisions, out.notices)


def wire_loops(process_spec) -> None:
    """Connect each loop or multi-instance task to its inner task's completion, as a restored spec is.

    SpiffWorkflow's parser leaves this connection to the moment a loop creates its first child, while its spec
    deserializer makes it up front. A workflow restored against a freshly parsed spec (a new process, a restart)
    whose loop children already exist would never merge them: the loop stays STARTED for ever. Wiring every
    parsed spec here makes a fresh parse behave exactly like a warm cache.
    """
    for task_spec in process_spec.task_specs.values():
        if isinstance(task_spec, LoopTask):
            inner = process_spec.task_specs[task_spec.task_spec]
            if not inner.completed_event.is_connected(task_spec.merge_child):
                inner.completed_event.connect(task_spec.merge_child)


def wire_triggered_paths(process_spec) -> None:
    """Give event subprocesses and ad-hoc conditional paths their start input now, not when first triggered.

    SpiffWorkflow connects them to the process start the first time an instance triggers them, which changes the
    shared spec: a restored instance on a fresh parse finds the path unconnected ("No input task connected"), and
    every later instance on a warm spec starts the event subprocess at once, untriggered. Only the input side is
    wired (the start does not list them as outputs, so nothing starts them but their trigger), and a triggered
    path still finds the end it leads to.
    """
    start, end = process_spec.start, process_spec.end
    paths = [process_spec.task_specs[name] for name in getattr(start, "trigger_specs", [])]
    for task_spec in paths:
        if end is not None and end.name not in task_spec._outputs:
            task_spec.connect(end)
    for task_spec in paths + list(getattr(process_spec, "conditional_paths", [])):
        if start.name not in task_spec._inputs:
            task_spec._connect_notify(start)


def _decisions(parser: SpiffBpmnParser, out: _Collector) -> dict[str, object]:
    """Parse each DMN decision; its first decision table is what a business-rule task evaluates."""
    decisions = {}
    for decision_id, dmn_parser in parser.dmn_parsers.items():
        try:
            dmn_parser.parse()
            decisions[decision_id] = dmn_parser.decision.decisionTables[0]
        except ValidationException as exc:
            out.add(exc.file_name or dmn_parser.filename or "-", exc.line_number or None, exc.id or decision_id,
                    str(exc).split("\n")[0])
        except (IndexError, AttributeError, KeyError) as exc:
            out.add(dmn_parser.filename or "-", None, decision_id, f"decision has no usable table: {exc}")
    return decisions


def _main_spec(parser: SpiffBpmnParser, out: _Collector):
    """The executable process no other process calls, parsed with its subprocess specs."""
    ids = parser.get_process_ids()
    if not ids:
        out.add("-", None, None, "no executable process (isExecutable=\"true\") in the bundle")
        return None, None, None
    called = set()
    for pid in ids:
        called |= set(parser.process_parsers[pid].called_element_ids())
    main = next((pid for pid in ids if pid not in called), ids[0])
    try:
        return main, parser.get_spec(main), parser.get_subprocess_specs(main)
    except ValidationException as exc:
        out.add(exc.file_name or "-", exc.line_number or None, exc.id or None, str(exc).split("\n")[0])
    except Exception as exc:  # noqa: BLE001 - SpiffWorkflow raises assorted types for broken diagrams
        out.add("-", None, main, f"cannot build the process: {type(exc).__name__}: {exc}")
    return main, None, None


STARTER_NOTICE = ("提示：不在任何泳道且未指定角色，将由发起人办理 "
                  "(notice: no lane and no role; this task goes to the person who started the instance)")


def lane_notice(info: ElementInfo) -> str:
    """The notice for a lane whose role the directory does not know."""
    lane = info.lane_name or info.lane_id
    return (f"提示：泳道 {lane} 对应的角色 {info.role} 在名录中不存在，任务将由发起人办理 "
            f"(notice: lane {lane} maps to role {info.role}, which the directory does not know; its tasks go to the "
            "person who started the instance)")


def notices(parsed: ParsedBundle, known: Collection[str]) -> list[Problem]:
    """Non-blocking remarks on a valid bundle: each user task that will go to the instance's starter (one notice per
    lane whose role `known`, the directory's roles, lacks), and each loop without a maximum."""
    found = sorted((info for info in parsed.elements.values() if info.to_starter(known)),
                   key=lambda i: (i.file, i.line or 0))
    out, lanes = [], set()
    for info in found:
        if info.role is None:
            out.append(Problem(info.file, info.line, info.id, STARTER_NOTICE))
        elif info.lane_id not in lanes:
            lanes.add(info.lane_id)
            out.append(Problem(info.file, info.line, info.lane_id, lane_notice(info)))
    loops = unbounded_loops((parsed.spec, *parsed.subprocess_specs.values()))
    out += [Problem(parsed.elements[i].file, parsed.elements[i].line, i, LOOP_NOTICE)
            for i in loops if i in parsed.elements]
    return out + parsed.form_notices
