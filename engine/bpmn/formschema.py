"""Bounded form schemas: size and nesting of the file, $ref inside the document only, capped arrays, linear-time
patterns (RE2); the validator the engine runs submissions with."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from functools import lru_cache

import re2
from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError
from referencing import Registry

MAX_FORM_BYTES = 256 * 1024    # one form file
MAX_FILE_DEPTH = 64            # containers inside containers in a form file
MAX_ITEMS = 1000               # the most items a schema may allow in one array (uniqueItems compares pairs)
DEFAULT_MAX_ITEMS = 500        # applied by the engine to an array whose schema sets no maxItems

_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_DATA_KEYS = {"const", "enum", "default", "examples"}        # values, not schemas
_MAP_KEYS = {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
_IN_PLACE = {"allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas"}   # same instance, no descent
_ARRAY_KEYS = {"items", "prefixItems", "contains", "minItems", "uniqueItems", "unevaluatedItems"}


class FormFileInvalid(ValueError):
    """A form file refused before or while parsing; the message says why."""


def json_depth(text: str) -> int:
    """How deeply containers nest in JSON text, found without recursion (Python's json has no depth limit)."""
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth -= 1
    return deepest


def load_form(raw: bytes):
    """Parse a form file within MAX_FORM_BYTES and MAX_FILE_DEPTH; raise FormFileInvalid (never RecursionError)."""
    if len(raw) > MAX_FORM_BYTES:
        raise FormFileInvalid(f"{len(raw)} bytes; the limit for a form file is {MAX_FORM_BYTES}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FormFileInvalid("not UTF-8 text; save the file as UTF-8") from None
    depth = json_depth(text)
    if depth > MAX_FILE_DEPTH:
        raise FormFileInvalid(f"nested {depth} levels deep; the limit is {MAX_FILE_DEPTH}")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise FormFileInvalid(f"not valid JSON: {exc}") from None


def _subschemas(node, pointer: str = "") -> Iterator[tuple[str, dict]]:
    """Every schema object in a document with its JSON pointer, the document itself first."""
    if not isinstance(node, dict):
        return
    yield pointer, node
    for key, value in node.items():
        if key in _DATA_KEYS:
            continue
        where = f"{pointer}/{_escape(key)}"
        if key in _MAP_KEYS and isinstance(value, dict):
            for name, sub in value.items():
                yield from _subschemas(sub, f"{where}/{_escape(name)}")
        elif isinstance(value, dict):
            yield from _subschemas(value, where)
        elif isinstance(value, list):
            for index, sub in enumerate(value):
                yield from _subschemas(sub, f"{where}/{index}")


def _escape(key: str) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _resolve(doc, ref: str):
    """The schema an in-document `$ref` names, with its pointer; None when it names nothing."""
    fragment = ref[1:]
    if fragment and not fragment.startswith("/"):      # a plain-name fragment: an $anchor in the document
        return next(((p, s) for p, s in _subschemas(doc) if s.get("$anchor") == fragment), None)
    node = doc
    for part in fragment.split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return (fragment, node) if isinstance(node, dict | bool) else None


def _in_place_children(doc, pointer: str, schema) -> Iterator[tuple[str, object]]:
    """Schemas applied to the same value as `schema` (allOf, not, $ref …): a cycle through these never ends."""
    if not isinstance(schema, dict):
        return
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#"):
        target = _resolve(doc, ref)
        if target is not None:
            yield target
    for key in _IN_PLACE & schema.keys():
        value = schema[key]
        if isinstance(value, list):
            yield from ((f"{pointer}/{key}/{i}", sub) for i, sub in enumerate(value))
        elif key == "dependentSchemas" and isinstance(value, dict):
            yield from ((f"{pointer}/{key}/{_escape(n)}", sub) for n, sub in value.items())
        else:
            yield f"{pointer}/{key}", value


def _ref_loops(doc, pointer: str, schema) -> bool:
    """True when following `$ref` and in-place keywords from `schema` comes back to it without reading data."""
    seen, stack = {pointer}, [(pointer, schema)]
    while stack:
        current, node = stack.pop()
        for child_pointer, child in _in_place_children(doc, current, node):
            if child_pointer == pointer:
                return True
            if child_pointer not in seen:
                seen.add(child_pointer)
                stack.append((child_pointer, child))
    return False


def schema_problems(doc) -> tuple[list[str], list[str]]:
    """(problems, notices) of a form's JSON Schema beyond the metaschema: refs, array caps, patterns."""
    problems: list[str] = []
    notices: list[str] = []
    for pointer, schema in _subschemas(doc):
        where = pointer or "/"
        for key in ("$dynamicRef", "$recursiveRef"):
            if key in schema:
                problems.append(f"{where}: {key} is not supported; use $ref to a place in this file")
        if pointer and isinstance(schema.get("$id"), str):
            problems.append(f"{where}: $id inside a form is not supported (it moves where $ref points)")
        ref = schema.get("$ref")
        if isinstance(ref, str):
            if not ref.startswith("#"):
                problems.append(f"{where}: $ref {ref!r} points outside this file; only refs inside it (#/$defs/…) "
                                "are allowed — other files and URLs are never fetched")
            elif _resolve(doc, ref) is None:
                problems.append(f"{where}: $ref {ref!r} names nothing in this file")
            elif _ref_loops(doc, pointer, schema):
                problems.append(f"{where}: $ref {ref!r} refers back to itself without descending into the data "
                                "(an endless loop)")
        problems.extend(f"{where}: {p}" for p in _pattern_problems(schema))
        _array_checks(where, schema, problems, notices)
    return problems, notices


def _pattern_problems(schema: dict) -> Iterator[str]:
    patterns = [schema["pattern"]] if isinstance(schema.get("pattern"), str) else []
    if isinstance(schema.get("patternProperties"), dict):
        patterns.extend(schema["patternProperties"])
    for pattern in patterns:
        try:
            _compiled(pattern)
        except re2.error as exc:
            yield (f"pattern {pattern!r} cannot run in linear time ({_reason(exc)}); "
                   "backreferences and lookaround are not supported")


def _is_array(schema: dict) -> bool:
    kind = schema.get("type")
    return kind == "array" or (isinstance(kind, list) and "array" in kind) or bool(_ARRAY_KEYS & schema.keys())


def _array_checks(where: str, schema: dict, problems: list[str], notices: list[str]) -> None:
    if not _is_array(schema):
        return
    limit = schema.get("maxItems")
    if limit is None:
        notices.append(f"{where}: 提示：列表未设 maxItems，系统按最多 {DEFAULT_MAX_ITEMS} 项处理 "
                       f"(notice: no maxItems; the engine allows at most {DEFAULT_MAX_ITEMS} items)")
    elif isinstance(limit, int) and limit > MAX_ITEMS:
        problems.append(f"{where}: maxItems {limit} is above the limit of {MAX_ITEMS}")


def with_item_caps(doc):
    """A copy of a schema where every array without maxItems gets DEFAULT_MAX_ITEMS."""
    capped = copy.deepcopy(doc)
    for _, schema in _subschemas(capped):
        if _is_array(schema) and "maxItems" not in schema:
            schema["maxItems"] = DEFAULT_MAX_ITEMS
    return capped


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False       # a refused pattern is reported to the person, not logged to stderr


@lru_cache(maxsize=512)
def _compiled(pattern: str):
    return re2.compile(pattern, _RE2_OPTIONS)


def _reason(exc: Exception) -> str:
    detail = exc.args[0] if exc.args else exc
    return detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)


def _pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not _compiled(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator, pattern_properties, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in pattern_properties.items():
        for key, value in instance.items():
            if _compiled(pattern).search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


LinearValidator = validators.extend(Draft202012Validator, {"pattern": _pattern,
                                                           "patternProperties": _pattern_properties})
_FORMATS = FormatChecker()
_NO_RETRIEVAL: Registry = Registry()     # a $ref outside the document is unresolvable, never fetched


_VALIDATORS: dict[int, tuple[dict, object]] = {}     # id(schema) -> (schema, its validator)
_KEPT_VALIDATORS = 512


def validator_for(schema: dict):
    """A Draft 2020-12 validator using RE2 for patterns and resolving $ref only inside `schema`. Made once per schema
    object: a deployed version's forms are the same dicts on every submit (its parsed bundle is cached), and making
    the validator costs as much as validating."""
    kept = _VALIDATORS.get(id(schema))
    if kept is not None and kept[0] is schema:
        return kept[1]
    validator = LinearValidator(schema, format_checker=_FORMATS, registry=_NO_RETRIEVAL)
    if len(_VALIDATORS) >= _KEPT_VALIDATORS:
        _VALIDATORS.clear()
    _VALIDATORS[id(schema)] = (schema, validator)     # the schema is kept too, so its id is not reused meanwhile
    return validator
