"""What a form's pickers offer: people by name and unit, the platform units in their groups, the places (halls)
of the case's unit; for the task page and the start page alike."""

from __future__ import annotations

from flask_babel import lazy_gettext

from domain.people import roles
from domain.people.labels import PersonChoice
from engine.store.assignments import anywhere_fields, org_unit_fields, people_fields, place_fields

from .formrender import FieldContext

# The platform units' groups, in the order a person looks for them (县政协 / 专委会 / 界别 / 乡镇).
UNIT_GROUPS = {"county": lazy_gettext("县政协"), "committee": lazy_gettext("专门委员会"),
               "sector": lazy_gettext("界别小组"), "township": lazy_gettext("乡镇")}
# What a person is where they are listed: their role, or a member's kind of seat.
ROLE_WORDS = {**{code: lazy_gettext(name) for code, name in roles.ROLE_NAMES.items()},
              "member:municipal": lazy_gettext("市政协委员"), "member:county": lazy_gettext("县政协委员"),
              "member:advisor": lazy_gettext("资政员"), "member:": lazy_gettext("政协委员")}


def label(choice: PersonChoice) -> str:
    """"王建国 · 巡场镇 · 县政协委员": name, unit and what they are there; the name alone when they hold no role."""
    word = ROLE_WORDS.get(choice.role, ROLE_WORDS["member:"] if choice.role.startswith("member:") else choice.role)
    return " · ".join(str(part) for part in (choice.name, choice.unit, word) if part)


def labelled(choices: list[PersonChoice]) -> list[tuple[str, str]]:
    """(username, label) pairs for a select or a list of boxes."""
    return [(choice.username, label(choice)) for choice in choices]


def field_context(accounts, form: dict | None, ui: dict | None, org_unit: str | None,
                  uploads: dict) -> FieldContext:
    """People pickers offer those who may act as the field's role in `org_unit` (members by default; a field
    scoped `anywhere`: holders in any unit); org-unit pickers the platform units; place pickers the places of
    `org_unit`."""
    anywhere = anywhere_fields(form, ui)
    people = {}
    for path, role in people_fields(form, ui).items():
        people[path] = labelled(accounts.offered_anywhere(role) if path in anywhere and role
                                else accounts.offered(role or "member", org_unit))
    every = accounts.org_units()
    units = sorted(every, key=lambda u: list(UNIT_GROUPS).index(u.kind) if u.kind in UNIT_GROUPS
                   else len(UNIT_GROUPS))
    platform = [(u.code, u.name, str(UNIT_GROUPS[u.kind]), u.tier) for u in units if u.kind in UNIT_GROUPS]
    places = {path: accounts.places(options["kind"], org_unit) for path, options in place_fields(form, ui).items()}
    unit_choices = {path: [(u.code, u.name) for u in every if u.kind in kinds]
                    for path, kinds in org_unit_fields(form, ui).items() if kinds}
    return FieldContext(people=people, files={}, units=platform, places=places, uploads=uploads,
                        unit_choices=unit_choices, unit_names={u.code: u.name for u in every})
