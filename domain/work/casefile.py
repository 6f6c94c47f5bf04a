"""The case file (卷宗): every form submitted on an instance so far, in order, with who and when, each read with its
JSON schema and UI schema and with the fields its viewer may not see left out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.people import policy
from domain.people.accounts import UserView
from domain.work.models import Upload
from engine.bpmn.specs import ParsedBundle
from engine.store import submissions
from engine.store.models import ProcessInstance, User

MAX_NAME = 64


@dataclass(frozen=True)
class CaseEntry:
    """One submitted form as its viewer may see it."""

    number: int             # 1, 2, … in the order submitted
    task_id: str | None
    task_spec: str
    name: str
    item_label: str | None
    step: int | None
    round: int              # the how-many-th time this form (for this item) was submitted: loops show each round
    actor: str | None
    submitted_at: datetime
    schema: dict
    ui: dict
    data: dict
    hidden: tuple[str, ...]     # restricted fields the viewer may not see


@dataclass(frozen=True)
class CaseGroup:
    """Consecutive entries of one step (or one entry, for a form outside any step)."""

    step: int | None
    entries: tuple[CaseEntry, ...]


@dataclass(frozen=True)
class CaseFile:
    """The case so far: entries in order, grouped by step, with the names of the people they mention."""

    entries: tuple[CaseEntry, ...]
    people: dict
    files: dict = field(default_factory=dict)     # upload id → (original name, size) of the evidence submitted

    @property
    def groups(self) -> tuple[CaseGroup, ...]:
        """Entries grouped by consecutive step; a form outside any step stands alone."""
        groups: list[list[CaseEntry]] = []
        for entry in self.entries:
            if groups and entry.step is not None and groups[-1][-1].step == entry.step:
                groups[-1].append(entry)
            else:
                groups.append([entry])
        return tuple(CaseGroup(g[0].step, tuple(g)) for g in groups)

    def entry_of(self, task_id: str) -> CaseEntry | None:
        """What was submitted on one task, if it was."""
        return next((e for e in self.entries if e.task_id == task_id), None)


def restricted_fields(parsed: ParsedBundle) -> dict[str, tuple[str, ...]]:
    """Every field any form of the version restricts to an audience (`ui:audience`), with that audience."""
    restricted: dict[str, tuple[str, ...]] = {}
    for element_id in parsed.elements:
        restricted.update(policy.audiences(parsed.form(element_id)[1]))
    return restricted


def hidden_for(user: UserView, parsed: ParsedBundle, row: ProcessInstance) -> frozenset[str]:
    """The instance data keys `user` may not see on this instance."""
    return policy.hidden_fields(user, restricted_fields(parsed), row.org_unit_code)


def case_file(session: Session, user: UserView, row: ProcessInstance, parsed: ParsedBundle, workflow) -> CaseFile:
    """The instance's case file as `user` may see it: recorded submissions, else (older instances) the completed
    forms read from the workflow state and the task projection."""
    recorded = submissions.of_instance(session, row.id)
    seen = {s.task_id for s in recorded}
    older = [s for s in submissions.from_state(session, row, parsed, workflow) if s.task_id not in seen] \
        if not any(s.task_id is None for s in recorded) else []
    entries, rounds = [], {}
    for number, sub in enumerate(older + recorded, start=1):
        schema, ui = _form(parsed, sub.task_spec)
        if not schema:
            continue
        key = (sub.task_spec, sub.item_label)
        rounds[key] = rounds.get(key, 0) + 1
        hidden = policy.hidden_fields(user, policy.audiences(ui), row.org_unit_code)
        data = {k: v for k, v in sub.data.items() if k not in hidden}
        entries.append(CaseEntry(number, sub.task_id, sub.task_spec, sub.name, sub.item_label, sub.step,
                                 rounds[key], sub.actor, sub.submitted_at, schema, ui or {}, data,
                                 tuple(sorted(hidden & set(sub.data)))))
    return CaseFile(tuple(entries), _people(session, entries), _files(session, row.id))


def _files(session: Session, instance_id: int) -> dict:
    """The evidence files submitted forms of the instance name, by upload id: (original name, size)."""
    rows = session.execute(select(Upload.id, Upload.filename, Upload.size).where(
        Upload.instance_id == instance_id, Upload.attached_at.isnot(None))).all()
    return {upload_id: (name, size) for upload_id, name, size in rows}


def _form(parsed: ParsedBundle, spec_id: str) -> tuple[dict | None, dict | None]:
    schema, ui, _ = parsed.form(spec_id)
    return schema, ui


def _people(session: Session, entries: list[CaseEntry]) -> dict:
    """Display names of the submitters and of every username a form's values may hold (people pickers)."""
    names = {e.actor for e in entries if e.actor}
    for entry in entries:
        names |= set(_strings(entry.data))
    names = [n for n in names if 0 < len(n) <= MAX_NAME]
    if not names:
        return {}
    return dict(session.execute(select(User.username, User.display_name).where(User.username.in_(names))).all())


def _strings(value):
    """Every short string in a JSON value."""
    if isinstance(value, str):
        if len(value) <= MAX_NAME:
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
