"""The method's words are written once (domain/consultation/vocabulary.py): the diagram, the forms, the web's
catalogs and the pages all agree with it."""

from __future__ import annotations

import json
import re

import pytest
from babel.messages.pofile import read_po

from domain.consultation import hooks, public, vocabulary
from domain.consultation.vocabulary import (
    ACCEPTANCE,
    PUBLIC_STATUSES,
    SOURCES,
    STEP_NAMES,
    STEPS,
    TIER_LEVELS,
    TIERS,
)
from domain.people.roles import ROLE_NAMES
from tests.conftest import CONSULTATION, ROOT
from webui.i18n import TRANSLATIONS

ARTICLE = "确定协商主题、拟定协商方案、充分调查研究、组织协商会议、报告协商结果、回访督促问效"
ORDINALS = "一二三四五六"
# The words the web shows through its catalogs (a topic's source is form data: shown as the form's title).
TRANSLATED = (ACCEPTANCE, *STEPS, *TIERS, *TIER_LEVELS, *PUBLIC_STATUSES)


def _english() -> dict[str, set[str]]:
    """Chinese → every English the web catalogs give it (no context)."""
    found: dict[str, set[str]] = {}
    for po in sorted(TRANSLATIONS.rglob("*.po")):
        with po.open("rb") as fh:
            for message in read_po(fh):
                if message.id and not message.context and message.string:
                    found.setdefault(message.id, set()).add(message.string)
    return found


def _choices(form: str, field: str) -> dict[str, str]:
    schema = json.loads((CONSULTATION / "forms" / f"{form}.schema.json").read_text(encoding="utf-8"))
    return {option["const"]: option["title"] for option in schema["properties"][field]["oneOf"]}


def test_the_steps_are_the_articles_six_in_order():
    assert "、".join(step.zh for step in STEPS) == ARTICLE
    assert [step.code for step in STEPS] == [1, 2, 3, 4, 5, 6] and ACCEPTANCE.code == 0
    assert dict(STEP_NAMES) == {0: "受理分流"} | {step.code: step.zh for step in STEPS}


@pytest.mark.parametrize("role", sorted(ROLE_NAMES))
def test_every_role_name_has_english_in_the_catalogs(role):
    """Role names, written once in domain/people/roles.py, are translated at run time by the web's labels."""
    assert len(_english().get(ROLE_NAMES[role], ())) == 1


@pytest.mark.parametrize("term", TRANSLATED, ids=lambda t: f"{t.code}:{t.en}")
def test_every_word_has_its_english_in_the_catalogs(term):
    """The pages translate these words at run time (not literal `_()` strings, so the extractor cannot see them)."""
    assert _english().get(term.zh) == {term.en}


def test_the_diagram_names_each_step_as_the_vocabulary_does():
    diagram = (CONSULTATION / "consultation.bpmn").read_text(encoding="utf-8")
    for step in STEPS:
        assert f'id="step{step.code}" name="第{ORDINALS[step.code - 1]}步 {step.zh}"' in diagram
    assert f'id="triage" name="{ACCEPTANCE.zh}"' in diagram
    assert ARTICLE in diagram


def test_the_forms_offer_the_vocabularys_tiers_and_sources():
    assert _choices("triage", "tier") == {tier.code: tier.zh for tier in TIERS}
    assert _choices("intake", "source") == {source.code: source.zh for source in SOURCES}


def test_the_hooks_and_the_tracking_page_use_the_same_words():
    assert dict(hooks.HOOKS.vocabulary) == dict(STEP_NAMES)
    assert public.PUBLIC_STATUS_NAMES is vocabulary.PUBLIC_STATUS_NAMES


@pytest.mark.parametrize("path", sorted(p for folder in ("cli", "domain", "engine", "tasks", "webui")
                                        for p in (ROOT / folder).rglob("*") if p.suffix in {".py", ".html"}),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_other_module_spells_a_step_or_tier_name(path):
    if path == ROOT / "domain" / "consultation" / "vocabulary.py":
        return
    text = path.read_text(encoding="utf-8")
    for term in (ACCEPTANCE, *STEPS, *TIERS):
        assert not re.search(rf"[\"']{re.escape(term.zh)}[\"']", text), term.zh
