"""Form data checked against a task's JSON Schema: every error, per field, in words a person understands."""

from __future__ import annotations

import re

import re2
from referencing.exceptions import Unresolvable

from engine.bpmn.formschema import MAX_ITEMS, validator_for
from engine.errors import ValidationFailed

MAX_SUBMISSION_DEPTH = 32       # containers inside containers in one submission
MAX_SUBMISSION_VALUES = 10_000  # values in one submission: bounds the validator's work with MAX_ITEMS
MAX_TEXT = 100_000              # characters in one submitted text
BROKEN_SCHEMA = "表单定义有误，无法校验，请联系流程管理员 (the form's schema cannot be used; tell the process owner)"

_MESSAGES = {
    "required": "此项为必填项",
    "type": "类型不正确，应为 {expected}",
    "enum": "请从给定选项中选择",
    "const": "请从给定选项中选择",
    "oneOf": "请从给定选项中选择",
    "maxLength": "不能超过 {limit} 个字",
    "minLength": "至少需要 {limit} 个字",
    "minItems": "至少需要 {limit} 项",
    "maxItems": "最多 {limit} 项",
    "minimum": "不能小于 {limit}",
    "maximum": "不能大于 {limit}",
    "format": "格式不正确（{expected}）",
    "pattern": "格式不正确",
    "uniqueItems": "不能有重复项",
}
_TYPES = {"string": "文本", "integer": "整数", "number": "数字", "boolean": "是/否", "array": "列表",
          "object": "对象"}
_ENGLISH = {        # the same messages for a reader who asked for English (the API's Accept-Language: en)
    "required": "is required",
    "type": "has the wrong type; expected {expected}",
    "enum": "choose one of the given options",
    "const": "choose one of the given options",
    "oneOf": "choose one of the given options",
    "maxLength": "must be at most {limit} characters",
    "minLength": "must be at least {limit} characters",
    "minItems": "needs at least {limit} items",
    "maxItems": "allows at most {limit} items",
    "minimum": "must not be less than {limit}",
    "maximum": "must not be greater than {limit}",
    "format": "has the wrong format ({expected})",
    "pattern": "has the wrong format",
    "uniqueItems": "must not repeat an item",
}
_TYPES_EN = {"文本": "text", "整数": "integer", "数字": "number", "是/否": "yes/no", "列表": "list", "对象": "object"}
_ZH_PATTERNS = [(re.compile(re.escape(zh).replace(r"\{limit\}", "(?P<limit>.+?)").replace(r"\{expected\}",
                                                                                          "(?P<expected>.+?)") + "$"),
                 _ENGLISH[kind]) for kind, zh in _MESSAGES.items()]


def _path(error) -> str:
    parts = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        parts.append(missing)
    return "/".join(parts) or "(form)"


def _message(error) -> str:
    kind = error.validator
    template = _MESSAGES.get(kind)
    if template is None:
        return error.message
    limit = error.validator_value
    expected = _TYPES.get(limit, limit) if kind == "type" else limit
    return template.format(limit=limit, expected=expected)


def in_english(message: str) -> str:
    """A field message of this module in English (others are returned as they are)."""
    for pattern, english in _ZH_PATTERNS:
        found = pattern.match(message)
        if found:
            values = found.groupdict()
            expected = values.get("expected")
            return english.format(limit=values.get("limit"), expected=_TYPES_EN.get(expected, expected))
    return message


def field_errors(schema: dict, data: dict) -> dict[str, list[str]]:
    """Every schema violation in `data`, keyed by field path (`suggestions/0/department`)."""
    errors: dict[str, list[str]] = {}
    try:
        found = list(validator_for(schema).iter_errors(data))
    except (Unresolvable, RecursionError, re2.error):   # a version deployed before refs/patterns were checked
        return {"(form)": [BROKEN_SCHEMA]}
    for error in sorted(found, key=lambda e: list(map(str, e.absolute_path))):
        errors.setdefault(_path(error), []).append(_message(error))
    return errors


class _Size:
    """Counts a submission's values and reports the first one over a limit, before any schema check runs."""

    def __init__(self):
        self.values = 0

    def problem(self, value, path: str, depth: int) -> tuple[str, str] | None:
        self.values += 1
        if self.values > MAX_SUBMISSION_VALUES:
            limit = MAX_SUBMISSION_VALUES
            return "(form)", f"提交的内容太多，最多 {limit} 个值 (more than {limit} values)"
        if isinstance(value, str) and len(value) > MAX_TEXT:
            return path, f"不能超过 {MAX_TEXT} 个字 (longer than {MAX_TEXT} characters)"
        if not isinstance(value, dict | list):
            return None
        if depth >= MAX_SUBMISSION_DEPTH:
            return path, f"嵌套超过 {MAX_SUBMISSION_DEPTH} 层 (nested more than {MAX_SUBMISSION_DEPTH} levels deep)"
        if isinstance(value, list) and len(value) > MAX_ITEMS:
            return path, f"最多 {MAX_ITEMS} 项 (at most {MAX_ITEMS} items)"
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            found = self.problem(item, f"{path}/{key}" if path else str(key), depth + 1)
            if found:
                return found
        return None


def size_errors(data: dict) -> dict[str, list[str]]:
    """The first value of a submission beyond the size limits (count, text length, nesting, list length)."""
    found = _Size().problem(data, "", 0)
    return {found[0] or "(form)": [found[1]]} if found else {}


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def nul_free(value) -> bool:
    """False when any text inside `value` holds a NUL character (databases cannot store it)."""
    return not _has_nul(value)


def clean_submission(schema: dict | None, data) -> dict:
    """Validate `data` against the form and keep only the fields the form declares; raise ValidationFailed."""
    if not isinstance(data, dict):
        raise ValidationFailed({"(form)": ["提交的数据必须是一个对象 (data must be a JSON object)"]})
    too_big = size_errors(data)
    if too_big:
        raise ValidationFailed(too_big)
    bad = sorted(str(k) for k, v in data.items() if _has_nul(k) or _has_nul(v))
    if bad:
        raise ValidationFailed({key: ["不能包含控制字符 (control characters are not allowed)"] for key in bad})
    if schema is None:
        return dict(data)
    errors = field_errors(schema, data)
    if errors:
        raise ValidationFailed(errors)
    declared = schema.get("properties")
    return dict(data) if declared is None else {k: v for k, v in data.items() if k in declared}
