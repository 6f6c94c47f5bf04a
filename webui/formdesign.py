"""The studio's form editor model: a form's JSON Schema + UI schema as a list of fields a process owner edits (key,
title, kind, required, help, options …) and back, and the checks that name each problem in the reader's language
with its JSON path. Kinds are what the server renderer (webui/formrender.py) draws; a field the list cannot express
(rows, nested objects, place pickers, hidden values) stays as written, editable in the raw JSON only."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass

from flask_babel import gettext

from .formparse import choices, field_kind, field_type, ordered

MAX_FIELDS = 60            # top-level fields of one form
MAX_OPTIONS = 100          # options of one choice field
MAX_TITLE = 100            # characters of a title, an option's value or label, a placeholder
MAX_HELP = 500
TEXT_MAX_LENGTH = 200      # a new one-line text field's maxLength (the renderer draws longer ones as a text box)
TEXTAREA_MAX_LENGTH = 5000
PEOPLE_MAX_ITEMS = 50
KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")

KINDS = ("text", "textarea", "integer", "number", "date", "select", "radio", "checkboxes", "yesno", "checkbox",
         "file", "people", "orgunit", "advanced")
WITH_OPTIONS = {"select", "radio", "checkboxes", "yesno"}
DATE_RULES = ("", "notBefore", "notAfter")


@dataclass(frozen=True)
class FormProblem:
    """One problem of a form: where (a JSON path like `$.properties.age.title`), what, and the field's position in
    the list when it belongs to one."""

    where: str
    message: str
    field: int | None = None

    def as_json(self) -> dict:
        """The problem as the editor's script reads it."""
        return {"where": self.where, "message": self.message, "field": self.field}


class FormRefused(ValueError):
    """A form (or field list) with problems; nothing was built from it."""

    def __init__(self, problems: list[FormProblem]):
        super().__init__("; ".join(f"{p.where}: {p.message}" for p in problems))
        self.problems = problems


def json_path(*parts) -> str:
    """A JSON path (`$.properties.age`, `$.properties[\"1a\"]`, `$.oneOf[2]`) of the parts of a location."""
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if re.match(r"^[A-Za-z_$][\w$]*$", str(part)) \
            else f"[{json.dumps(str(part), ensure_ascii=False)}]"
    return out


# --- reading a form as fields ------------------------------------------------------------------------------------
def kind_of(prop, ui: dict) -> str:
    """The editor's kind of a property: one of KINDS ("advanced" for what the field list cannot express)."""
    if not isinstance(prop, dict) or not isinstance(ui, dict):
        return "advanced"
    drawn = field_kind(prop, ui)
    kind = field_type(prop)
    if drawn in ("text", "textarea", "date", "checkbox", "file") and not ui.get("ui:options"):
        return drawn if drawn != "checkbox" or kind == "boolean" else "advanced"
    if drawn in ("text", "textarea") and set(ui.get("ui:options") or {}) <= {"rows"}:
        return drawn
    if drawn == "number":
        return "integer" if kind == "integer" else "number"
    if drawn in ("select", "radio") and kind == "boolean":
        return "yesno" if drawn == "radio" and _booleans(prop, ui) else "advanced"
    if drawn in ("select", "radio"):
        return drawn if kind == "string" and _strings(choices(prop, ui)) else "advanced"
    if drawn == "checkboxes":
        items = prop.get("items") or {}
        return "checkboxes" if field_type(items) == "string" and _strings(choices(items, ui.get("items") or {})) \
            else "advanced"
    if drawn in ("people", "people_multi"):
        return "people"
    if drawn == "orgunit" and not (ui.get("ui:options") or {}).get("kind"):
        return "orgunit"
    return "advanced"


def _strings(options) -> bool:
    return bool(options) and all(isinstance(value, str) for value, _title in options)


def _booleans(prop: dict, ui: dict) -> bool:
    return sorted(str(v) for v, _t in choices(prop, ui) or []) == ["False", "True"]


def fields_of(schema: dict, ui: dict | None) -> list[dict]:
    """The form's top-level fields in their order, as the editor shows them."""
    ui = ui if isinstance(ui, dict) else {}
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    required = set(schema.get("required") or []) if isinstance(schema.get("required"), list) else set()
    out = []
    for key in ordered(properties, ui):
        prop, field_ui = properties[key], ui.get(key) if isinstance(ui.get(key), dict) else {}
        kind = kind_of(prop, field_ui)
        prop = prop if isinstance(prop, dict) else {}
        options = []
        if kind in ("select", "radio", "yesno"):
            options = [{"value": _value(v), "label": t} for v, t in choices(prop, field_ui) or []]
        elif kind == "checkboxes":
            options = [{"value": v, "label": t} for v, t in choices(prop["items"], field_ui.get("items") or {})]
        ui_options = field_ui.get("ui:options") if isinstance(field_ui.get("ui:options"), dict) else {}
        out.append({"key": key, "was": key, "title": str(prop.get("title") or ""), "kind": kind,
                    "required": key in required,
                    "help": str(field_ui.get("ui:help") or ""),
                    "placeholder": str(field_ui.get("ui:placeholder") or ""),
                    "options": options, "role": str(ui_options.get("role") or "") if kind == "people" else "",
                    "multiple": kind == "people" and field_type(prop) == "array",
                    "unit_kinds": [str(k) for k in ui_options.get("kinds") or []] if kind == "orgunit" else [],
                    "date_rule": _date_rule(prop) if kind == "date" else ""})
    return out


def _date_rule(prop: dict) -> str:
    """"notBefore" or "notAfter" when the date may not lie before / after the day it is entered (engine/bpmn/
    formrules.py), else ""."""
    return next((rule for rule in DATE_RULES if rule and prop.get(f"x-{rule}") == "today"), "")


def _value(value) -> str:
    return "true" if value is True else "false" if value is False else str(value)


# --- writing fields into a form ----------------------------------------------------------------------------------
def field_problems(fields) -> list[FormProblem]:
    """Everything wrong with a field list, each problem naming its field and the JSON path it would write."""
    if not isinstance(fields, list):
        return [FormProblem("$", gettext("字段列表格式有误"))]
    if len(fields) > MAX_FIELDS:
        return [FormProblem(json_path("properties"), gettext("一个表单最多 %(n)d 个字段，现有 %(count)d 个",
                                                         n=MAX_FIELDS, count=len(fields)))]
    problems, seen = [], set()
    for index, item in enumerate(fields):
        if not isinstance(item, dict):
            problems.append(FormProblem(json_path("properties"), gettext("字段格式有误"), index))
            continue
        problems += _one_field_problems(index, item, seen)
    return problems


def _one_field_problems(index: int, item: dict, seen: set) -> list[FormProblem]:
    key, kind = str(item.get("key") or ""), item.get("kind")
    where = json_path("properties", key or f"#{index + 1}")
    out = []

    def add(message, *more):
        out.append(FormProblem(json_path("properties", key, *more) if key else where, message, index))

    if not KEY.match(key):
        add(gettext("字段名须以字母或下划线开头，只含字母、数字和下划线，最多 40 个字符"))
    elif key in seen:
        add(gettext("字段名“%(key)s”重复", key=key))
    seen.add(key)
    if kind not in KINDS:
        add(gettext("未知的字段类型"), "type")
    for name, limit, what in (("title", MAX_TITLE, gettext("标题")), ("help", MAX_HELP, gettext("填写说明")),
                              ("placeholder", MAX_TITLE, gettext("输入提示"))):
        if len(str(item.get(name) or "")) > limit:
            add(gettext("%(what)s最多 %(n)d 个字", what=what, n=limit), name)
    if not str(item.get("title") or "").strip() and kind != "advanced":
        add(gettext("请填写字段标题"), "title")
    if kind in WITH_OPTIONS:
        out += _option_problems(index, key, kind, item.get("options"))
    if kind == "date" and (item.get("date_rule") or "") not in DATE_RULES:
        add(gettext("未知的日期规则"), "x-notBefore")
    return out


def _option_problems(index: int, key: str, kind: str, options) -> list[FormProblem]:
    at = ("oneOf",) if kind != "checkboxes" else ("items", "oneOf")
    if not isinstance(options, list) or not options:
        return [FormProblem(json_path("properties", key, *at), gettext("请至少添加一个选项"), index)]
    if len(options) > MAX_OPTIONS:
        return [FormProblem(json_path("properties", key, *at), gettext("一个字段最多 %(n)d 个选项，现有 %(count)d 个",
                                                                  n=MAX_OPTIONS, count=len(options)), index)]
    if kind == "yesno" and len(options) != 2:
        return [FormProblem(json_path("properties", key, *at), gettext("是/否字段只有两个选项"), index)]
    out, values = [], set()
    for number, option in enumerate(options):
        value = str(option.get("value") or "").strip() if isinstance(option, dict) else ""
        label = str(option.get("label") or "") if isinstance(option, dict) else ""
        where = json_path("properties", key, *at, number)
        if not value and not label.strip():
            out.append(FormProblem(where, gettext("第 %(n)d 个选项是空的", n=number + 1), index))
        elif len(value) > MAX_TITLE or len(label) > MAX_TITLE:
            out.append(FormProblem(where, gettext("选项的值和名称最多 %(n)d 个字", n=MAX_TITLE), index))
        elif (value or label.strip()) in values:
            out.append(FormProblem(where, gettext("选项“%(value)s”重复", value=value or label.strip()), index))
        values.add(value or label.strip())
    return out


def build(fields: list[dict], base_schema: dict, base_ui: dict) -> tuple[dict, dict]:
    """(JSON Schema, UI schema) written from the field list over the form it was read from: what the list does not
    say (conditions, length limits, date rules, audiences) stays, also for a field whose key changed (`was` names
    its key in the base); raise FormRefused when the list has problems."""
    problems = field_problems(fields)
    if problems:
        raise FormRefused(problems)
    schema = copy.deepcopy(base_schema) if isinstance(base_schema, dict) else {}
    old_ui = base_ui if isinstance(base_ui, dict) else {}
    old_props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    ui = {k: copy.deepcopy(v) for k, v in old_ui.items() if k.startswith("ui:") or k not in old_props}
    schema.setdefault("type", "object")
    properties, required, keys = {}, [], [str(item["key"]) for item in fields]
    for item in fields:
        key = str(item["key"])
        source = str(item.get("was") or key)
        if source not in old_props:
            source = key
        source_ui = old_ui.get(source) if isinstance(old_ui.get(source), dict) else {}
        properties[key], field_ui = _write_field(item, old_props.get(source), source_ui)
        if field_ui:
            ui[key] = field_ui
        if item.get("required"):
            required.append(key)
    schema["properties"] = properties
    if required:
        schema["required"] = required
    else:
        schema.pop("required", None)
    ui["ui:order"] = keys
    return schema, ui


def _write_field(item: dict, old_prop, old_ui: dict) -> tuple[dict, dict]:
    kind = item["kind"]
    if kind == "advanced":       # as written; only its title follows the list
        prop = copy.deepcopy(old_prop) if isinstance(old_prop, dict) else {"type": "string"}
        if str(item.get("title") or "").strip():
            prop["title"] = str(item["title"]).strip()
        return prop, old_ui
    same = isinstance(old_prop, dict) and kind_of(old_prop, old_ui) == kind
    prop = copy.deepcopy(old_prop) if same else {}
    field_ui = copy.deepcopy(old_ui) if same else {k: v for k, v in old_ui.items() if k == "ui:audience"}
    prop["title"] = str(item.get("title") or "").strip()
    _KIND_WRITERS[kind](prop, field_ui, item)
    for name, ui_key in (("help", "ui:help"), ("placeholder", "ui:placeholder")):
        text = str(item.get(name) or "").strip()
        if text:
            field_ui[ui_key] = text
        else:
            field_ui.pop(ui_key, None)
    if not field_ui.get("ui:options"):
        field_ui.pop("ui:options", None)
    return prop, field_ui


def _options(item: dict) -> list[dict]:
    out = []
    for number, option in enumerate(item.get("options") or []):
        value = str(option.get("value") or "").strip() or str(option.get("label") or "").strip() \
            or f"option_{number + 1}"
        out.append({"const": value, "title": str(option.get("label") or "").strip() or value})
    return out


def _string(prop: dict, field_ui: dict, *, widget: str | None = None, max_length: int | None = None,
            fmt: str | None = None) -> None:
    prop["type"] = "string"
    for key in ("oneOf", "enum", "anyOf", "items", "uniqueItems", "maxItems", "minItems"):
        prop.pop(key, None)
    if fmt:
        prop["format"] = fmt
    if max_length:
        prop.setdefault("maxLength", max_length)
    if widget:
        field_ui["ui:widget"] = widget
    else:
        field_ui.pop("ui:widget", None)
    field_ui.pop("ui:enumNames", None)


def _write_text(prop, field_ui, item):
    _string(prop, field_ui, max_length=TEXT_MAX_LENGTH)
    if prop["maxLength"] > TEXT_MAX_LENGTH:        # the renderer draws longer ones as a text box
        prop["maxLength"] = TEXT_MAX_LENGTH


def _write_textarea(prop, field_ui, item):
    _string(prop, field_ui, widget="textarea", max_length=TEXTAREA_MAX_LENGTH)


def _write_date(prop, field_ui, item):
    _string(prop, field_ui, widget="date", fmt="date")
    for rule in DATE_RULES[1:]:
        if prop.get(f"x-{rule}") == "today":
            del prop[f"x-{rule}"]
    if item.get("date_rule"):
        prop[f"x-{item['date_rule']}"] = "today"


def _write_file(prop, field_ui, item):
    _string(prop, field_ui, widget="file")


def _write_number(prop, field_ui, item):
    prop["type"] = item["kind"]
    if field_ui.get("ui:widget") != "updown":
        field_ui.pop("ui:widget", None)


def _write_choice(prop, field_ui, item):
    kept = field_ui.get("ui:widget") if item["kind"] == "select" and field_ui.get("ui:widget") == "select" else None
    _string(prop, field_ui, widget="radio" if item["kind"] == "radio" else kept)
    prop["oneOf"] = _options(item)


def _write_checkboxes(prop, field_ui, item):
    options = _options(item)
    for key in ("oneOf", "enum", "format", "maxLength", "minLength"):
        prop.pop(key, None)
    prop.update(type="array", items={"type": "string", "oneOf": options}, uniqueItems=True, maxItems=len(options))
    field_ui.pop("ui:widget", None)


def _write_yesno(prop, field_ui, item):
    first, second = (item.get("options") or [{}, {}])[:2]
    labels = {str(o.get("value")): str(o.get("label") or "").strip() for o in (first, second)}
    prop.pop("enum", None)
    prop.update(type="boolean", oneOf=[{"const": True, "title": labels.get("true") or gettext("是")},
                                       {"const": False, "title": labels.get("false") or gettext("否")}])
    field_ui["ui:widget"] = "radio"


def _write_checkbox(prop, field_ui, item):
    for key in ("oneOf", "enum"):
        prop.pop(key, None)
    prop["type"] = "boolean"
    field_ui.pop("ui:widget", None)


def _write_people(prop, field_ui, item):
    if item.get("multiple"):
        for key in ("format", "maxLength", "minLength"):
            prop.pop(key, None)
        if not isinstance(prop.get("items"), dict) or prop.get("type") != "array":
            prop["items"] = {"type": "string", "maxLength": 64}
        prop.update(type="array", uniqueItems=True)
        prop.setdefault("maxItems", PEOPLE_MAX_ITEMS)
    else:
        _string(prop, field_ui, max_length=64)
    field_ui["ui:widget"] = "people"
    options = dict(field_ui.get("ui:options") or {})
    role = str(item.get("role") or "").strip()
    if role:
        options["role"] = role
    else:
        options.pop("role", None)
    field_ui["ui:options"] = options


def _write_orgunit(prop, field_ui, item):
    _string(prop, field_ui, widget="orgunit")
    options = dict(field_ui.get("ui:options") or {})
    kinds = [str(k) for k in item.get("unit_kinds") or [] if str(k).strip()]
    if kinds:
        options["kinds"] = kinds
    else:
        options.pop("kinds", None)
    field_ui["ui:options"] = options


_KIND_WRITERS = {"text": _write_text, "textarea": _write_textarea, "integer": _write_number,
                 "number": _write_number, "date": _write_date, "select": _write_choice, "radio": _write_choice,
                 "checkboxes": _write_checkboxes, "yesno": _write_yesno, "checkbox": _write_checkbox,
                 "file": _write_file, "people": _write_people, "orgunit": _write_orgunit}


def pretty(doc: dict) -> str:
    """A form file as the repository writes them: two-space indents, Chinese as is, a final newline."""
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def new_form(title: str) -> tuple[dict, dict]:
    """A new form's two files: a titled schema with one text field."""
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title, "type": "object",
              "properties": {"comment": {"type": "string", "title": gettext("意见"), "maxLength": TEXTAREA_MAX_LENGTH}}}
    return schema, {"ui:order": ["comment"], "comment": {"ui:widget": "textarea"}}
