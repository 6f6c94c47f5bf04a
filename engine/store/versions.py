"""Deployed process versions: immutable, keyed by content hash, parsed once per process and cached."""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from threading import Lock

from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.bpmn.operators import REGISTRY
from engine.bpmn.specs import Bundle, ParsedBundle, parse_bundle
from engine.errors import ConcurrentUpdate, InvalidState, NotFound, Problem, SpecInvalid
from engine.store.models import ProcessVersion

OPERATORS = frozenset(REGISTRY)      # notify, publish: operators.REGISTRY lists their parameters
_CACHE_SIZE = 64
MAX_NOTE = 500


class VersionCache:
    """Parsed bundles by content hash (a parsed spec is safe to share across instances)."""

    def __init__(self, operators=OPERATORS):
        self.operators = operators
        self._parsed: OrderedDict[str, ParsedBundle] = OrderedDict()
        self._by_id: dict[int, str] = {}        # version id → its key, once read from this engine's database
        self._lock = Lock()

    def parse(self, bundle: Bundle) -> ParsedBundle:
        """Parse (or fetch the cached parse of) a bundle."""
        key = bundle.content_hash
        with self._lock:
            if key in self._parsed:
                self._parsed.move_to_end(key)
                return self._parsed[key]
        parsed = parse_bundle(bundle, self.operators)
        with self._lock:
            self._parsed[key] = parsed
            while len(self._parsed) > _CACHE_SIZE:
                self._parsed.popitem(last=False)
        return parsed

    def for_version(self, version: ProcessVersion) -> ParsedBundle:
        """The parsed bundle of a stored version (versions are immutable: cached by id, files read once)."""
        key = f"version:{version.id}:{version.content_hash}"
        with self._lock:
            if key in self._parsed:
                self._parsed.move_to_end(key)
                return self._parsed[key]
        return self.remember(version, self.parse(Bundle({path: text.encode()
                                                          for path, text in version.files.items()})))

    def remember(self, version: ProcessVersion, parsed: ParsedBundle) -> ParsedBundle:
        """Keep `parsed` as the parse of the stored `version` (whose files it was parsed from)."""
        key = f"version:{version.id}:{version.content_hash}"
        with self._lock:
            self._parsed[key] = parsed
            self._by_id[version.id] = key
            while len(self._parsed) > _CACHE_SIZE:
                self._parsed.popitem(last=False)
        return parsed

    def copy(self) -> VersionCache:
        """A cache holding the same parses, for an engine on a copy of this cache's database (its version ids mean
        the same versions); what either reads afterwards stays its own."""
        other = VersionCache(self.operators)
        with self._lock:
            other._parsed, other._by_id = OrderedDict(self._parsed), dict(self._by_id)
        return other

    def by_id(self, version_id: int) -> ParsedBundle | None:
        """The parsed bundle of a version this cache has read (versions are immutable), else None."""
        with self._lock:
            parsed = self._parsed.get(self._by_id.get(version_id, ""))
            if parsed is not None:
                self._parsed.move_to_end(self._by_id[version_id])
            return parsed


def _as_text(bundle: Bundle) -> dict[str, str]:
    problems, files = [], {}
    for path, data in bundle.files.items():
        try:
            files[path] = data.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(Problem(path, None, None, "not UTF-8 text"))
    if problems:
        raise SpecInvalid(problems)
    return files


def deploy(session: Session, cache: VersionCache, bundle: Bundle, actor: str | None,
           now: datetime, note: str = "") -> tuple[ProcessVersion, bool]:
    """Store the bundle as a version unless identical content is deployed already; (version, created).

    A new version gets its process's next number (v1, v2 …) and keeps `note`, its author's word on what changed."""
    note = " ".join(note.split())
    if len(note) > MAX_NOTE:
        raise InvalidState(f"版本说明最多 {MAX_NOTE} 字，现有 {len(note)} 字 (the version note is {len(note)} "
                           f"characters; at most {MAX_NOTE})")
    parsed = cache.parse(bundle)
    files = _as_text(bundle)
    existing = session.scalar(select(ProcessVersion).where(
        ProcessVersion.process_id == parsed.process_id, ProcessVersion.content_hash == bundle.content_hash))
    if existing is not None:
        _remember_when_committed(session, cache, existing, parsed)     # the same content: its files parse to it
        return existing, False
    number = (session.scalar(select(func.max(ProcessVersion.number))
                             .where(ProcessVersion.process_id == parsed.process_id)) or 0) + 1
    version = ProcessVersion(process_id=parsed.process_id, content_hash=bundle.content_hash, files=files,
                             deployed_by=actor, created_at=now, number=number, note=note)
    session.add(version)
    try:
        with session.begin_nested():        # a savepoint: the race's loser gets a clear error, not a broken session
            session.flush()
    except IntegrityError as exc:
        raise ConcurrentUpdate(f"流程 {parsed.process_id} 刚有另一版本部署，请重试 (another version of "
                               f"{parsed.process_id} was deployed at the same moment; try again)") from exc
    _remember_when_committed(session, cache, version, parsed)     # a start after the deploy reads no files
    return version, True


def _remember_when_committed(session: Session, cache: VersionCache, version: ProcessVersion,
                             parsed: ParsedBundle) -> None:
    """Cache `parsed` under the version's id once the deploy is committed (SQLite may hand a rolled-back id out
    again, so an id is known only when it is for good)."""
    event.listen(session, "after_commit", lambda _session: cache.remember(version, parsed), once=True)


def latest(session: Session, process_id: str) -> ProcessVersion:
    """The most recently deployed version of a process."""
    version = session.scalar(select(ProcessVersion).where(ProcessVersion.process_id == process_id)
                             .order_by(ProcessVersion.id.desc()).limit(1))
    if version is None:
        raise NotFound(f"no deployed process {process_id!r}")
    return version


def latest_versions(session: Session) -> list[ProcessVersion]:
    """The most recently deployed version of every process, by process id."""
    newest = select(func.max(ProcessVersion.id)).group_by(ProcessVersion.process_id)
    return list(session.scalars(select(ProcessVersion).where(ProcessVersion.id.in_(newest))
                                .order_by(ProcessVersion.process_id)))


def start_form(parsed: ParsedBundle) -> tuple[dict | None, dict | None]:
    """(JSON schema, UI schema) of the form on the process's start event; Nones when it has none."""
    start_id = parsed.spec.start.outputs[0].bpmn_id if parsed.spec.start.outputs else None
    schema, ui, _ = parsed.form(start_id) if start_id else (None, None, None)
    return schema, ui


def recent(session: Session, limit: int = 200) -> list[tuple[int, str, str]]:
    """(id, process id, short hash) of the deployed versions, newest first (the board list's version filter)."""
    return [(vid, process_id, content_hash[:8]) for vid, process_id, content_hash in session.execute(
        select(ProcessVersion.id, ProcessVersion.process_id, ProcessVersion.content_hash)
        .order_by(ProcessVersion.id.desc()).limit(limit))]


def process_names(session: Session, cache: VersionCache) -> dict[str, str]:
    """Each deployed process's name as its latest diagram gives it (e.g. suggestion_box → 意见箱)."""
    names = {}
    for version_id, process_id in session.connection().execute(LATEST_IDS):   # every inbox page asks: Core rows
        parsed = cache.by_id(version_id) or cache.for_version(session.get(ProcessVersion, version_id))
        names[process_id] = parsed.spec.description or process_id
    return names


# Built once (its SQL compiled once per database): each process's latest version, (id, process id).
LATEST_IDS = (select(ProcessVersion.__table__.c.id, ProcessVersion.__table__.c.process_id)
              .where(ProcessVersion.__table__.c.id.in_(select(func.max(ProcessVersion.__table__.c.id))
                                                       .group_by(ProcessVersion.__table__.c.process_id))))
