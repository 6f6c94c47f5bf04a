"""The case file (卷宗) as HTML: each submitted form read-only from its JSON schema and UI schema, grouped by step,
the newest open. Generic: any process's forms render without templates of their own."""

from __future__ import annotations

import re
from functools import partial

from flask import render_template, url_for
from flask_babel import gettext
from markupsafe import Markup

from engine.store.assignments import OTHER

from .files import size_text
from .formparse import choices, field_kind, ordered
from .formrender import _el
from .labels import role_names

_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_EMPTY = Markup("")


def render_case(casefile, org_names: dict, shown_task: str | None = None) -> Markup:
    """The case file's HTML; the form submitted on `shown_task` (the task page's own task) is marked."""
    if casefile is None or not casefile.entries:
        return _EMPTY
    values = partial(entry_values, people=casefile.people, units=org_names, files=casefile.files)
    return Markup(render_template("casefile/case.html", case=casefile, values=values, shown_task=shown_task))


def submitted_values(casefile, org_names: dict, task_id: str) -> Markup:
    """What was submitted on one finished task, read-only; empty when nothing was (or it was not recorded)."""
    entry = casefile.entry_of(task_id) if casefile is not None else None
    return entry_values(entry, casefile.people, org_names, casefile.files) if entry is not None else _EMPTY


def entry_values(entry, people: dict, units: dict, files: dict | None = None) -> Markup:
    """One submitted form as a definition list: labels, chosen titles, names, dates, lists, tables and file links."""
    render = _Reader(people, units, files or {})
    body = render.properties(entry.schema, entry.ui, entry.data)
    notes = [_withheld(entry)] if entry.hidden else []
    if not body and not notes:
        return _el("p", gettext("（未填写内容）"), class_="muted")
    return _EMPTY.join([_el("dl", body, class_="case-values") if body else _EMPTY, *notes])


def _withheld(entry) -> Markup:
    """Which fields were left out for this viewer, and who may see them."""
    properties, names = entry.schema.get("properties") or {}, role_names()
    fields = [_label(properties.get(n, {}), entry.ui.get(n) or {}, n) for n in entry.hidden]
    roles = {role for n in entry.hidden for role in (entry.ui.get(n) or {}).get("ui:audience", ())}
    text = gettext("%(fields)s 仅对%(roles)s可见。", fields="、".join(fields),
                   roles="、".join(names.get(r, r) for r in sorted(roles)))
    return _el("p", text, class_="muted withheld")


def _label(prop: dict, ui: dict, name: str) -> str:
    return str(ui.get("ui:title") or prop.get("title") or name)


def _empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


class _Reader:
    """Reads values as a person would: titles for codes, names for usernames and org units."""

    def __init__(self, people: dict, units: dict, files: dict):
        self.people, self.units, self.files = people, units, files

    def properties(self, schema: dict, ui: dict, data: dict) -> Markup:
        properties = schema.get("properties") or {}
        rows = []
        for name in ordered(properties, ui):
            prop, options, value = properties[name], ui.get(name) or {}, data.get(name)
            if _empty(value) or field_kind(prop, options) == "hidden":
                continue
            rows += [_el("dt", _label(prop, options, name)), _el("dd", self.value(prop, options, value))]
        return _EMPTY.join(rows)

    def value(self, prop: dict, ui: dict, value) -> Markup:
        kind = field_kind(prop, ui)
        if kind == "object" and isinstance(value, dict):
            return _el("dl", self.properties(prop, ui, value), class_="case-values nested")
        if kind == "rows" and isinstance(value, list):
            return self.table(prop.get("items") or {}, ui.get("items") or {}, value)
        if isinstance(value, list):
            items = [self.scalar(prop.get("items") or {}, ui.get("items") or {}, kind, v) for v in value]
            return _el("ul", [_el("li", item) for item in items], class_="case-list")
        return self.scalar(prop, ui, kind, value)

    def scalar(self, prop: dict, ui: dict, kind: str, value) -> Markup:
        if kind in ("people", "people_multi"):
            return Markup("{}").format(self.people.get(value, value))
        if kind == "orgunit":    # "other": a place written out in the field after it
            return Markup("{}").format(self.units.get(value) or (gettext("其他地点") if value == OTHER else value))
        for option, title in choices(prop, ui) or []:
            if option == value and not (isinstance(option, bool) ^ isinstance(value, bool)):
                return Markup("{}").format(title)
        if isinstance(value, bool):
            return Markup("{}").format(gettext("是") if value else gettext("否"))
        if isinstance(value, str) and _DATE.match(value):
            year, month, day = (int(part) for part in _DATE.match(value).groups())
            return Markup("{}").format(gettext("%(y)d年%(m)d月%(d)d日", y=year, m=month, d=day))
        if kind == "file" and value in self.files:
            name, size = self.files[value]
            link = _el("a", name, href=url_for("files.download", upload_id=value), class_="file-link")
            return Markup("{}（{}）").format(link, size_text(size))
        if kind == "file":
            return _el("span", gettext("（文件已不存在）"), class_="file-ref muted")
        text = str(value)
        return _el("div", text, class_="long") if "\n" in text or len(text) > 80 else Markup("{}").format(text)

    def table(self, items: dict, ui: dict, rows: list) -> Markup:
        properties = items.get("properties") or {}
        names = [n for n in ordered(properties, ui) if field_kind(properties[n], ui.get(n) or {}) != "hidden"
                 and any(isinstance(r, dict) and not _empty(r.get(n)) for r in rows)]
        head = _el("thead", _el("tr", [_el("th", _label(properties[n], ui.get(n) or {}, n)) for n in names]))
        body = [_el("tr", [_el("td", self.value(properties[n], ui.get(n) or {}, r.get(n))
                                if not _empty(r.get(n)) else "—",
                                data_label=_label(properties[n], ui.get(n) or {}, n)) for n in names])
                for r in rows if isinstance(r, dict)]
        return _el("table", [head, _el("tbody", body)], class_="stack case-table")
