"""Hardened XML loading: UTF-8 only, no DTDs, no entities, no network, bounded size — checked before any
BPMN/DMN parser sees the document."""

from __future__ import annotations

import re

from lxml import etree

from engine.errors import Problem

MAX_XML_BYTES = 2_000_000
UTF8_NAMES = {"utf-8", "utf8", "ascii", "us-ascii"}    # ASCII is a subset of UTF-8
_DECLARED = re.compile(rb"""^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*encoding\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


class UnsafeXml(Exception):
    """The document was refused; `problem` says where and why."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           remove_pis=True, dtd_validation=False)


def _text(data: bytes, filename: str) -> str:
    """The document as text; anything but UTF-8 is refused (so every check below sees what lxml would)."""
    declared = _DECLARED.match(data)
    if declared and declared.group(1).decode("ascii", "replace").lower() not in UTF8_NAMES:
        name = declared.group(1).decode("ascii", "replace")
        raise UnsafeXml(Problem(filename, 1, None, f"declares encoding {name}; only UTF-8 is accepted"))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise UnsafeXml(Problem(filename, line, None, "not UTF-8 text; save the file as UTF-8")) from None


def load_xml(data: bytes, filename: str) -> etree._Element:
    """Parse untrusted XML bytes into an element tree, or raise UnsafeXml naming the problem."""
    if len(data) > MAX_XML_BYTES:
        raise UnsafeXml(Problem(filename, None, None,
                                f"file is {len(data):,} bytes; the limit is {MAX_XML_BYTES:,} bytes"))
    text = _text(data, filename)
    upper = text.upper()
    found = [pos for pos in (upper.find("<!DOCTYPE"), upper.find("<!ENTITY")) if pos >= 0]
    if found:
        line = text.count("\n", 0, min(found)) + 1
        raise UnsafeXml(Problem(filename, line, None, "DOCTYPE and ENTITY declarations are not allowed"))
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise UnsafeXml(Problem(filename, exc.lineno, None, f"not well-formed XML: {exc.msg}")) from None
    if root.getroottree().docinfo.internalDTD is not None:
        raise UnsafeXml(Problem(filename, 1, None, "DOCTYPE and ENTITY declarations are not allowed"))
    return root
