"""The report's font is parsed once per process and each PDF still embeds its own subset, also when drawn at once."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import pypdf
from fpdf import FPDF

from domain.consultation import report_fonts, report_pdf

WORDS = ("甲乙丙丁", "春夏秋冬", "东南西北")


def draw(words: str) -> bytes:
    pdf = FPDF()
    for style, font in report_pdf.find_fonts().items():
        report_fonts.for_document(pdf, "noto", style, font)
    pdf.add_page()
    pdf.set_font("noto", size=14)
    pdf.cell(0, 10, words)
    pdf.set_font("noto", "B", size=14)
    pdf.cell(0, 10, words[::-1])
    return bytes(pdf.output())


def to_unicode(body: bytes) -> str:
    """Every ToUnicode map of the PDF's fonts (the characters each subset holds)."""
    reader = pypdf.PdfReader(io.BytesIO(body))
    fonts = reader.pages[0]["/Resources"]["/Font"].values()
    return "".join(font.get_object()["/ToUnicode"].get_object().get_data().decode("latin-1") for font in fonts)


def test_the_face_is_parsed_once_and_each_document_has_its_own_subset():
    font = report_pdf.find_fonts()[""]
    assert report_fonts.parsed(font) is report_fonts.parsed(font)
    first, second = FPDF(), FPDF()
    a = report_fonts.for_document(first, "noto", "", font)
    b = report_fonts.for_document(second, "noto", "", font)
    assert a.cw is b.cw and a.glyph_ids is b.glyph_ids                      # the parsed tables are shared
    assert a.subset is not b.subset and a.desc is not b.desc and a.ttfont is not b.ttfont
    assert first.fonts["noto"] is a and a.fontkey == "noto" and a.i == 1


def test_documents_drawn_at_once_each_hold_only_their_own_characters():
    with ThreadPoolExecutor(3) as pool:
        bodies = list(pool.map(draw, WORDS))
    for words, body in zip(WORDS, bodies, strict=True):
        text = pypdf.PdfReader(io.BytesIO(body)).pages[0].extract_text().replace(" ", "").replace("\x00", "")
        assert words in text and words[::-1] in text
        held = to_unicode(body)
        for other in WORDS:
            code = f"<{ord(other[0]):04X}>"
            assert (code in held) == (other == words), (words, other)
    assert to_unicode(draw(WORDS[0])) == to_unicode(bodies[0])             # drawn alone: the same subset
