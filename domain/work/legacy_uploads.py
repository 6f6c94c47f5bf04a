"""Files stored before upload records existed: `<24 hex>.<ext>` in the uploads folder, named as is in the forms that
were submitted with them. Adopting one gives it an upload record (the submitter as owner where known, the instance
linked, attached), so the authorized download and the case file's link work; files no form names are reported and
left where they are, never deleted here."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.work.models import Upload
from domain.work.uploads import LEGACY_NAME, Uploads, content_type_of
from engine.store.models import ProcessInstance
from engine.store.statecodec import unpack
from engine.store.submissions import TaskSubmission

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Adopted:
    """One legacy file now on record."""

    reference: str
    instance_id: int
    owner: str
    task_id: str | None


@dataclass(frozen=True)
class LegacyReport:
    """What adoption did: files now on record, and files no submitted form or instance names (left untouched)."""

    adopted: tuple[Adopted, ...]
    unreferenced: tuple[str, ...]


def is_legacy(reference: str) -> bool:
    """Whether a reference has the old `<hex>.<ext>` form."""
    return bool(LEGACY_NAME.fullmatch(reference or ""))


def adopt(uploads: Uploads) -> LegacyReport:
    """Give every legacy file a form names an upload record; report the others. Running it again adds nothing."""
    root = uploads.root()
    names = sorted(p.name for p in root.iterdir() if p.is_file() and is_legacy(p.name)) if root.is_dir() else []
    if not names:
        return LegacyReport((), ())
    engine = uploads.engine
    with engine.unit_of_work() as session:
        wanted = set(names) - set(session.scalars(select(Upload.id).where(Upload.id.in_(names))))
        adopted = [_record(session, uploads, name, source) for name, source in _sources(session, wanted).items()]
    placed = {a.reference for a in adopted}
    return LegacyReport(tuple(adopted), tuple(n for n in sorted(wanted) if n not in placed))


def _sources(session: Session, wanted: set[str]) -> dict[str, tuple[int, str | None, str | None, datetime | None]]:
    """reference → (instance id, task id, submitter, when) from the first submitted form naming it; else from the
    instance whose stored state names it (its starter as owner)."""
    found: dict[str, tuple] = {}
    if not wanted:
        return found
    for row in session.scalars(select(TaskSubmission).order_by(TaskSubmission.id)).yield_per(200):
        for value in _strings(row.data):
            if value in wanted and value not in found:
                found[value] = (row.instance_id, row.task_id, row.actor, row.submitted_at)
    missing = wanted - set(found)
    if not missing:
        return found
    rows = session.execute(select(ProcessInstance.id, ProcessInstance.started_by, ProcessInstance.updated_at,
                                  ProcessInstance.state).order_by(ProcessInstance.id)).yield_per(200)
    for instance_id, starter, updated_at, stored in rows:       # states are stored compressed: read each once
        state = unpack(stored)
        for name in sorted(n for n in missing if f'"{n}"' in state):
            found[name] = (instance_id, None, starter, updated_at)
        missing -= set(found)
        if not missing:
            break
    return found


def _record(session: Session, uploads: Uploads, name: str, source: tuple) -> Adopted:
    instance_id, task_id, actor, at = source
    path = uploads.path_of(name)
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    stat = path.stat()
    created = datetime.fromtimestamp(stat.st_mtime, UTC)
    session.add(Upload(id=name, owner=actor or "", instance_id=instance_id, task_id=task_id, filename=name,
                       content_type=content_type_of(name), size=stat.st_size, sha256=digest.hexdigest(),
                       created_at=created, attached_at=at or uploads.engine.clock.now()))
    return Adopted(name, instance_id, actor or "", task_id)


def _strings(value):
    """Every string in a JSON value, walked without recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
