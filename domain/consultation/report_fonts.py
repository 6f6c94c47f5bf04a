"""The report's Chinese font, parsed once per process: fpdf2 reads and parses a font file at every `add_font` (two
20 MB Noto Sans CJK collections: about half a second of CPU per PDF), so the parsed face is kept and each document gets
its own copy of the per-document parts (subset, descriptor, the fontTools font its output subsets in place)."""

from __future__ import annotations

import copy
import io
import threading
from dataclasses import dataclass
from pathlib import Path

from fontTools.ttLib import TTCollection, TTFont
from fpdf import FPDF
from fpdf.enums import TextEmphasis
from fpdf.fonts import SubsetMap, TTFFont

_lock = threading.Lock()
_parsed: dict[tuple[str, int], tuple[TTFFont, bytes]] = {}


class FontMissing(RuntimeError):
    """The Chinese font the report embeds is not installed (Debian: fonts-noto-cjk)."""


@dataclass(frozen=True)
class FontFile:
    """One style's font: the collection file and the index of the wanted face in it."""

    path: Path
    index: int


def face_index(path: Path, face: str) -> int:
    """The index of the face named `face` in the collection at `path`; raises FontMissing."""
    with TTCollection(str(path), lazy=True) as collection:
        index = next((i for i, font in enumerate(collection.fonts) if font["name"].getDebugName(1) == face), None)
    if index is None:
        raise FontMissing(f"{path} has no face named {face}")
    return index


def parsed(font: FontFile) -> tuple[TTFFont, bytes]:
    """The face parsed by fpdf2 and the file's bytes, read once per process (the first caller parses, under a lock,
    while others wait)."""
    key = (str(font.path), font.index)
    with _lock:
        if key not in _parsed:
            data = font.path.read_bytes()
            _parsed[key] = (TTFFont(FPDF(), io.BytesIO(data), "parsed", "", collection_font_number=font.index), data)
        return _parsed[key]


def for_document(pdf: FPDF, family: str, style: str, font: FontFile) -> TTFFont:
    """Add the face to `pdf` as fpdf2's `add_font` would, from the parsed copy: the read-only tables (widths, glyph
    ids, cmap) are shared; the subset, descriptor and fontTools font are the document's own."""
    prototype, data = parsed(font)
    own = TTFFont.__new__(TTFFont)
    for slot in TTFFont.__slots__:
        if hasattr(prototype, slot):
            setattr(own, slot, getattr(prototype, slot))
    own.i, own.fontkey = len(pdf.fonts) + 1, f"{family.lower()}{style}"
    own.emphasis, own.biggest_size_pt, own.missing_glyphs = TextEmphasis.coerce(style), 0, []
    own.desc = copy.copy(prototype.desc)          # the output names it and links the embedded file to it
    # subset in place; bounding boxes kept from the full face (a valid, larger box): recomputing them from every
    # subset glyph's outline was a third of the PDF's CPU
    own.ttfont = TTFont(io.BytesIO(data), recalcTimestamp=False, recalcBBoxes=False, fontNumber=font.index, lazy=True)
    own.subset = SubsetMap(own)
    pdf.fonts[own.fontkey] = own
    return own

