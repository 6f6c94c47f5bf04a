"""A submitted form's decision, read from its schema: the choice's words and, for the choice that needs one, the
reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from domain.work.casefile import CaseEntry
from domain.work.timeline import decision_of
from tests.conftest import CONSULTATION


def _entry(form: str, data: dict, hidden: tuple[str, ...] = ()) -> CaseEntry:
    schema = json.loads((CONSULTATION / "forms" / f"{form}.schema.json").read_text(encoding="utf-8"))
    return CaseEntry(1, "t", form, form, None, 1, 1, "lead", datetime(2026, 3, 2, tzinfo=UTC), schema, {}, data,
                     hidden)


def test_a_boolean_decision_and_its_reason():
    entry = _entry("approve_topic", {"topic_approved": False, "approval_comment": "请聚焦群众最关心的问题。"})
    assert decision_of(entry) == ("不同意，退回修改", True, "请聚焦群众最关心的问题。")
    assert decision_of(_entry("approve_topic", {"topic_approved": True, "approval_comment": "同意"})) == \
        ("同意", False, None)


def test_a_declined_triage_gives_the_internal_reason_and_a_hidden_field_stays_hidden():
    data = {"decision": "decline", "decline_reason": "内部核查", "public_reason": "请走信访渠道"}
    assert decision_of(_entry("triage", data)) == ("不予受理", True, "内部核查")
    assert decision_of(_entry("triage", data, hidden=("decline_reason",))) == ("不予受理", True, "请走信访渠道")


def test_a_form_without_a_decision_has_none():
    assert decision_of(_entry("define_topic", {"topic": "路灯"})) == (None, False, None)
