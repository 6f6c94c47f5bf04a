"""Checks of a form as the studio's editor sends it: both files parsed within the engine's limits, the JSON Schema
valid, nothing the engine refuses, a UI schema the renderer can draw; each problem named in the reader's language
with its JSON path (`$.properties.age.type`)."""

from __future__ import annotations

import json

from flask_babel import gettext, lazy_gettext
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from engine.bpmn.formschema import MAX_FORM_BYTES, FormFileInvalid, load_form, schema_problems

from .formdesign import MAX_FIELDS, MAX_OPTIONS, FormProblem, FormRefused
from .formdesign import json_path as _path

WIDGETS = {"textarea", "date", "radio", "select", "file", "people", "orgunit", "hidden", "checkboxes", "text",
           "checkbox", "updown"}
_TYPE_WORDS = {"object": lazy_gettext("对象"), "array": lazy_gettext("列表"), "string": lazy_gettext("文字"),
               "boolean": lazy_gettext("真假值"), "number": lazy_gettext("数字"), "integer": lazy_gettext("整数"),
               "null": lazy_gettext("空值")}


def parse_texts(schema_text: str, ui_text: str) -> tuple[dict, dict]:
    """Both files parsed within the engine's limits; FormRefused naming the file, line and column otherwise."""
    docs, problems = [], []
    for name, text in ((gettext("JSON Schema"), schema_text), (gettext("界面设置（UI schema）"), ui_text)):
        raw = (text if isinstance(text, str) else "").encode()
        try:
            doc = load_form(raw) if raw.strip() else {}
        except FormFileInvalid as exc:
            problems.append(FormProblem("$", _parse_message(name, str(exc), text, raw)))
            docs.append(None)
            continue
        if not isinstance(doc, dict):
            problems.append(FormProblem("$", gettext("%(file)s必须是一个 JSON 对象（{ … }）", file=name)))
        docs.append(doc)
    if problems:
        raise FormRefused(problems)
    return docs[0], docs[1]


def _parse_message(name: str, detail: str, text: str, raw: bytes) -> str:
    if len(raw) > MAX_FORM_BYTES:
        return gettext("%(file)s有 %(size)d 字节，上限为 %(limit)d 字节", file=name, size=len(raw),
                       limit=MAX_FORM_BYTES)
    try:
        json.loads(text)
    except ValueError as exc:
        return gettext("%(file)s第 %(line)d 行第 %(col)d 列：JSON 格式错误（%(detail)s）", file=name,
                       line=exc.lineno, col=exc.colno, detail=exc.msg)
    return gettext("%(file)s无法读取：%(detail)s", file=name, detail=detail)


def form_problems(schema: dict, ui: dict) -> list[FormProblem]:
    """What keeps the renderer or the engine from using this form, each with its JSON path."""
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return [FormProblem(_path(*exc.path), _schema_message(exc))]
    problems = []
    if schema.get("type", "object") != "object":
        problems.append(FormProblem(_path("type"), gettext("表单的 type 必须是 \"object\"")))
    properties = schema.get("properties") or {}
    if len(properties) > MAX_FIELDS:
        problems.append(FormProblem(_path("properties"), gettext("一个表单最多 %(n)d 个字段，现有 %(count)d 个",
                                                                 n=MAX_FIELDS, count=len(properties))))
    for key, prop in properties.items():
        if not isinstance(prop, dict):
            problems.append(FormProblem(_path("properties", key), gettext("字段定义必须是一个对象（{ … }）")))
            continue
        many = [prop.get("enum"), prop.get("oneOf"), (prop.get("items") or {}).get("oneOf")
                if isinstance(prop.get("items"), dict) else None]
        if any(isinstance(m, list) and len(m) > MAX_OPTIONS for m in many):
            problems.append(FormProblem(_path("properties", key), gettext("一个字段最多 %(n)d 个选项",
                                                                          n=MAX_OPTIONS)))
    problems += [FormProblem(_pointer_path(message), gettext("引擎不接受的写法：%(detail)s", detail=message))
                 for message in schema_problems(schema)[0]]
    return problems + _ui_problems(ui, properties)


def _pointer_path(message: str) -> str:
    pointer = message.split(":", 1)[0]
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:] if p]
    return _path(*(int(p) if p.isdigit() else p for p in parts))


def _schema_message(exc: SchemaError) -> str:
    last = exc.path[-1] if exc.path else None
    if exc.validator == "type":
        wanted = exc.validator_value if isinstance(exc.validator_value, list) else [exc.validator_value]
        words = "、".join(str(_TYPE_WORDS.get(w, w)) for w in wanted)
        return gettext("这里应为%(words)s", words=words)
    if last == "type":
        return gettext("不是有效的类型；可用 string、number、integer、boolean、array、object、null")
    if exc.validator in ("minItems", "uniqueItems") and isinstance(exc.instance, list):
        return gettext("列表不能为空，也不能有重复项")
    return gettext("不符合 JSON Schema 规范：%(detail)s", detail=exc.message)


def _ui_problems(ui: dict, properties: dict) -> list[FormProblem]:
    problems = []
    order = ui.get("ui:order")
    if order is not None and not (isinstance(order, list) and all(isinstance(n, str) for n in order)):
        problems.append(FormProblem("$['ui:order']", gettext("ui:order 必须是字段名的列表")))
    for key, entry in ui.items():
        if key.startswith("ui:"):
            continue
        if not isinstance(entry, dict):
            problems.append(FormProblem(_path(key), gettext("字段“%(key)s”的界面设置必须是一个对象", key=key)))
            continue
        problems += _ui_entry_problems(entry, (key,))
        if key not in properties:
            problems.append(FormProblem(_path(key), gettext("界面设置里的“%(key)s”不是表单中的字段", key=key)))
    return problems


def _ui_entry_problems(entry: dict, at: tuple) -> list[FormProblem]:
    problems = []
    widget = entry.get("ui:widget")
    if widget is not None and widget not in WIDGETS:
        problems.append(FormProblem(_path(*at, "ui:widget"), gettext(
            "未知的控件“%(widget)s”；可用：%(known)s", widget=str(widget)[:40], known="、".join(sorted(WIDGETS)))))
    for key, kind, words in (("ui:options", dict, gettext("对象")), ("ui:enumNames", list, gettext("列表")),
                             ("ui:audience", list, gettext("列表")), ("items", dict, gettext("对象")),
                             ("ui:help", str, gettext("文字")), ("ui:placeholder", str, gettext("文字")),
                             ("ui:title", str, gettext("文字"))):
        if key in entry and not isinstance(entry[key], kind):
            problems.append(FormProblem(_path(*at, key), gettext("%(key)s 应为%(words)s", key=key, words=words)))
    if isinstance(entry.get("ui:options"), dict):
        problems += _option_value_problems(entry["ui:options"], (*at, "ui:options"))
    if isinstance(entry.get("ui:audience"), list) and not all(isinstance(r, str) for r in entry["ui:audience"]):
        problems.append(FormProblem(_path(*at, "ui:audience"), gettext("ui:audience 应为角色名的列表")))
    if isinstance(entry.get("items"), dict):
        problems += _ui_entry_problems(entry["items"], (*at, "items"))
    for key, nested in entry.items():
        if key.startswith("ui:") or key == "items":
            continue
        if isinstance(nested, dict):
            problems += _ui_entry_problems(nested, (*at, key))
        else:
            problems.append(FormProblem(_path(*at, key), gettext("字段“%(key)s”的界面设置必须是一个对象", key=key)))
    return problems


# What each ui:options key the renderer and the pickers read must be (webui/formrender.py, engine/store/assignments.py).
_OPTION_TYPES = {"role": (str,), "scope": (str,), "kind": (str,), "tier_field": (str,), "other": (bool,),
                 "addable": (bool,), "removable": (bool,), "rows": (int,), "step": (str, int, float)}


def _option_value_problems(options: dict, at: tuple) -> list[FormProblem]:
    problems = []
    for key, kinds in _OPTION_TYPES.items():
        value = options.get(key)
        if key in options and (not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)):
            problems.append(FormProblem(_path(*at, key), gettext("%(key)s 的值类型不对", key=key)))
    kinds = options.get("kinds")
    if "kinds" in options and not (isinstance(kinds, list) and all(isinstance(k, str) for k in kinds)):
        problems.append(FormProblem(_path(*at, "kinds"), gettext("kinds 应为单位类别名的列表")))
    return problems
