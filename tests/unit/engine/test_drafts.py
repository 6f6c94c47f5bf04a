"""Process drafts (the studio's editable copy): started from the newest version or blank, every save well-formed and
checked against the revision it was made on, validated with every problem named, deployed as a new version."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.errors import ConcurrentUpdate, InvalidState, NotFound, SpecInvalid
from engine.store.models import AuditEvent, ProcessDraft, ProcessVersion
from tests.conftest import DATA, make_service

MINI = DATA / "mini"


@pytest.fixture
def mini(service):
    service.deploy([MINI], actor="owner")
    return service


@pytest.fixture
def mini_sqlite(sqlite_url, clock):
    """The mini process on SQLite only (for checks that involve no database behaviour)."""
    service = make_service(sqlite_url, clock)
    service.deploy([MINI], actor="owner")
    return service


def test_a_draft_starts_from_the_newest_version_and_is_kept_across_opens(mini):
    draft = mini.draft("mini", actor="owner")
    assert "mini.bpmn" in draft.files and any(p.endswith(".schema.json") for p in draft.files)
    assert draft.revision == 1 and draft.base_version_id is not None
    text = draft.files["mini.bpmn"].replace('name="审核"', 'name="初审"')
    saved = mini.save_draft_file("mini", "mini.bpmn", text, "owner", draft.revision)
    assert saved.revision == 2
    assert mini.draft("mini").files["mini.bpmn"] == text           # a second open sees the saved text
    with pytest.raises(NotFound):
        mini.draft("nothing_deployed")


def test_a_save_made_on_an_old_revision_is_refused_and_changes_nothing(mini):
    draft = mini.draft("mini")
    mini.save_draft_file("mini", "extra.schema.json", '{"type": "object"}', "owner", draft.revision)
    with pytest.raises(ConcurrentUpdate, match="saved by owner after you opened it"):
        mini.save_draft_file("mini", "mini.bpmn", "<x/>", "owner2", draft.revision)
    assert mini.draft("mini").files["mini.bpmn"] == draft.files["mini.bpmn"]


@pytest.mark.parametrize(("path", "text", "message"), [
    ("../etc/passwd.json", "{}", "invalid file name"),
    ("/abs.bpmn", "<x/>", "invalid file name"),
    ("notes.txt", "hi", "invalid file name"),
    ("form.schema.json", "{not json", "not valid JSON"),
    ("mini.bpmn", "<a><b></a>", "not well-formed XML"),
    ("mini.bpmn", '<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>', "DOCTYPE and ENTITY"),
    ("big.dmn", "<x>" + "a" * 2_000_001 + "</x>", "the limit is 2,000,000 bytes"),
])
def test_files_the_editors_could_not_reopen_are_refused_by_name(mini_sqlite, path, text, message):
    draft = mini_sqlite.draft("mini")
    with pytest.raises(SpecInvalid, match=message):
        mini_sqlite.save_draft_file("mini", path, text, "owner", draft.revision)
    assert mini_sqlite.draft("mini").revision == draft.revision


def test_a_new_process_starts_blank_validates_and_deploys(service):
    draft = service.create_process("site_visit", "  视察  活动 ", "owner")
    assert list(draft.files) == ["site_visit.bpmn"] and 'name="视察 活动"' in draft.files["site_visit.bpmn"]
    assert service.review_draft("site_visit")[0] == []
    deployed = service.deploy_draft("site_visit", "owner", draft.revision)
    assert deployed.created and deployed.process_id == "site_visit"
    assert service.existing_draft("site_visit") is None                # the next edit starts from what runs
    instance = service.start_instance("site_visit", {})
    assert service.show_instance(instance).status == "completed"
    with pytest.raises(InvalidState, match="exists already"):
        service.create_process("site_visit", "again", "owner")
    with pytest.raises(SpecInvalid, match="invalid process id"):
        service.create_process("1bad id", "x", "owner")


def test_a_draft_with_problems_names_each_and_does_not_deploy(mini):
    draft = mini.draft("mini")
    broken = draft.files["mini.bpmn"].replace('isExecutable="true"', 'isExecutable="true"', 1)
    broken = broken.replace("formJsonSchemaFilename\" value=\"", "formJsonSchemaFilename\" value=\"missing-", 1)
    mini.save_draft_file("mini", "mini.bpmn", broken, "owner", draft.revision)
    problems, _ = mini.review_draft("mini")
    assert problems and any("missing-" in p.message for p in problems)
    with pytest.raises(SpecInvalid):
        mini.deploy_draft("mini", "owner")
    assert mini.existing_draft("mini") is not None                    # nothing lost


def test_deploying_a_draft_makes_a_version_audits_it_and_refuses_a_stale_revision(mini):
    draft = mini.draft("mini")
    text = draft.files["mini.bpmn"].replace('name="审核"', 'name="初审"')
    saved = mini.save_draft_file("mini", "mini.bpmn", text, "owner", draft.revision)
    with pytest.raises(InvalidState, match="validate again"):
        mini.deploy_draft("mini", "owner", revision=draft.revision)
    deployed = mini.deploy_draft("mini", "owner", revision=saved.revision, note="  审核改名为 初审 ")
    with mini.reading() as session:
        assert session.scalar(select(func.count()).select_from(ProcessVersion)) == 2
        assert session.scalar(select(func.count()).select_from(ProcessDraft)) == 0
        kinds = session.scalars(select(AuditEvent.kind).where(AuditEvent.actor == "owner")).all()
    assert deployed.created and "version_deployed" in kinds and deployed.number == 2
    assert mini.process_versions("mini")[0].note == "审核改名为 初审"
    assert mini.startable_process("mini") is not None


def test_a_discarded_draft_is_gone_and_removing_a_missing_file_is_named(mini):
    draft = mini.draft("mini")
    with pytest.raises(NotFound, match="no file 'x.dmn'"):
        mini.remove_draft_file("mini", "x.dmn", "owner", draft.revision)
    mini.discard_draft("mini", "owner")
    assert mini.existing_draft("mini") is None
