"""Hardened XML loading: no DTDs, no entities, no network, bounded size, before any BPMN/DMN parser sees it."""

from __future__ import annotations

from lxml import etree

from .errors import Problem

MAX_XML_BYTES = 2_000_000


class UnsafeXml(Exception):
    """The document was refused; `problem` says where and why."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           remove_pis=True, dtd_validation=False)


def load_xml(data: bytes, filename: str) -> etree._Element:
    """Parse untrusted XML bytes into an element tree, or raise UnsafeXml naming the problem."""
    if len(data) > MAX_XML_BYTES:
        raise UnsafeXml(Problem(filename, None, None,
                                f"file is {len(data):,} bytes; the limit is {MAX_XML_BYTES:,} bytes"))
    head = data[:8192].upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in data.upper():
        line = data[: max(data.upper().find(b"<!DOCTYPE"), data.upper().find(b"<!ENTITY"))].count(b"\n") + 1
        raise UnsafeXml(Problem(filename, line, None, "DOCTYPE and ENTITY declarations are not allowed"))
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise UnsafeXml(Problem(filename, exc.lineno, None, f"not well-formed XML: {exc.msg}")) from None
    if root.getroottree().docinfo.internalDTD is not None:
        raise UnsafeXml(Problem(filename, 1, None, "DOCTYPE and ENTITY declarations are not allowed"))
    return root
