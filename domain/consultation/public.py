"""What anyone holding a tracking code may see about a topic: its progress and, once published, its results.

Only public fields leave this module: never contact details, usernames, staff names, comments, plans,
instructions or the office's internal reason for declining (only what it wrote for the proposer leaves).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.consultation.models import Consultation, IntakeItem, Suggestion
from domain.consultation.vocabulary import ACCEPTANCE, PUBLIC_STATUS_NAMES, STEPS
from engine.clock import LOCAL_TZ
from engine.store.models import OrgUnit, ProcessInstance, ProcessVersion

CODE_PATTERN = re.compile(r"XS-[A-Z2-9]{4}-[A-Z2-9]{4}")

DECLINED_NOTICE = "经审核，该事项不属于本平台协商范围，未予受理。如您留有联系方式，工作人员会与您联系说明。"
_CHOICE_FIELDS = ("category", "township", "adoption", "residents_satisfaction")
_choice_cache: dict[str, dict[str, dict[str, str]]] = {}


@dataclass(frozen=True)
class PublicStep:
    """One stage of the method and where the topic stands in it: done, current, pending (or declined)."""

    number: int
    name: str
    state: str


@dataclass(frozen=True)
class PublicSuggestion:
    """A suggestion as published: its text and the responsible department's answer."""

    number: int
    text: str
    department_name: str
    adoption: str | None
    adoption_label: str | None
    measures: str | None
    promised_date: date | None
    satisfaction_label: str | None


@dataclass(frozen=True)
class PublicResults:
    """The consultation's published outcome."""

    topic: str | None
    report_title: str | None
    published_on: date
    satisfaction_label: str | None
    suggestions: tuple[PublicSuggestion, ...]


@dataclass(frozen=True)
class PublicProgress:
    """The tracking page's content."""

    tracking_code: str
    title: str
    category_name: str | None
    township_name: str | None
    village: str | None
    submitted_on: date
    status: str
    status_label: str
    acceptance: PublicStep
    steps: tuple[PublicStep, ...]      # empty for a declined topic: it ended at acceptance
    declined_notice: str | None
    results: PublicResults | None
    declined_reason: str | None = None   # what the office wrote for the proposer (给提出人的说明), if it did


def normalize_code(text: str | None) -> str | None:
    """`xs 7kq2m9td` → `XS-7KQ2-M9TD`; None when it cannot be a tracking code."""
    raw = re.sub(r"[^0-9A-Za-z]", "", text or "").upper()
    raw = raw.removeprefix("XS")
    code = f"XS-{raw[:4]}-{raw[4:]}" if len(raw) == 8 else ""
    return code if CODE_PATTERN.fullmatch(code) else None


def public_progress(session: Session, tracking_code: str) -> PublicProgress | None:
    """The public view of the topic with this tracking code; None when there is none."""
    code = normalize_code(tracking_code)
    item = session.scalar(select(IntakeItem).where(IntakeItem.tracking_code == code)) if code else None
    if item is None:
        return None
    record = session.scalar(select(Consultation).where(Consultation.intake_id == item.id))
    status = record.status if record else "intake"
    step = (record.step or 0) if record else 0
    choices = _choices(session, item.instance_id)
    names = _org_names(session, [item.township, item.village])
    return PublicProgress(
        item.tracking_code, item.title, _label(choices, "category", item.category),
        names.get(item.township) or _label(choices, "township", item.township),
        names.get(item.village) or item.village or None,      # a village from the directory, or as typed before
        _local_date(item.created_at), status, PUBLIC_STATUS_NAMES.get(status, PUBLIC_STATUS_NAMES["intake"]),
        _acceptance(status, step), _steps(status, step), DECLINED_NOTICE if status == "declined" else None,
        _results(session, record, choices) if record is not None and record.published_at else None,
        (record.public_reason or None) if record is not None and status == "declined" else None)


def progress_steps(status: str, step: int | None) -> tuple[PublicStep, ...]:
    """Acceptance and the six steps, each done, current, pending (or declined), for a consultation's status and step:
    what /track and the instance page show."""
    return (_acceptance(status, step or 0), *_steps(status, step or 0))


def _acceptance(status: str, step: int) -> PublicStep:
    state = {"intake": "current", "declined": "declined"}.get(status, "done")
    if status == "cancelled" and not step:
        state = "pending"
    return PublicStep(ACCEPTANCE.code, ACCEPTANCE.zh, state)


def _steps(status: str, step: int) -> tuple[PublicStep, ...]:
    if status == "declined":      # the six steps never began: none of them is waiting
        return ()

    def state(number: int) -> str:
        if status == "completed" or (number < step and status in {"in_progress", "cancelled"}):
            return "done"
        return "current" if number == step and status == "in_progress" else "pending"

    return tuple(PublicStep(step.code, step.zh, state(step.code)) for step in STEPS)


def _results(session: Session, record: Consultation, choices: dict) -> PublicResults:
    rows = list(session.scalars(select(Suggestion).where(Suggestion.consultation_id == record.id)
                                .order_by(Suggestion.number)))
    names = _org_names(session, [row.department_code for row in rows])
    satisfaction = choices.get("residents_satisfaction", {})
    suggestions = tuple(
        PublicSuggestion(row.number, row.text, names.get(row.department_code, ""), row.adoption,
                         _label(choices, "adoption", row.adoption), row.measures, row.promised_date,
                         satisfaction.get(row.satisfaction))
        for row in rows)
    return PublicResults(record.topic, record.report_title, _local_date(record.published_at),
                         satisfaction.get(record.satisfaction), suggestions)


def _org_names(session: Session, codes: list[str | None]) -> dict[str, str]:
    wanted = {c for c in codes if c}
    if not wanted:
        return {}
    return dict(session.execute(select(OrgUnit.code, OrgUnit.name).where(OrgUnit.code.in_(wanted))).all())


def _label(choices: dict, field: str, value: str | None) -> str | None:
    """The form's title for a stored choice; an unknown value shows as itself, a missing one as None."""
    if not value:
        return None
    return choices.get(field, {}).get(value, value)


def _choices(session: Session, instance_id: int | None) -> dict[str, dict[str, str]]:
    """Titles of the choice fields in the forms of the version the instance runs (versions never change)."""
    instance = session.get(ProcessInstance, instance_id) if instance_id else None
    version = session.get(ProcessVersion, instance.version_id) if instance else None
    if version is None:
        return {}
    if version.content_hash not in _choice_cache:
        _choice_cache[version.content_hash] = _choices_of(version.files)
    return _choice_cache[version.content_hash]


def _choices_of(files: dict[str, str]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for path in sorted(p for p in files if p.endswith(".schema.json")):
        try:
            properties = json.loads(files[path]).get("properties") or {}
        except (ValueError, AttributeError):
            continue
        for prop in list(properties.values()):     # a list's rows hold choice fields too (a visit per suggestion)
            items = prop.get("items") if isinstance(prop, dict) else None
            if isinstance(items, dict) and isinstance(items.get("properties"), dict):
                properties = {**items["properties"], **properties}
        for field in _CHOICE_FIELDS:
            options = (properties.get(field) or {}).get("oneOf") or []
            for option in options:
                if isinstance(option, dict) and "const" in option:
                    found.setdefault(field, {}).setdefault(str(option["const"]), str(option.get("title", "")))
    return found


def _local_date(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TZ).date()
