"""The header menu: entries and groups of entries (a group opens as a list, <details>, so it works without script and
from the keyboard); what a person sees is what the policy lets them use, on the pages this app has."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flask import Flask, g

Rule = Callable[[object], bool] | None      # may this signed-in person use the entry (None: everyone signed in)


@dataclass(frozen=True)
class Group:
    """Entries shown together under one label; a group left with one entry shows as that entry."""

    label: object                   # a lazy string
    entries: Sequence[tuple[str, object, Rule]]


@dataclass(frozen=True)
class Item:
    """One visible menu entry: a link (`endpoint`), or a group (`children`, each a link)."""

    label: str
    endpoint: str | None = None
    children: tuple[Item, ...] = ()

    @property
    def areas(self) -> frozenset[str]:
        """The blueprints whose pages light this entry up."""
        endpoints = [self.endpoint] if self.endpoint else [child.endpoint for child in self.children]
        return frozenset(endpoint.split(".")[0] for endpoint in endpoints)


def visible(app: Flask, menu: Sequence, user) -> list[Item]:
    """The entries of `menu` (triples and `Group`s) that `user` may use and this app has."""
    def allowed(endpoint: str, rule: Rule) -> bool:
        return endpoint in app.view_functions and (rule is None or (user is not None and rule(user)))

    items = []
    for entry in menu:
        if isinstance(entry, Group):
            children = tuple(Item(str(label), endpoint) for endpoint, label, rule in entry.entries
                             if allowed(endpoint, rule))
            if len(children) > 1:
                items.append(Item(str(entry.label), children=children))
            else:
                items.extend(children)
        elif allowed(entry[0], entry[2]):
            items.append(Item(str(entry[1]), entry[0]))
    return items


def items_for(app: Flask, menu: Sequence) -> Callable[[], list[Item]]:
    """The templates' `nav_items()`: the menu of the signed-in person."""
    return lambda: visible(app, menu, g.get("user"))
