"""Restricted form fields (`ui:audience`): who may see them on an instance of which org unit."""

from __future__ import annotations

import json

import pytest

from domain.people.accounts import UserView
from domain.people.policy import audiences, hidden_fields, may_see_field
from tests.conftest import CONSULTATION

AUDIENCE = ("office", "organizer", "supervisor")


def person(*memberships: tuple[str, str]) -> UserView:
    return UserView("someone", "某人", True, tuple(memberships))


@pytest.mark.parametrize("memberships, sees", [
    ((("office", "county"),), True),
    ((("organizer", "township_xunchang"),), True),          # the instance's platform organizer
    ((("supervisor", "township_xunchang"),), True),
    ((("supervisor", "county"),), True),                    # county supervisors oversee every tier
    ((("organizer", "township_luodu"),), False),            # another platform's organizer
    ((("organizer", "county"),), False),                    # an organizer is staff of their own unit only
    ((("member", "township_xunchang"),), False),
    ((("platform_lead", "township_xunchang"), ("member", "county")), False),
    ((("admin", "county"),), False),
])
def test_who_sees_a_field_for_the_office_organizer_and_supervisors(memberships, sees):
    assert may_see_field(person(*memberships), AUDIENCE, "township_xunchang") is sees


def test_the_intakes_contact_fields_name_their_audience():
    ui = json.loads((CONSULTATION / "forms" / "intake.ui.json").read_text(encoding="utf-8"))
    assert audiences(ui) == {"contact_name": AUDIENCE, "contact_phone": AUDIENCE}
    assert hidden_fields(person(("member", "county")), audiences(ui), "county") == {"contact_name", "contact_phone"}
    assert hidden_fields(person(("office", "county")), audiences(ui), "township_xunchang") == frozenset()
    assert audiences({"title": {"ui:widget": "textarea"}, "ui:order": ["*"]}) == {}
