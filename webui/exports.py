"""Any filtered list as a download: CSV (UTF-8 with a byte-order mark, so Excel opens Chinese text) or XLSX
(openpyxl, header row bold and frozen). Bounded: at most MAX_ROWS rows, the caller says whether more were cut."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from urllib.parse import quote

from flask import Response, abort

MAX_ROWS = 50_000
FORMATS = ("csv", "xlsx")
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cell(value):
    """A value a spreadsheet shows as it reads on the page: dates as dates, None as empty, the rest as text/numbers;
    text that a spreadsheet would run as a formula is quoted (CSV/XLSX injection)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (int, float, date, datetime)):
        return value.replace(tzinfo=None) if isinstance(value, datetime) else value
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def table_bytes(fmt: str, headers: Sequence[str], rows: Iterable[Sequence], sheet: str = "Sheet1") -> bytes:
    """The table as CSV or XLSX bytes, at most MAX_ROWS rows."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    limited = (row for index, row in enumerate(rows) if index < MAX_ROWS)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([str(h) for h in headers])
        for row in limited:
            writer.writerow([v.isoformat(sep=" ") if isinstance(v, datetime) else v
                             for v in (_cell(v) for v in row)])
        return ("\ufeff" + out.getvalue()).encode("utf-8")
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook(write_only=False)
    ws = book.active
    ws.title = sheet[:31]
    ws.append([str(h) for h in headers])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for row in limited:
        ws.append([_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def table_response(fmt: str, filename: str, headers: Sequence[str], rows: Iterable[Sequence],
                   sheet: str = "Sheet1") -> Response:
    """A download of the table; `filename` without extension (Chinese allowed, sent RFC 5987-encoded); 404 for an
    unknown format."""
    if fmt not in FORMATS:
        abort(404)
    body = table_bytes(fmt, headers, rows, sheet)
    name = f"{filename}.{fmt}"
    ascii_name = name.encode("ascii", "ignore").decode() or f"export.{fmt}"
    response = Response(body, mimetype="text/csv" if fmt == "csv" else _XLSX)
    response.headers["Content-Disposition"] = (f"attachment; filename=\"{ascii_name}\"; "
                                               f"filename*=UTF-8''{quote(name)}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response
