"""Form rules beyond the schema: read-only fields keep the task's values, no date after today, no value ruled out."""

from __future__ import annotations

from datetime import date

from engine.bpmn.formrules import keep_read_only, rule_errors

ROWS = {"type": "object", "properties": {
    "label": {"type": "string", "readOnly": True},
    "rows": {"type": "array", "items": {"type": "object", "properties": {
        "id": {"type": "integer", "readOnly": True}, "note": {"type": "string"}}}}}}


def test_read_only_values_and_rows_come_from_the_task():
    held = {"label": "甲", "rows": [{"id": 1}, {"id": 2}]}
    posted = {"label": "乙", "rows": [{"id": 9, "note": "一"}, {"id": 8, "note": "二"}, {"id": 7, "note": "三"}]}
    assert keep_read_only(ROWS, posted, held) == {"label": "甲", "rows": [{"id": 1, "note": "一"},
                                                                          {"id": 2, "note": "二"}]}
    assert keep_read_only(ROWS, {"rows": []}, held)["rows"] == [{"id": 1}, {"id": 2}]      # the schema reports them
    assert keep_read_only(ROWS, {"label": "乙"}, {}) == {}      # nothing held: a claimed read-only value is dropped


def test_dates_after_today_and_ruled_out_values_are_refused_per_field():
    schema = {"type": "object", "properties": {
        "on": {"type": "string", "format": "date", "x-notAfter": "today"},
        "rows": {"type": "array", "items": {"type": "object", "properties": {
            "unit": {"type": "string", "x-notIn": "used"}}}}}}
    today = date(2026, 3, 2)
    assert rule_errors(schema, {"on": "2026-03-02", "rows": [{"unit": "b"}]}, {"used": ["a"]}, today) == {}
    errors = rule_errors(schema, {"on": "2026-03-03", "rows": [{"unit": "b"}, {"unit": "a"}]}, {"used": ["a"]}, today)
    assert sorted(errors) == ["on", "rows/1/unit"]
    assert errors["on"][0].startswith("不能晚于今天（2026-03-02）") and "cannot be later than today" in errors["on"][0]
    assert rule_errors(schema, {"on": "not a date"}, {}, today) == {}      # the format check reports that one
