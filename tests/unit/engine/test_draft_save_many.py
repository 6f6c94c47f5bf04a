"""Saving several draft files at once (a form's schema and UI schema): all or none, one revision."""

from __future__ import annotations

import pytest

from engine.errors import ConcurrentUpdate, SpecInvalid
from tests.conftest import DATA, make_service


@pytest.fixture
def mini(sqlite_url, clock):
    service = make_service(sqlite_url, clock)
    service.deploy([DATA / "mini"], actor="owner")
    return service


def test_both_files_land_in_one_revision(mini):
    draft = mini.draft("mini", actor="owner")
    saved = mini.save_draft_files("mini", {"forms/new.schema.json": '{"type": "object"}',
                                           "forms/new.ui.json": "{}"}, "owner", draft.revision)
    assert saved.revision == draft.revision + 1
    assert saved.files["forms/new.schema.json"] == '{"type": "object"}' and saved.files["forms/new.ui.json"] == "{}"


def test_one_bad_file_or_a_stale_revision_saves_neither(mini):
    draft = mini.draft("mini", actor="owner")
    with pytest.raises(SpecInvalid) as refused:
        mini.save_draft_files("mini", {"forms/a.schema.json": "{}", "forms/a.ui.json": "{"}, "owner", draft.revision)
    assert refused.value.problems[0].file == "forms/a.ui.json"
    mini.save_draft_file("mini", "forms/b.ui.json", "{}", "other", draft.revision)
    with pytest.raises(ConcurrentUpdate):
        mini.save_draft_files("mini", {"forms/a.schema.json": "{}"}, "owner", draft.revision)
    files = mini.draft("mini").files
    assert "forms/a.schema.json" not in files and "forms/a.ui.json" not in files and "forms/b.ui.json" in files
