"""What a browser posts for rendered form fields, and the fields a person fills in with a scenario's answer."""

from __future__ import annotations

import json
from pathlib import Path

import lxml.html
from werkzeug.datastructures import MultiDict

from webui.formrender import FieldContext, render_form

FORMS = Path(__file__).resolve().parents[2] / "processes" / "consultation" / "forms"


def dom(html: str):
    """The rendered fields inside a <form>, as a browser's DOM."""
    return lxml.html.fragment_fromstring(str(html), create_parent="form")


def scrape(html: str) -> MultiDict:
    """What a browser would post for the rendered fields unchanged (no button pressed)."""
    pairs = []
    for element in dom(html).iter("input", "select", "textarea"):
        name = element.get("name")
        if not name or element.get("disabled") is not None:
            continue
        if element.tag == "input":
            kind = (element.get("type") or "text").lower()
            if kind in {"submit", "button", "reset", "image", "file"}:
                continue
            if kind in {"checkbox", "radio"} and element.get("checked") is None:
                continue
            pairs.append((name, element.get("value", "on")))
        elif element.tag == "select":
            options = element.findall(".//option")
            chosen = [o for o in options if o.get("selected") is not None]
            if not chosen and element.get("multiple") is None:
                chosen = options[:1]
            pairs += [(name, o.get("value", o.text_content())) for o in chosen]
        else:
            text = element.text or ""
            pairs.append((name, text[1:] if text.startswith("\n") else text))   # browsers drop one leading newline
    return MultiDict(pairs)


def filled_in(task_spec: str, answer: dict) -> MultiDict:
    """The consultation form of `task_spec` as a person who typed `answer` into it would post it."""
    schema = json.loads((FORMS / f"{task_spec}.schema.json").read_text(encoding="utf-8"))
    ui = json.loads((FORMS / f"{task_spec}.ui.json").read_text(encoding="utf-8"))
    return scrape(render_form(schema, ui, answer, {}, FieldContext(people={}, files={})))
