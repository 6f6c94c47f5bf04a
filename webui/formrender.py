"""Server-rendered HTML for a task's JSON-Schema form: labels, help, errors beside their fields, rows without JS.

The caller writes the `<form method="post" enctype="multipart/form-data">` (with the CSRF field and its own submit
buttons) around `render_form(...)`. A post carrying `_add` or `_remove` is a row action, not a submission:
`data = apply_row_action(schema, parse_form(...), row_action(request.form))`, then render again.
A kept upload comes back as the reference in a hidden field: accept it only if it is one the caller stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask_babel import gettext
from markupsafe import Markup

from engine.store.assignments import OTHER

from .formparse import (
    UPLOAD_MAX_BYTES,
    UPLOAD_TYPES,
    UploadRejected,
    apply_row_action,
    check_upload,
    choices,
    field_kind,
    field_type,
    ordered,
    parse_form,
    required_sets,
    row_action,
    token,
)

__all__ = ["FieldContext", "render_form", "parse_form", "apply_row_action", "row_action", "check_upload",
           "field_id", "UploadRejected", "UPLOAD_MAX_BYTES", "UPLOAD_TYPES"]

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
_DATE_VALUE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMBER_VALUE = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")
_EMPTY = Markup("")


@dataclass(frozen=True)
class FieldContext:
    """What a form needs besides its schema: people and org units to choose from and the current uploads, by field
    path."""

    people: dict[str, list[tuple[str, str]]] = field(default_factory=dict)     # path → (username, label)
    files: dict[str, str] = field(default_factory=dict)
    uploads: dict[str, tuple[str, str, str]] = field(default_factory=dict)   # reference → (name, size, URL)
    units: list[tuple] = field(default_factory=list)           # (code, name) or (code, name, group, tier)
    places: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)   # path → (code, name, group)
    unit_choices: dict[str, list[tuple[str, str]]] = field(default_factory=dict)   # per org-unit field (`a/*/b`)
    unit_names: dict[str, str] = field(default_factory=dict)   # code → name, for read-only org units


def field_id(path: str) -> str:
    """The HTML id of the field at `path` (`suggestions/0/text` → `f-suggestions--0--text`)."""
    return "f-" + "--".join(_ID_UNSAFE.sub(lambda m: f"_{ord(m.group()):x}", seg) for seg in path.split("/"))


def _attrs(attrs: dict) -> Markup:
    parts = []
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        name = key.rstrip("_").replace("_", "-")
        parts.append(Markup(" {}").format(name) if value is True else Markup(' {}="{}"').format(name, value))
    return _EMPTY.join(parts)


def _el(tag: str, content=None, **attrs) -> Markup:
    """An element; `content` None makes a void element; text content and attribute values are escaped."""
    if content is None:
        return Markup("<{}{}>").format(Markup(tag), _attrs(attrs))
    if isinstance(content, list | tuple):
        content = _EMPTY.join(content)
    return Markup("<{0}{1}>{2}</{0}>").format(Markup(tag), _attrs(attrs), content)


@dataclass
class _Render:
    errors: dict[str, list[str]]
    context: FieldContext
    used: set = field(default_factory=set)
    listed: list = field(default_factory=list)    # (field id, label, message) in page order
    anchors: dict = field(default_factory=dict)   # path -> (field id, label)
    has_rows: bool = False

    def take(self, path: str, fid: str, label: str, deep: bool) -> list[str]:
        """The messages for a field (and, for a list shown as one control, for its items)."""
        self.anchors[path] = (fid, label)
        keys = [k for k in self.errors if k == path or (deep and k.startswith(path + "/"))]
        messages = [str(m) for k in keys if k not in self.used for m in self.errors[k]]
        self.used.update(keys)
        self.listed += [(fid, label, m) for m in messages]
        return messages


def render_form(schema: dict, ui: dict | None, data: dict, errors: dict[str, list[str]],
                context: FieldContext) -> Markup:
    """The fields of `schema` filled with `data`, each with its messages from `errors`, and a summary on top."""
    render = _Render(dict(errors or {}), context or FieldContext())
    fresh = not data and not errors   # schema defaults only on a new form, never over what a person cleared
    body = _properties(render, "", schema, ui or {}, data or {}, fresh)
    intro = schema.get("description")
    parts = [_summary(render), _el("p", intro, class_="help form-intro") if intro else _EMPTY]
    if render.has_rows:   # Enter in a text box must submit, not press the first add/remove-row button
        parts.append(_el("button", "", type="submit", class_="form-default-submit", tabindex="-1",
                         aria_hidden="true"))
    return _el("div", [*parts, body], class_="xs-form")


def _summary(render: _Render) -> Markup:
    loose = []
    for key, messages in render.errors.items():
        if key not in render.used:
            anchor = next((render.anchors[p] for p in _prefixes(key) if p in render.anchors), (None, None))
            loose += [(*anchor, str(m)) for m in messages]
    items = [(_el("li", _el("a", Markup("{}：{}").format(label, message), href=f"#{fid}")) if fid
              else _el("li", message)) for fid, label, message in loose + render.listed]
    if not items:
        return _EMPTY
    heading = _el("h2", gettext("请修改以下 %(n)d 处问题后再提交", n=len(items)), id="error-summary-title")
    return _el("div", [heading, _el("ul", items)], class_="error-summary", id="error-summary", role="alert",
               tabindex="-1", aria_labelledby="error-summary-title")


def _prefixes(key: str) -> list[str]:
    parts = key.split("/")
    return ["/".join(parts[:n]) for n in range(len(parts), 0, -1)]


def _properties(render: _Render, prefix: str, schema: dict, ui: dict, data: dict, fresh: bool) -> Markup:
    required, conditional = required_sets(schema)
    properties = schema.get("properties") or {}
    out = []
    for name in ordered(properties, ui):
        prop, path = properties[name], f"{prefix}/{name}" if prefix else name
        mark = "req" if name in required else "cond" if name in conditional else None
        value = data.get(name, prop.get("default") if fresh else None) if isinstance(data, dict) else None
        out.append(_field(render, path, prop, ui.get(name) or {}, value, mark, fresh))
    return _EMPTY.join(out)


def _label(prop: dict, ui: dict, path: str) -> str:
    return str(ui.get("ui:title") or prop.get("title") or path.rsplit("/", 1)[-1])


def _heading(label: str, mark: str | None) -> Markup:
    if mark == "req":
        return Markup("{} {}").format(label, _el("abbr", "*", class_="req", title=gettext("必填")))
    if mark == "cond":
        return Markup("{} {}").format(label, _el("span", gettext("（条件必填）"), class_="cond"))
    return Markup("{}").format(label)


def _field(render, path, prop, ui, value, mark, fresh) -> Markup:
    kind = field_kind(prop, ui)
    if kind == "hidden":
        return _el("input", type="hidden", name=path, value=token(value))
    if prop.get("readOnly") and kind not in ("object", "rows"):
        return _read_only(render, path, prop, ui, kind, value)
    if kind == "object":
        legend = _el("legend", _heading(_label(prop, ui, path), mark))
        nested = _properties(render, path, prop, ui, value if isinstance(value, dict) else {}, fresh)
        return _el("fieldset", [legend, nested], class_="field object", id=field_id(path))
    if kind == "rows":
        return _rows(render, path, prop, ui, value, mark)
    if kind in ("people", "people_multi"):
        options = _people(render.context, path, value)
        if kind == "people":
            return _wrap(render, path, prop, ui, mark, _select(path, options, value, mark))
        if options:
            return _wrap(render, path, prop, ui, mark, _checks(path, options, value, "people-list"),
                         group=True, deep=True)
        kind = "lines"   # nobody to choose from: let usernames be typed, one a line
    if kind == "orgunit":
        options = ui.get("ui:options") or {}
        if options.get("kind"):
            groups = _places(render.context.places.get(path) or [], value, bool(options.get("other")))
            return _wrap(render, path, prop, ui, mark, _grouped(path, groups, value, mark))
        chosen = _chosen_units(render.context, path)
        groups = _kept([("", chosen)], value) if chosen is not None else _units(render.context, value)
        return _wrap(render, path, prop, ui, mark, _grouped(path, groups, value, mark, options.get("tier_field")))
    if kind in ("select", "radio"):
        options = [(token(v), t) for v, t in choices(prop, ui)]
        if kind == "select":
            return _wrap(render, path, prop, ui, mark, _select(path, options, value, mark))
        if mark is None:
            options.append(("", gettext("不填")))
        return _wrap(render, path, prop, ui, mark, _checks(path, options, value, "radios", radio=True), group=True)
    if kind == "checkboxes":
        options = [(token(v), t) for v, t in choices(prop.get("items") or {}, ui.get("items") or {})]
        return _wrap(render, path, prop, ui, mark, _checks(path, options, value, "checks"), group=True, deep=True)
    if kind == "checkbox":
        return _checkbox(render, path, prop, ui, value)
    if kind == "file":
        current = render.context.files.get(path) or (value if isinstance(value, str) else "")
        return _wrap(render, path, prop, ui, mark, _file(path, current, render.context.uploads.get(current)))
    if kind == "lines":
        ui = {"ui:help": gettext("每行填写一项"), **ui}
        lines = "\n".join(token(v) for v in value) if isinstance(value, list) else token(value)
        return _wrap(render, path, prop, ui, mark, _textarea(path, lines, mark, ui), deep=True)
    if kind == "textarea":
        return _wrap(render, path, prop, ui, mark, _textarea(path, token(value), mark, ui))
    return _wrap(render, path, prop, ui, mark, _input(path, prop, ui, kind, value, mark))


def _wrap(render, path, prop, ui, mark, control, group=False, deep=False) -> Markup:
    """Label (or legend), help, the control, and the field's messages right under it."""
    fid, label = field_id(path), _label(prop, ui, path)
    messages = render.take(path, fid, label, deep)
    help_text = ui.get("ui:help") or ui.get("ui:description") or prop.get("description")
    described = " ".join(i for i, on in ((f"{fid}-help", help_text), (f"{fid}-error", messages)) if on) or None
    help_html = _el("p", help_text, class_="help", id=f"{fid}-help") if help_text else _EMPTY
    error_html = _el("div", [_el("p", m) for m in messages], class_="field-error", id=f"{fid}-error") \
        if messages else _EMPTY
    classes = "field has-error" if messages else "field"
    body = control(fid, described, bool(messages))
    if group:
        legend = _el("legend", _heading(label, mark))
        return _el("fieldset", [legend, help_html, body, error_html], class_=f"{classes} group",
                   aria_describedby=described)
    heading = _el("label", _heading(label, mark), for_=fid)
    return _el("div", [heading, help_html, body, error_html], class_=classes)


def _aria(fid, described, invalid, mark) -> dict:
    return {"id": fid, "aria_describedby": described, "aria_invalid": "true" if invalid else None,
            "aria_required": "true" if mark == "req" else None}


def _input(path, prop, ui, kind, value, mark):
    def control(fid, described, invalid):
        attrs = {"type": "text", "name": path, "value": token(value), "placeholder": ui.get("ui:placeholder"),
                 "readonly": bool(ui.get("ui:readonly") or prop.get("readOnly")),
                 **_aria(fid, described, invalid, mark)}
        text = attrs["value"]
        if kind == "date" and (not text or _DATE_VALUE.match(text)):
            attrs["type"] = "date"
        elif kind == "date":   # something a date box would blank out: show it as typed, with the expected form
            attrs["placeholder"] = "YYYY-MM-DD"
        elif kind == "number" and (not text or _NUMBER_VALUE.match(text)):
            integer = field_type(prop) == "integer"
            attrs.update(type="number", step=(ui.get("ui:options") or {}).get("step", "1" if integer else "any"),
                         min=prop.get("minimum"), max=prop.get("maximum"),
                         inputmode="numeric" if integer else "decimal")
        elif kind == "number":
            attrs["inputmode"] = "decimal"
        else:
            attrs["type"] = {"email": "email", "uri": "url"}.get(prop.get("format"), "text")
        return _el("input", **attrs)

    return control


def _textarea(path, text, mark, ui):
    rows = (ui.get("ui:options") or {}).get("rows", 4)

    def control(fid, described, invalid):
        # the leading newline is eaten by HTML parsers, so text that starts with one survives
        return _el("textarea", Markup("\n{}").format(text), name=path, rows=rows,
                   placeholder=ui.get("ui:placeholder"), **_aria(fid, described, invalid, mark))

    return control


def _select(path, options, value, mark):
    chosen = token(value)

    def control(fid, described, invalid):
        items = [_el("option", gettext("请选择"), value="")]
        items += [_el("option", title, value=v, selected=v == chosen) for v, title in options]
        return _el("select", items, name=path, **_aria(fid, described, invalid, mark))

    return control


def _grouped(path, groups, value, mark, tier_field=None):
    """A select whose options sit in labelled groups (`<optgroup>`); an option may carry the tier it fits, and
    `tier_field` names the radio group forms.js narrows it by (the server checks the pair either way)."""
    chosen = token(value)

    def control(fid, described, invalid):
        items = [_el("option", gettext("请选择"), value="")]
        for label, options in groups:
            tags = [_el("option", title, value=v, selected=v == chosen, data_tier=tier)
                    for v, title, tier in options]
            items.append(_el("optgroup", tags, label=label) if label else _EMPTY.join(tags))
        return _el("select", items, name=path, data_tier_field=tier_field, **_aria(fid, described, invalid, mark))

    return control


def _checks(path, options, value, style, radio=False):
    """Radios (one value) or checkboxes (a list): the first gets the field's id, the others id-1, id-2 …"""
    chosen = {token(value)} if radio else {token(v) for v in value} if isinstance(value, list) else set()
    if radio and value is None:
        chosen = {""} if any(v == "" for v, _t in options) else set()

    def control(fid, described, invalid):
        boxes = []
        for number, (option, title) in enumerate(options):
            box_id = fid if number == 0 else f"{fid}-{number}"
            box = _el("input", type="radio" if radio else "checkbox", name=path, value=option, id=box_id,
                      checked=option in chosen, aria_invalid="true" if invalid else None)
            boxes.append(_el("label", Markup("{}{}").format(box, _choice_text(title, style)), for_=box_id))
        hint = gettext("输入姓名或单位筛选") if style == "people-list" else None   # forms.js adds a filter box
        return _el("div", boxes, class_=f"choices {style}", data_filter=hint)

    return control


def _choice_text(title: str, style: str) -> Markup:
    """A choice's words; a person's name stands out, their unit and role under it (the separator stays in the
    text, so copying or filtering reads "name · unit · role")."""
    name, _sep, rest = title.partition(" · ") if style == "people-list" else (title, "", "")
    if not rest:
        return _el("span", title)
    return _el("span", [name, _el("span", " · ", class_="sep"), _el("small", rest)], class_="person")


def _checkbox(render, path, prop, ui, value):
    fid, label = field_id(path), _label(prop, ui, path)
    messages = render.take(path, fid, label, False)
    help_text = ui.get("ui:help") or ui.get("ui:description") or prop.get("description")
    described = " ".join(i for i, on in ((f"{fid}-help", help_text), (f"{fid}-error", messages)) if on) or None
    box = _el("input", type="checkbox", name=path, value="true", checked=value is True,
              **_aria(fid, described, bool(messages), None))
    parts = [_el("label", Markup("{}{}").format(box, _el("span", label)), for_=fid, class_="check")]
    if help_text:
        parts.append(_el("p", help_text, class_="help", id=f"{fid}-help"))
    if messages:
        parts.append(_el("div", [_el("p", m) for m in messages], class_="field-error", id=f"{fid}-error"))
    return _el("div", parts, class_="field has-error" if messages else "field")


def _file(path, current, stored=None):
    """A file input; a kept upload shows its original name (a download link when stored) and travels hidden."""
    accept = ",".join(sorted(UPLOAD_TYPES))

    def control(fid, described, invalid):
        parts = [_el("input", type="file", name=path, accept=accept, **_aria(fid, described, invalid, None))]
        if current and stored:
            name, size, url = stored
            link = Markup("{}（{}）").format(_el("a", name, href=url), size)
            parts.append(_el("p", Markup(gettext("已上传：%(name)s（选择新文件将替换它）", name=link)),
                             class_="uploaded"))
            parts.append(_el("input", type="hidden", name=path, value=current))
        elif current:
            name = current.rsplit("/", 1)[-1]
            parts.append(_el("p", gettext("已上传：%(name)s（选择新文件将替换它）", name=name), class_="uploaded"))
            parts.append(_el("input", type="hidden", name=path, value=current))
        else:
            limit = UPLOAD_MAX_BYTES // (1024 * 1024)
            parts.append(_el("p", gettext("PDF、图片、Word 或 Excel，不超过 %(limit)d MB", limit=limit),
                             class_="help"))
        return _EMPTY.join(parts)

    return control


def _people(context: FieldContext, path: str, value) -> list[tuple[str, str]]:
    """The people offered for a field; anyone already chosen but no longer offered stays, so nothing is lost."""
    offered = context.people.get(path) or context.people.get(re.sub(r"/\d+(?=/|$)", "/*", path)) or []
    options = [(str(user), str(name)) for user, name in offered]
    known = {user for user, _name in options}
    chosen = value if isinstance(value, list) else [value] if isinstance(value, str) and value else []
    return options + [(str(user), str(user)) for user in chosen if str(user) not in known]


def _read_only(render, path, prop, ui, kind, value) -> Markup:
    """A value the person sees but does not change (the engine keeps the task's own): as words, carried hidden."""
    shown = token(value)
    if kind == "orgunit":
        shown = render.context.unit_names.get(shown, shown)
    elif kind in ("select", "radio"):
        shown = dict((token(v), t) for v, t in choices(prop, ui)).get(shown, shown)

    def control(fid, described, invalid):
        return _EMPTY.join([_el("p", shown or "—", id=fid, class_="read-only", aria_describedby=described),
                            _el("input", type="hidden", name=path, value=token(value))])

    return _wrap(render, path, prop, ui, None, control, group=False)


def _units(context: FieldContext, value) -> list[tuple[str, list]]:
    """The org units offered by name, in their groups (county, committees, sectors, townships); a value not offered
    stays as it was sent, so nothing is lost (the server names the problem)."""
    groups: dict[str, list] = {}
    for unit in context.units:
        code, name, group, tier = (*unit, "", None)[:4]
        groups.setdefault(str(group or ""), []).append((code, name, tier))
    return _kept(list(groups.items()), value)


def _places(places: list[tuple[str, str, str]], value, other: bool) -> list[tuple[str, list]]:
    """The places offered, grouped by where they are; "other" last when a written-out place is allowed."""
    groups: dict[str, list] = {}
    for code, name, group in places:
        groups.setdefault(str(group or ""), []).append((code, name, None))
    listed = list(groups.items())
    if other:
        listed.append(("", [(OTHER, gettext("其他地点（在下方填写）"), None)]))
    return _kept(listed, value)


def _kept(groups: list[tuple[str, list]], value) -> list[tuple[str, list]]:
    if isinstance(value, str) and value and all(value != code for _g, opts in groups for code, _n, _t in opts):
        groups = [*groups, ("", [(value, value, None)])]
    return groups


def _chosen_units(context: FieldContext, path: str) -> list | None:
    """The units a field of its own kinds offers (`ui:options.kinds`, rows included), or None for the platform
    units."""
    offered = context.unit_choices.get(path) or context.unit_choices.get(re.sub(r"/\d+(?=/|$)", "/*", path))
    return None if offered is None else [(code, name, None) for code, name in offered]


def _rows(render, path, prop, ui, value, mark) -> Markup:
    """A fieldset per row, numbered, each with a remove button; an add button after them (no JS needed)."""
    render.has_rows = True
    fid, label = field_id(path), _label(prop, ui, path)
    messages = render.take(path, fid, label, False)
    items, item_ui = prop.get("items") or {}, ui.get("items") or {}
    title = str(items.get("title") or label)
    options = ui.get("ui:options") or {}
    addable, removable = options.get("addable", True) is not False, options.get("removable", True) is not False
    rows = [row if isinstance(row, dict) else {} for row in value] if isinstance(value, list) and value else [{}]
    help_text = ui.get("ui:help") or prop.get("description")
    described = " ".join(i for i, on in ((f"{fid}-help", help_text), (f"{fid}-error", messages)) if on) or None
    parts = [_el("legend", _heading(label, mark))]
    if help_text:
        parts.append(_el("p", help_text, class_="help", id=f"{fid}-help"))
    if messages:
        parts.append(_el("div", [_el("p", m) for m in messages], class_="field-error", id=f"{fid}-error"))
    for index, row in enumerate(rows):
        row_path = f"{path}/{index}"
        number = f"{title} {index + 1}"
        remove = _el("button", gettext("删除"), type="submit", name="_remove", value=row_path, formnovalidate=True,
                     class_="row-remove danger", aria_label=gettext("删除%(row)s", row=number))
        parts.append(_el("fieldset", [_el("legend", number, class_="row-number"),
                                      _el("input", type="hidden", name=path, value=str(index)),
                                      _properties(render, row_path, items, item_ui, row, False),
                                      remove if removable else _EMPTY],
                         class_="row", id=field_id(row_path), data_index=str(index)))
    full = len(rows) >= prop.get("maxItems", len(rows) + 1)
    if addable:
        parts.append(_el("button", gettext("＋ 添加%(title)s", title=title), type="submit", name="_add", value=path,
                         formnovalidate=True, class_="row-add", disabled=full))
    return _el("fieldset", parts, class_="field rows has-error" if messages else "field rows", id=fid,
               aria_describedby=described, data_path=path, data_id=fid, data_max=prop.get("maxItems"),
               data_title=title)
