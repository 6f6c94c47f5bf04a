"""Exports read back: CSV opens with Chinese intact and a BOM; XLSX has its header and rows; formulas are quoted."""

from __future__ import annotations

import csv
import io
from datetime import date

from flask import Flask
from openpyxl import load_workbook

from webui.exports import table_bytes, table_response

HEADERS = ["议题", "承办单位", "超期工作日", "期限"]
ROWS = [["老街路灯", "县住房和城乡建设局", 3, date(2026, 3, 9)], ["=cmd|' /C calc'!A0", None, 0, None]]


def test_csv_reads_back_with_chinese_and_quoted_formulas():
    body = table_bytes("csv", HEADERS, ROWS)
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == HEADERS
    assert rows[1] == ["老街路灯", "县住房和城乡建设局", "3", "2026-03-09"]
    assert rows[2][0] == "'=cmd|' /C calc'!A0" and rows[2][1] == ""


def test_xlsx_reads_back():
    sheet = load_workbook(io.BytesIO(table_bytes("xlsx", HEADERS, ROWS, "超期任务"))).active
    assert sheet.title == "超期任务"
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == HEADERS
    assert values[1][:3] == ["老街路灯", "县住房和城乡建设局", 3] and values[1][3].date() == date(2026, 3, 9)
    assert values[2][0].startswith("'=")


def test_response_names_the_file_in_chinese():
    with Flask(__name__).test_request_context():
        response = table_response("xlsx", "超期任务", HEADERS, ROWS)
    assert "filename*=UTF-8''%E8%B6%85%E6%9C%9F%E4%BB%BB%E5%8A%A1.xlsx" in response.headers["Content-Disposition"]
    assert response.mimetype.endswith("spreadsheetml.sheet")
