"""Process drafts: one editable copy of a process's files per process, kept until it is deployed or discarded.

A draft starts from the newest deployed version (or from a blank diagram for a new process). Every save must be
well-formed (XML through the hardened loader, JSON parsed) so the editors never lose what they reopen; whether the
draft would deploy is the validator's question, asked separately. Saves carry the revision they were made on, so a
second editor's save cannot silently overwrite the first one's.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import quoteattr

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bpmn.specs import MAX_FILES, Bundle
from engine.bpmn.xmlsafe import MAX_XML_BYTES, UnsafeXml, load_xml
from engine.errors import ConcurrentUpdate, InvalidState, NotFound, Problem, SpecInvalid
from engine.store import versions
from engine.store.models import ProcessDraft, ProcessVersion

MAX_JSON_BYTES = 500_000
MAX_DRAFT_BYTES = 10_000_000
SUFFIXES = (".bpmn", ".dmn", ".json")
_PATH = re.compile(r"^[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*$")
PROCESS_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$")


@dataclass(frozen=True)
class DraftView:
    """A draft as editors see it: its files, the revision to save against, and what it was started from."""

    process_id: str
    files: dict[str, str]
    revision: int
    base_version_id: int | None
    updated_by: str | None
    updated_at: datetime

    @property
    def bundle(self) -> Bundle:
        """The draft's files as a bundle the engine can validate or deploy."""
        return Bundle({path: text.encode() for path, text in self.files.items()})


def view(draft: ProcessDraft) -> DraftView:
    """A detached, read-only view of a draft row."""
    return DraftView(draft.process_id, dict(draft.files), draft.revision, draft.base_version_id, draft.updated_by,
                     draft.updated_at)


def check_path(path: str) -> str:
    """A draft file's path: relative, folders and names of letters, digits, `_`, `-` and `.`, one of SUFFIXES."""
    parts = path.split("/")
    if (not path or len(path) > 200 or len(parts) > 4 or not path.endswith(SUFFIXES)
            or not all(_PATH.match(part) for part in parts)):
        raise SpecInvalid([Problem(path[:200] or "-", None, None,
                                   "invalid file name: use letters, digits, _ - . and folders separated by /, "
                                   "ending in .bpmn, .dmn or .json")])
    return path


def check_content(path: str, text: str) -> None:
    """Refuse content the editors could not reopen: malformed or unsafe XML, JSON that does not parse, oversize."""
    data = text.encode()
    if path.endswith(".json"):
        if len(data) > MAX_JSON_BYTES:
            raise SpecInvalid([Problem(path, None, None,
                                       f"file is {len(data):,} bytes; the limit is {MAX_JSON_BYTES:,} bytes")])
        try:
            json.loads(text)
        except ValueError as exc:
            line = getattr(exc, "lineno", None)
            raise SpecInvalid([Problem(path, line, None, f"not valid JSON: {getattr(exc, 'msg', exc)}")]) from None
        return
    if len(data) > MAX_XML_BYTES:
        raise SpecInvalid([Problem(path, None, None,
                                   f"file is {len(data):,} bytes; the limit is {MAX_XML_BYTES:,} bytes")])
    try:
        load_xml(data, path)
    except UnsafeXml as exc:
        raise SpecInvalid([exc.problem]) from None


def find(session: Session, process_id: str) -> ProcessDraft | None:
    """The process's draft, or None."""
    return session.get(ProcessDraft, process_id)


def every(session: Session) -> list[ProcessDraft]:
    """Every draft, by process id."""
    return list(session.scalars(select(ProcessDraft).order_by(ProcessDraft.process_id)))


def open_draft(session: Session, process_id: str, actor: str | None, now: datetime) -> ProcessDraft:
    """The process's draft, started from its newest deployed version when it has none yet."""
    draft = session.get(ProcessDraft, process_id)
    if draft is not None:
        return draft
    base = versions.latest(session, process_id)          # NotFound for a process that was never deployed
    draft = ProcessDraft(process_id=process_id, files=dict(base.files), revision=1, base_version_id=base.id,
                         updated_by=actor, updated_at=now, created_at=now)
    session.add(draft)
    session.flush()
    return draft


def create(session: Session, process_id: str, name: str, actor: str | None, now: datetime) -> ProcessDraft:
    """A draft of a new process: a blank diagram with one start and one end event, named `name`."""
    if not PROCESS_ID.match(process_id):
        raise SpecInvalid([Problem("-", None, None, "invalid process id: start with a letter or _, then letters, "
                                                     "digits, _ or -, at most 64 characters")])
    taken = session.get(ProcessDraft, process_id) is not None or session.scalar(
        select(ProcessVersion.id).where(ProcessVersion.process_id == process_id).limit(1)) is not None
    if taken:
        raise InvalidState(f"a process with the id {process_id!r} exists already")
    name = " ".join(name.split())[:100] or process_id
    filename = f"{process_id}.bpmn"
    draft = ProcessDraft(process_id=process_id, files={filename: blank_diagram(process_id, name)}, revision=1,
                         base_version_id=None, updated_by=actor, updated_at=now, created_at=now)
    session.add(draft)
    session.flush()
    return draft


def _editable(session: Session, process_id: str, revision: int | None) -> ProcessDraft:
    draft = session.get(ProcessDraft, process_id, with_for_update=True)
    if draft is None:
        raise NotFound(f"no draft of process {process_id!r}")
    if revision is not None and revision != draft.revision:
        raise ConcurrentUpdate(f"the draft of {process_id!r} was saved by {draft.updated_by or 'someone'} "
                               f"after you opened it (revision {draft.revision}, yours {revision}); reload it")
    return draft


def _touch(draft: ProcessDraft, files: dict[str, str], actor: str | None, now: datetime) -> ProcessDraft:
    if len(files) > MAX_FILES:
        raise SpecInvalid([Problem("-", None, None, f"{len(files)} files; the limit is {MAX_FILES}")])
    total = sum(len(text.encode()) for text in files.values())
    if total > MAX_DRAFT_BYTES:
        raise SpecInvalid([Problem("-", None, None,
                                   f"the draft would be {total:,} bytes; the limit is {MAX_DRAFT_BYTES:,} bytes")])
    draft.files = files                  # a new dict: the JSON column sees the change
    draft.revision += 1
    draft.updated_by = actor
    draft.updated_at = now
    return draft


def put_file(session: Session, process_id: str, path: str, text: str, actor: str | None, now: datetime,
             revision: int | None) -> ProcessDraft:
    """Save one file of the draft (added or replaced); the draft's revision moves on by one."""
    check_path(path)
    check_content(path, text)
    draft = _editable(session, process_id, revision)
    return _touch(draft, {**draft.files, path: text}, actor, now)


def put_files(session: Session, process_id: str, files: dict[str, str], actor: str | None, now: datetime,
              revision: int | None) -> ProcessDraft:
    """Save several files of the draft in one step; the draft's revision moves on by one."""
    for path, text in files.items():
        check_path(path)
        check_content(path, text)
    draft = _editable(session, process_id, revision)
    return _touch(draft, {**draft.files, **files}, actor, now)


def remove_file(session: Session, process_id: str, path: str, actor: str | None, now: datetime,
                revision: int | None) -> ProcessDraft:
    """Remove one file from the draft."""
    draft = _editable(session, process_id, revision)
    if path not in draft.files:
        raise NotFound(f"the draft of {process_id!r} has no file {path!r}")
    return _touch(draft, {p: t for p, t in draft.files.items() if p != path}, actor, now)


def discard(session: Session, process_id: str) -> None:
    """Throw the draft away (the deployed versions are untouched)."""
    draft = session.get(ProcessDraft, process_id)
    if draft is None:
        raise NotFound(f"no draft of process {process_id!r}")
    session.delete(draft)


def blank_diagram(process_id: str, name: str) -> str:
    """A new process's first diagram: start → end, laid out so a modeler shows it."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="Definitions_{process_id}" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id={quoteattr(process_id)} name={quoteattr(name)} isExecutable="true">
    <bpmn:startEvent id="start" name="开始">
      <bpmn:outgoing>flow_start_end</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:endEvent id="end" name="结束">
      <bpmn:incoming>flow_start_end</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="flow_start_end" sourceRef="start" targetRef="end" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="diagram_{process_id}">
    <bpmndi:BPMNPlane id="plane_{process_id}" bpmnElement={quoteattr(process_id)}>
      <bpmndi:BPMNShape id="start_di" bpmnElement="start">
        <dc:Bounds x="180" y="160" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end_di" bpmnElement="end">
        <dc:Bounds x="420" y="160" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="flow_start_end_di" bpmnElement="flow_start_end">
        <di:waypoint x="216" y="178" />
        <di:waypoint x="420" y="178" />
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""
