"""What changed between two versions of a process: its elements (by id) and its files."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from lxml import etree

from engine.bpmn.specs import FORM_KEYS, NS, Bundle
from engine.bpmn.xmlsafe import UnsafeXml, load_xml

SCOPES = {"process", "subProcess", "transaction", "adHocSubProcess"}
EDGE_CHILDREN = {"incoming", "outgoing", "extensionElements"}
ASPECTS = ("type", "name", "attributes", "definition", "extensions", "incoming", "outgoing", "form", "table")


@dataclass(frozen=True)
class Element:
    """One element of a diagram as the diff sees it."""

    id: str
    tag: str
    name: str | None
    file: str


@dataclass(frozen=True)
class ChangedElement:
    """An element in both versions, and which of its aspects (`ASPECTS`) differ."""

    old: Element
    new: Element
    aspects: tuple[str, ...]


@dataclass(frozen=True)
class VersionDiff:
    """Elements added, removed and changed (by id), and files added, removed and changed (by path)."""

    added: tuple[Element, ...]
    removed: tuple[Element, ...]
    changed: tuple[ChangedElement, ...]
    files_added: tuple[str, ...]
    files_removed: tuple[str, ...]
    files_changed: tuple[str, ...]

    @property
    def empty(self) -> bool:
        """True when nothing differs."""
        return not (self.added or self.removed or self.changed or self.files_added or self.files_removed
                    or self.files_changed)


@dataclass(frozen=True)
class _Read:
    element: Element
    facets: dict


def _local(node) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _canonical(node) -> bytes:
    return etree.tostring(node, method="c14n")


def _tracked(root) -> list:
    """Every element placed in a process or subprocess (flow nodes, flows, data, annotations) and every lane."""
    found = []
    for node in root.iter():
        if not isinstance(node.tag, str) or not node.get("id"):
            continue
        parent = node.getparent()
        if _local(node) == "lane" or (parent is not None and _local(parent) in SCOPES and _local(node) != "laneSet"):
            found.append(node)
    return found


def _read(bundle: Bundle) -> dict[str, _Read]:
    out: dict[str, _Read] = {}
    decision_files = _decision_files(bundle)
    for path in bundle.paths(".bpmn"):
        try:
            root = load_xml(bundle.files[path], path)
        except UnsafeXml:
            continue
        nodes = _tracked(root)
        tracked = set(map(id, nodes))
        flows = [n for n in nodes if _local(n) == "sequenceFlow"]
        for node in nodes:
            node_id = node.get("id")
            attributes = {k: v for k, v in node.attrib.items() if k not in {"id", "name"}}
            body = b"".join(_canonical(c) for c in node if isinstance(c.tag, str) and id(c) not in tracked
                            and _local(c) not in EDGE_CHILDREN)
            extensions = node.find("bpmn:extensionElements", NS)
            props = {p.get("name"): p.get("value", "") for p in node.iterfind(
                "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS)}
            forms = tuple(_file_bytes(bundle, path, props[k]) for k in FORM_KEYS if k in props)
            decisions = tuple(bundle.files.get(decision_files.get((ref.text or "").strip(), ""), b"")
                              for ref in node.iterfind("bpmn:extensionElements/spiffworkflow:calledDecisionId", NS))
            out[node_id] = _Read(Element(node_id, _local(node), node.get("name"), path), {
                "type": _local(node), "name": node.get("name"), "attributes": attributes, "definition": body,
                "extensions": _canonical(extensions) if extensions is not None else b"",
                "incoming": sorted(f.get("id") for f in flows if f.get("targetRef") == node_id),
                "outgoing": sorted(f.get("id") for f in flows if f.get("sourceRef") == node_id),
                "form": forms, "table": decisions})
    return out


def _file_bytes(bundle: Bundle, base: str, relative: str) -> bytes | None:
    return bundle.files.get(posixpath.normpath(posixpath.join(posixpath.dirname(base), relative)))


def _decision_files(bundle: Bundle) -> dict[str, str]:
    """decision id → the DMN file that holds it."""
    found = {}
    for path in bundle.paths(".dmn"):
        try:
            root = load_xml(bundle.files[path], path)
        except UnsafeXml:
            continue
        found |= {n.get("id"): path for n in root.iter() if isinstance(n.tag, str) and n.tag.endswith("}decision")
                  and n.get("id")}
    return found


def diff_bundles(old: Bundle, new: Bundle) -> VersionDiff:
    """What changed from `old` to `new`: elements by id (with the aspects that differ) and files by path."""
    before, after = _read(old), _read(new)
    changed = []
    for element_id in sorted(before.keys() & after.keys()):
        a, b = before[element_id], after[element_id]
        aspects = tuple(x for x in ASPECTS if a.facets[x] != b.facets[x])
        if aspects:
            changed.append(ChangedElement(a.element, b.element, aspects))
    return VersionDiff(
        added=tuple(after[i].element for i in sorted(after.keys() - before.keys())),
        removed=tuple(before[i].element for i in sorted(before.keys() - after.keys())),
        changed=tuple(changed),
        files_added=tuple(sorted(new.files.keys() - old.files.keys())),
        files_removed=tuple(sorted(old.files.keys() - new.files.keys())),
        files_changed=tuple(sorted(p for p in old.files.keys() & new.files.keys() if old.files[p] != new.files[p])))
