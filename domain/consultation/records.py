"""Domain records the consultation writes as it moves: intake item, consultation, suggestions and answers."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from domain.consultation.models import Consultation, IntakeItem, Suggestion
from engine.store.models import OrgUnit, ProcessInstance

TRACKING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"   # no 0/O/1/I: read aloud over the phone


def tracking_code() -> str:
    """A random, unguessable tracking code such as XS-7KQ2-M9TD."""
    raw = "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(8))
    return f"XS-{raw[:4]}-{raw[4:]}"


def record_intake(session: Session, instance: ProcessInstance, data: dict, now: datetime) -> IntakeItem:
    """The intake item and its consultation, written when a consultation instance starts (its `on_start` hook)."""
    item = IntakeItem(tracking_code=tracking_code(), instance_id=instance.id, title=data["title"][:200],
                      description=str(data.get("description", "")), category=data.get("category"),
                      scope=data.get("scope"), township=data.get("township"), village=data.get("village"),
                      source=data.get("source"), created_at=now)
    session.add(item)
    session.flush()
    plan_item = data.get("plan_item") if data.get("source") == "plan" else None    # checked by intake.check_start
    session.add(Consultation(instance_id=instance.id, intake_id=item.id, title=item.title, status="intake",
                             category=item.category, plan_item_id=plan_item, created_at=now, updated_at=now))
    return item


def _date(value) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def _apply_answers(suggestions: dict[int, _Row], answers, answer_round: int) -> None:
    for answer in answers or []:
        if not isinstance(answer, dict):
            continue
        row = suggestions.get(answer.get("suggestion_id"))
        if row is None:
            continue
        row.adoption = answer.get("adoption")
        row.reason = answer.get("reason") or None
        row.measures = answer.get("measures") or None
        row.promised_date = _date(answer.get("promised_date"))
        row.answer_round = answer_round
        tried = [str(code) for code in answer.get("tried") or [] if code]
        if tried or row.departments_before is None:
            row.departments_before = tried


# A save reads and writes its record with Core statements built once: no ORM objects to load, and the commit flushes
# nothing of the record (the changed columns are written here, the unchanged ones not at all).
_CASE = Consultation.__table__
_RECORD = ("id", "topic", "category", "tier", "org_unit_code", "step", "status", "plan", "hall_code", "meeting_date",
           "report_title", "instruction", "satisfaction", "public_reason", "published_at", "updated_at")
_CASE_OF = (select(*(_CASE.c[name] for name in _RECORD), IntakeItem.__table__.c.source,
                   IntakeItem.__table__.c.created_at)
            .select_from(_CASE.outerjoin(IntakeItem.__table__, IntakeItem.__table__.c.id == _CASE.c.intake_id))
            .where(_CASE.c.instance_id == bindparam("instance_id")))
_SAID = Suggestion.__table__
_SUGGESTION = ("id", "number", "text", "department_code", "adoption", "reason", "measures", "promised_date",
               "answer_round", "satisfaction", "departments_before", "follow_up")
_SUGGESTIONS_OF = select(*(_SAID.c[name] for name in _SUGGESTION)).where(
    _SAID.c.consultation_id == bindparam("consultation_id"))
_CHANGE_SUGGESTION = _SAID.update().where(_SAID.c.id == bindparam("_id"))     # SET: the columns each row names


class _Row(SimpleNamespace):
    """A record's columns as read, changed in memory as a save's data says."""


def _changes(row: _Row, read: dict) -> dict:
    return {name: value for name, value in vars(row).items() if value != read.get(name)}


def _sync_suggestions(session: Session, consultation_id: int, data: dict) -> list[_Row]:
    read = [dict(zip(_SUGGESTION, row, strict=True))
            for row in session.execute(_SUGGESTIONS_OF, {"consultation_id": consultation_id})]
    existing = {found["number"]: _Row(**found) for found in read}
    for item in data.get("suggestions") or []:
        if not isinstance(item, dict) or not isinstance(item.get("id"), int):
            continue
        row = existing.get(item["id"])
        if row is None:
            row = _Row(id=None, number=item["id"], answer_round=0, text=str(item.get("text", "")),
                       department_code=str(item.get("department", "")), adoption=None, reason=None, measures=None,
                       promised_date=None, satisfaction=None, departments_before=None, follow_up=None)
            existing[item["id"]] = row
        row.text = str(item.get("text", row.text))
        row.department_code = str(item.get("department", row.department_code))
    _apply_answers(existing, data.get("answers"), 1)
    _apply_answers(existing, data.get("reanswers"), 2)
    by_suggestion = _latest_visits(data)
    for number, row in existing.items():
        # each suggestion's own word from its latest visit; an instance visited before per-suggestion visits
        # existed carries one satisfaction for the whole topic
        visit = by_suggestion.get(number) or {}
        row.satisfaction = visit.get("residents_satisfaction") if by_suggestion \
            else data.get("residents_satisfaction")
        row.follow_up = str(visit["implementation_status"])[:5000] if visit.get("implementation_status") \
            else row.follow_up
    _write_suggestions(session, consultation_id, existing, {found["number"]: found for found in read})
    return list(existing.values())


def _write_suggestions(session: Session, consultation_id: int, rows: dict[int, _Row], read: dict[int, dict]) -> None:
    """One INSERT for the new suggestions, one UPDATE for those the save changed."""
    new = [dict(vars(row), consultation_id=consultation_id) for row in rows.values() if row.id is None]
    changed = [{**{name: value for name, value in vars(row).items() if name != "id"}, "_id": row.id}
               for number, row in rows.items() if row.id is not None and _changes(row, read[number])]
    if new:
        session.execute(_SAID.insert(), [{k: v for k, v in row.items() if k != "id"} for row in new])
    if changed:
        session.execute(_CHANGE_SUGGESTION, changed)


def _latest_visits(data: dict) -> dict[int, dict]:
    """Suggestion number → its latest follow-up visit (visits logged so far, then the visit being recorded now)."""
    found: dict[int, dict] = {}
    for visit in list(data.get("visit_log") or []) + list(data.get("visits") or []):
        if isinstance(visit, dict) and isinstance(visit.get("suggestion_id"), int) \
                and isinstance(visit.get("residents_satisfaction"), str):
            found[visit["suggestion_id"]] = visit
    return found


@dataclass(frozen=True)
class Synced:
    """A consultation record as a save left it (written), with its suggestions and what its intake item says of where
    the topic came from and when."""

    consultation: SimpleNamespace       # the columns of Consultation this sync keeps, and its id
    suggestions: list[SimpleNamespace]  # the columns of each Suggestion, and its id (None for one added now)
    source: str | None
    received_at: datetime | None


def sync_consultation(session: Session, instance: ProcessInstance, data: dict, now: datetime,
                      published: bool) -> Synced | None:
    """Bring the instance's consultation record up to date with its data and progress; None when it has none. The
    save's own rows must be flushed first (a new record among them)."""
    found = session.execute(_CASE_OF, {"instance_id": instance.id}).first()
    if found is None:
        return None
    read = dict(zip(_RECORD, found[:len(_RECORD)], strict=True))
    source, received_at = found[len(_RECORD):]
    consultation = _Row(**read)
    consultation.topic = data.get("topic") or consultation.topic
    consultation.category = data.get("category") or consultation.category
    consultation.tier = data.get("tier") or consultation.tier
    consultation.org_unit_code = data.get("org_unit") or consultation.org_unit_code
    consultation.step = instance.step
    consultation.status = _status(instance, data)
    plan_keys = ("plan_goal", "meeting_date", "venue", "venue_other", "researchers", "research_questions")
    if any(k in data for k in plan_keys):
        plan = {k: data[k] for k in plan_keys if k in data}
        if plan != consultation.plan:       # the hall is looked up when the plan changes, not at every save
            consultation.plan = plan
            consultation.hall_code = _hall(session, data.get("venue"))
    consultation.meeting_date = _date(data.get("meeting_held_on")) or _date(data.get("meeting_date")) \
        or consultation.meeting_date
    consultation.report_title = data.get("report_title") or consultation.report_title
    consultation.instruction = _instruction(data) or consultation.instruction
    consultation.satisfaction = data.get("residents_satisfaction") or consultation.satisfaction
    if consultation.status == "declined":
        consultation.public_reason = data.get("public_reason") or consultation.public_reason
    if published and consultation.published_at is None:
        consultation.published_at = now
    consultation.updated_at = now
    changes = _changes(consultation, read)
    if changes:
        session.execute(_CASE.update().where(_CASE.c.id == consultation.id).values(changes))
    return Synced(consultation, _sync_suggestions(session, consultation.id, data), source, received_at)


def _hall(session: Session, venue) -> str | None:
    """The venue's code when it is a registered hall (not "other", not words)."""
    if not isinstance(venue, str) or not venue:
        return None
    return session.scalar(select(OrgUnit.code).where(OrgUnit.code == venue, OrgUnit.kind == "hall"))


def _instruction(data: dict) -> str | None:
    """The leadership's instruction (批示), or the office's note that there is none."""
    if data.get("instruction_status") == "none" and data.get("no_instruction_note"):
        return f"暂无批示：{data['no_instruction_note']}"
    return data.get("instruction_text")


def _status(instance: ProcessInstance, data: dict) -> str:
    if instance.status == "cancelled":
        return "cancelled"
    if data.get("decision") == "decline":
        return "declined"
    if instance.status == "completed":
        return "completed"
    return "intake" if not instance.step else "in_progress"
