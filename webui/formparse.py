"""Posted form fields back into typed JSON for a task's schema; upload checks; add/remove rows without JavaScript."""

from __future__ import annotations

import copy
import json
import math
import os
import re
import zipfile

from flask_babel import gettext

UPLOAD_MAX_BYTES = 10 * 1024 * 1024
UPLOAD_TYPES = {".pdf", ".jpg", ".jpeg", ".png", ".doc", ".docx", ".xls", ".xlsx"}

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"   # the compound-file header of .doc and .xls
_MAGIC = {".pdf": b"%PDF-", ".png": b"\x89PNG\r\n\x1a\n", ".jpg": b"\xff\xd8\xff", ".jpeg": b"\xff\xd8\xff",
          ".doc": _OLE, ".xls": _OLE, ".docx": b"PK\x03\x04", ".xlsx": b"PK\x03\x04"}
_OFFICE_FOLDER = {".docx": "word/", ".xlsx": "xl/"}
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_ABSENT = object()


class UploadRejected(Exception):
    """An upload that is too big or not what its name says; `data` is the rest of the form, parsed."""

    def __init__(self, path: str, message: str, data: dict | None = None, errors: dict | None = None):
        super().__init__(message)
        self.path, self.message = path, message
        self.data = data if data is not None else {}
        self.errors = errors if errors is not None else {path: [message]}


class _Pending:
    """An upload that passed the checks, stored once the whole form is parsed (so rows have their final index)."""

    def __init__(self, storage):
        self.storage = storage


# --- reading the schema (shared with formrender) ---

def field_type(prop: dict) -> str:
    """The JSON type of a property (the first non-null one)."""
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind or ("object" if "properties" in prop else "string")


def choices(prop: dict, ui: dict) -> list[tuple[object, str]] | None:
    """[(value, title)] of a single-choice property (`enum`, or `oneOf`/`anyOf` of consts), else None."""
    if "enum" in prop:
        names = ui.get("ui:enumNames") or []
        return [(v, names[i] if i < len(names) else str(v)) for i, v in enumerate(prop["enum"])]
    for key in ("oneOf", "anyOf"):
        options = prop.get(key)
        if options and all(isinstance(o, dict) and "const" in o for o in options):
            return [(o["const"], str(o.get("title", o["const"]))) for o in options]
    if field_type(prop) == "boolean":
        return [(True, gettext("是")), (False, gettext("否"))]
    return None


def token(value) -> str:
    """A value as it travels in HTML: strings as they are, everything else as JSON (`true`, `12`)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def field_kind(prop: dict, ui: dict) -> str:
    """Which control renders a property: text, textarea, date, number, select, radio, checkbox, checkboxes,
    people, people_multi, lines, file, orgunit, rows, object or hidden."""
    widget, kind = ui.get("ui:widget"), field_type(prop)
    if widget == "hidden":
        return "hidden"
    if kind == "object":
        return "object"
    if kind == "array":
        items = prop.get("items") or {}
        if field_type(items) == "object":
            return "rows"
        if widget == "people" or (ui.get("items") or {}).get("ui:widget") == "people":
            return "people_multi"
        return "checkboxes" if field_type(items) != "boolean" and choices(items, ui.get("items") or {}) else "lines"
    if widget in ("file", "people", "orgunit"):
        return widget
    if kind == "boolean":
        if widget in ("radio", "select"):
            return widget
        return "radio" if "oneOf" in prop or "enum" in prop else "checkbox"
    if choices(prop, ui):
        return "radio" if widget == "radio" else "select"
    if kind in ("integer", "number"):
        return "number"
    if prop.get("format") == "date" or widget == "date":
        return "date"
    if widget == "textarea" or prop.get("maxLength", 0) > 200:
        return "textarea"
    return "text"


def ordered(properties: dict, ui: dict) -> list[str]:
    """Property names in `ui:order` (where `*` stands for the rest), unlisted ones last."""
    order = ui.get("ui:order") or ["*"]
    named = [n for n in order if n in properties]
    rest = [n for n in properties if n not in named]
    if "*" not in order:
        return named + rest
    cut = len([n for n in order[:order.index("*")] if n in properties])
    return named[:cut] + rest + named[cut:]


def required_sets(schema: dict) -> tuple[set[str], set[str]]:
    """(always required, required only under an if/then condition) property names of an object schema."""
    required = set(schema.get("required", []))
    conditional = set()
    for part in [schema, *schema.get("allOf", [])]:
        for branch in ("then", "else"):
            conditional |= set((part.get(branch) or {}).get("required", []))
    return required, conditional - required


# --- parsing a post ---

def parse_form(schema: dict, ui: dict | None, form, files, store_file) -> dict:
    """The posted strings as typed JSON for `schema`; uploads checked, then saved with `store_file(path, file)`.

    Rows left completely empty are skipped, except when the post is an add/remove-row action (indices must then
    match what the person saw). Raises UploadRejected (carrying the rest of the data) for a bad upload."""
    keep_empty = bool(form.get("_add") or form.get("_remove"))
    problems: dict[str, list[str]] = {}
    data = _object(_Post(form, files, keep_empty, problems), "", schema, ui or {})
    data = _store(data, "", store_file)
    if problems:
        path = next(iter(problems))
        raise UploadRejected(path, problems[path][0], data, problems)
    return data


class _Post:
    def __init__(self, form, files, keep_empty, problems):
        self.form, self.files, self.keep_empty, self.problems = form, files, keep_empty, problems


def _object(post: _Post, prefix: str, schema: dict, ui: dict) -> dict:
    out = {}
    for name, prop in (schema.get("properties") or {}).items():
        value = _field(post, f"{prefix}/{name}" if prefix else name, prop, ui.get(name) or {})
        if value is not _ABSENT:
            out[name] = value
    return out


def _text(raw) -> str:
    return "" if raw is None else str(raw).replace("\r\n", "\n").replace("\r", "\n").strip()


def _field(post: _Post, path: str, prop: dict, ui: dict):
    kind = field_kind(prop, ui)
    if kind == "object":
        return _object(post, path, prop, ui) or _ABSENT
    if kind == "rows":
        return _rows(post, path, prop, ui)
    if kind == "checkbox":
        return _text(post.form.get(path)).lower() not in ("", "false", "0", "off")
    if kind == "file":
        return _upload(post, path)
    if kind in ("checkboxes", "people_multi", "lines"):
        raw = post.form.getlist(path) if kind != "lines" else [post.form.get(path)]
        # one item a line: a people picker with nobody to offer falls back to a text box of usernames
        values = list(dict.fromkeys(v for r in raw for v in map(_text, _text(r).split("\n")) if v))
        items = prop.get("items") or {}
        return [_typed(items, ui.get("items") or {}, v) for v in values] or _ABSENT
    raw = _text(post.form.get(path))
    if not raw:
        return _ABSENT
    return _date(raw) if kind == "date" else _typed(prop, ui, raw)


def _typed(prop: dict, ui: dict, raw: str):
    """A posted string as the property's type; left as typed when it doesn't fit, so validation can say why."""
    for value, _title in choices(prop, ui) or []:
        if token(value) == raw:
            return value
    kind = field_type(prop)
    if kind in ("integer", "number"):
        return _number(raw, kind == "integer")
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw.lower(), raw)
    return raw


def _number(raw: str, integer: bool):
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        value = float(raw)
    except ValueError:
        return raw
    if not math.isfinite(value):
        return raw
    return int(value) if integer and value.is_integer() else value


def _date(raw: str) -> str:
    match = _DATE.match(raw)
    if not match:
        return raw
    year, month, day = match.groups()
    return f"{year}-{int(month):02d}-{int(day):02d}"


def _rows(post: _Post, path: str, prop: dict, ui: dict):
    """Rows in the posted order (the hidden `path` inputs carry the row numbers)."""
    posted = [v for v in post.form.getlist(path) if str(v).isdigit()]
    if not posted:   # an API-style post without the row markers: the numbers in the field names
        pattern = re.compile(re.escape(path) + r"/(\d+)/")
        found = {m.group(1) for key in [*post.form.keys(), *(post.files or {}).keys()] if (m := pattern.match(key))}
        posted = sorted(found, key=int)
    rows = []
    for index in dict.fromkeys(posted):
        row = _object(post, f"{path}/{index}", prop.get("items") or {}, ui.get("items") or {})
        if post.keep_empty or any(v is not False for v in row.values()):
            rows.append(row)
    return rows or _ABSENT


def _upload(post: _Post, path: str):
    storage = post.files.get(path) if post.files else None
    if storage is not None and storage.filename:
        problem = check_upload(storage)
        if problem is None:
            return _Pending(storage)
        post.problems.setdefault(path, []).append(problem)
    kept = _text(post.form.get(path))   # the reference of an earlier upload, kept in a hidden field
    return kept or _ABSENT


def _store(value, path: str, store_file):
    if isinstance(value, _Pending):
        return store_file(path, value.storage)
    if isinstance(value, dict):
        return {k: _store(v, f"{path}/{k}" if path else k, store_file) for k, v in value.items()}
    if isinstance(value, list):
        return [_store(v, f"{path}/{i}", store_file) for i, v in enumerate(value)]
    return value


def file_references(schema: dict, ui: dict | None, data: dict, prefix: str = "") -> list[tuple[str, str]]:
    """(path, reference) of every file field with a value in `data`, rows and nested objects included."""
    found, ui = [], ui or {}
    for name, prop in (schema.get("properties") or {}).items():
        path, value, options = f"{prefix}/{name}" if prefix else name, (data or {}).get(name), ui.get(name) or {}
        kind = field_kind(prop, options)
        if kind == "file" and isinstance(value, str) and value:
            found.append((path, value))
        elif kind == "object" and isinstance(value, dict):
            found += file_references(prop, options, value, path)
        elif kind == "rows" and isinstance(value, list):
            for index, row in enumerate(value):
                if isinstance(row, dict):
                    found += file_references(prop.get("items") or {}, options.get("items") or {}, row,
                                             f"{path}/{index}")
    return found


def without_values(value, dropped: set[str]):
    """A copy of `value` with every string in `dropped` left out (refused file references)."""
    if isinstance(value, dict):
        return {k: without_values(v, dropped) for k, v in value.items() if not (isinstance(v, str) and v in dropped)}
    if isinstance(value, list):
        return [without_values(v, dropped) for v in value]
    return value


def check_upload(storage) -> str | None:
    """Why an upload is refused (a message for the person), or None when its size, name and content are fine."""
    name = storage.filename or ""
    ext = os.path.splitext(name)[1].lower()
    if ext not in UPLOAD_TYPES:
        return gettext("不支持这种文件：只能上传 PDF、JPG、PNG、Word（.doc/.docx）或 Excel（.xls/.xlsx）文件")
    stream = storage.stream
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    if size > UPLOAD_MAX_BYTES:
        return gettext("文件太大：每个文件不能超过 %(limit)d MB，“%(name)s”有 %(size).1f MB",
                       limit=UPLOAD_MAX_BYTES // (1024 * 1024), name=name, size=size / (1024 * 1024))
    if size == 0:
        return gettext("文件“%(name)s”是空的", name=name)
    head = stream.read(len(_MAGIC[ext]))
    stream.seek(0)
    if head != _MAGIC[ext] or (ext in _OFFICE_FOLDER and not _office_zip(stream, _OFFICE_FOLDER[ext])):
        return gettext("文件内容与扩展名 %(ext)s 不符，请上传真实的 %(ext)s 文件", ext=ext)
    return None


def _office_zip(stream, folder: str) -> bool:
    """A .docx/.xlsx is a zip with the Office content-types part and its own folder (only the index is read)."""
    try:
        with zipfile.ZipFile(stream) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False
    finally:
        stream.seek(0)
    return "[Content_Types].xml" in names and any(n.startswith(folder) for n in names)


# --- add / remove rows without JavaScript ---

def row_action(form) -> tuple[str, str] | None:
    """("add", "suggestions") or ("remove", "suggestions/1") when a row button was pressed, else None."""
    if form.get("_add"):
        return "add", form.get("_add")
    if form.get("_remove"):
        return "remove", form.get("_remove")
    return None


def apply_row_action(schema: dict, data: dict, action: tuple[str, str] | None) -> dict:
    """A copy of `data` with one more empty row (add) or one row fewer (remove); other rows untouched."""
    result = copy.deepcopy(data)
    if not action or action[0] not in ("add", "remove"):
        return result
    verb, target = action
    segments = str(target).split("/")
    index = segments.pop() if verb == "remove" else None
    prop = _schema_at(schema, segments)
    if prop is None or field_kind(prop, {}) != "rows" or (index is not None and not index.isdigit()):
        return result
    rows = _rows_at(result, segments, create=verb == "add")
    if rows is None:
        return result
    if verb == "add" and len(rows) < prop.get("maxItems", math.inf):
        rows.append({})
    elif verb == "remove" and int(index) < len(rows):
        del rows[int(index)]
    return result


def _schema_at(schema: dict, segments: list[str]) -> dict | None:
    current = schema
    for segment in segments:
        if not isinstance(current, dict):
            return None
        current = current.get("items") if segment.isdigit() else (current.get("properties") or {}).get(segment)
    return current if isinstance(current, dict) else None


def _rows_at(data: dict, segments: list[str], create: bool) -> list | None:
    current = data
    for position, segment in enumerate(segments):
        last = position == len(segments) - 1
        if isinstance(current, list) and segment.isdigit() and int(segment) < len(current):
            current = current[int(segment)]
        elif isinstance(current, dict) and not segment.isdigit():
            if last and create and not isinstance(current.get(segment), list):
                current[segment] = []
            current = current.get(segment)
        else:
            return None
    return current if isinstance(current, list) else None
