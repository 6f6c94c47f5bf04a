"""Evidence files: stored only for people who may act on the task, within a quota, under an opaque id; a form may
name only its submitter's uploads for that task; downloads for those who may see the case; the sweep's cleanup."""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from domain.people import policy as access
from domain.people.accounts import UserView
from domain.work.models import Upload
from engine.errors import EngineError, InvalidState, NotFound, PermissionDenied
from engine.settings import Settings
from engine.store.models import HumanTask

QUOTA_BYTES = 200 * 1024 * 1024          # a person's files not yet attached to a submitted form
ABANDONED_AFTER = timedelta(days=7)      # an unattached file this old belongs to an abandoned draft
_CHUNK = 1024 * 1024
LEGACY_NAME = re.compile(r"[0-9a-f]{24}\.[a-z0-9]{1,7}")    # before records: secrets.token_hex(12) + lower-case suffix


class QuotaExceeded(EngineError):
    """Storing the files would take the person past their quota of unattached files."""

    def __init__(self, used: int, adding: int, quota: int):
        super().__init__(f"未提交的附件超过 {quota // (1024 * 1024)} MB 上限 "
                         f"(unsubmitted files over the {quota // (1024 * 1024)} MB limit)")
        self.used, self.adding, self.quota = used, adding, quota


@dataclass(frozen=True)
class UploadView:
    """A stored file as pages show it."""

    id: str
    owner: str
    instance_id: int | None
    task_id: str | None
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime
    attached: bool


@dataclass(frozen=True)
class NewFile:
    """A checked file to store: the id the form already names, its original name and a readable binary stream."""

    id: str
    filename: str
    stream: object


def new_id() -> str:
    """A fresh opaque upload id (hex, never derived from anything the person sent)."""
    return secrets.token_hex(16)


def _view(row: Upload) -> UploadView:
    return UploadView(row.id, row.owner, row.instance_id, row.task_id, row.filename, row.content_type, row.size,
                      row.sha256, row.created_at, row.attached_at is not None)


def _size(stream) -> int:
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


class Uploads:
    """Evidence files on the engine's sessions and clock, kept under `folder` (None: the configured instance folder's
    `uploads`, read when first needed)."""

    def __init__(self, engine, policy, folder: Path | None = None, quota: int = QUOTA_BYTES):
        self.engine, self.policy, self.folder, self.quota = engine, policy, folder, quota

    def root(self) -> Path:
        """The uploads folder."""
        if self.folder is None:
            self.folder = Settings.from_env().instance_path / "uploads"
        return Path(self.folder)

    def store(self, user: UserView, task_id: str | None, files: list[NewFile]) -> tuple[UploadView, ...]:
        """Store `files` for a task the person may act on now (None: a start form), all or none; PermissionDenied or
        InvalidState before anything is written, QuotaExceeded when they would pass their quota."""
        if not files:
            return ()
        now, written = self.engine.clock.now(), []
        try:
            with self.engine.unit_of_work() as session:
                instance_id = self._require_actor(session, user, task_id)
                sizes = [_size(f.stream) for f in files]
                used = self.unattached_bytes(session, user.username)
                if used + sum(sizes) > self.quota:
                    raise QuotaExceeded(used, sum(sizes), self.quota)
                rows = []
                for new, size in zip(files, sizes, strict=True):
                    digest = self._write(new)
                    written.append(new.id)
                    rows.append(Upload(id=new.id, owner=user.username, instance_id=instance_id, task_id=task_id,
                                       filename=_name(new.filename), content_type=content_type_of(new.filename),
                                       size=size,
                                       sha256=digest, created_at=now))
                session.add_all(rows)
                session.flush()
                return tuple(_view(r) for r in rows)
        except BaseException:
            for upload_id in written:       # nothing half-saved: a file without its row goes at once
                self.path_of(upload_id).unlink(missing_ok=True)
            raise

    def check_room(self, user: UserView, task_id: str | None, adding: int) -> None:
        """Before any byte is read: PermissionDenied/InvalidState/NotFound unless the person may act on the task now
        (None: a start form), QuotaExceeded when `adding` more bytes would pass their quota."""
        with self.engine.reading() as session:
            self._require_actor(session, user, task_id)
            used = self.unattached_bytes(session, user.username)
        if used + adding > self.quota:
            raise QuotaExceeded(used, adding, self.quota)

    def unattached_bytes(self, session: Session, username: str) -> int:
        """How much of the person's quota their unattached files take."""
        return session.scalar(select(func.coalesce(func.sum(Upload.size), 0))
                              .where(Upload.owner == username, Upload.attached_at.is_(None))) or 0

    def foreign(self, user: UserView, task_id: str | None, references: list[str]) -> set[str]:
        """The references that are not files this person uploaded for this task and that still exist."""
        wanted = {r for r in references if isinstance(r, str)}
        if not wanted:
            return set()
        with self.engine.reading() as session:
            mine = session.scalars(select(Upload.id).where(Upload.id.in_(wanted), Upload.owner == user.username,
                                                           _same_task(task_id))).all()
        return {r for r in references if r not in mine or not self.path_of(r).is_file()}

    def attach(self, user: UserView, task_id: str | None, instance_id: int, references: list[str]) -> None:
        """Mark the person's uploads named by a form submitted on the task (or the instance's start form) attached."""
        if not references:
            return
        with self.engine.unit_of_work() as session:
            rows = session.scalars(select(Upload).where(Upload.id.in_(set(references)),
                                                        Upload.owner == user.username, _same_task(task_id))).all()
            for row in rows:
                row.attached_at, row.instance_id = row.attached_at or self.engine.clock.now(), instance_id

    def describe(self, session: Session, instance_id: int) -> dict[str, UploadView]:
        """The instance's stored files by id (for case files and forms)."""
        rows = session.scalars(select(Upload).where(Upload.instance_id == instance_id)).all()
        return {row.id: _view(row) for row in rows}

    def mine(self, user: UserView, references: list[str]) -> dict[str, UploadView]:
        """The person's own uploads among `references`, by id (a form they are filling in shows its files)."""
        wanted = {r for r in references if isinstance(r, str)}
        if not wanted:
            return {}
        with self.engine.reading() as session:
            rows = session.scalars(select(Upload).where(Upload.id.in_(wanted), Upload.owner == user.username)).all()
            return {row.id: _view(row) for row in rows}

    def download(self, user: UserView, upload_id: str) -> tuple[UploadView, Path]:
        """The file and where it is, for someone who may see it; NotFound for unknown ids, PermissionDenied else."""
        with self.engine.reading() as session:
            row = session.get(Upload, upload_id) if len(upload_id) <= 32 else None
            if row is None or not self.path_of(row.id).is_file():
                raise NotFound("没有这个文件 (no such file)")
            visible = row.instance_id is not None and access.can_view_instance(session, user, row.instance_id)
            if not access.may_download(user, row.owner, visible, row.attached_at is not None):
                raise PermissionDenied("您无权查看此文件 (you may not see this file)")
            return _view(row), self.path_of(row.id)

    def sweep(self, now: datetime) -> int:
        """Delete unattached files older than ABANDONED_AFTER and those of tasks no longer open (refused or abandoned
        submits): rows and files; how many went."""
        with self.engine.unit_of_work() as session:
            open_task = select(HumanTask.id).where(HumanTask.id == Upload.task_id, HumanTask.status == "ready")
            rows = session.scalars(select(Upload).where(Upload.attached_at.is_(None), or_(
                Upload.created_at < now - ABANDONED_AFTER,
                Upload.task_id.isnot(None) & ~open_task.exists()))).all()
            for row in rows:
                session.delete(row)
            gone = [row.id for row in rows]
        for upload_id in gone:
            self.path_of(upload_id).unlink(missing_ok=True)
        return len(gone)

    def path_of(self, upload_id: str) -> Path:
        """Where the file with this id is stored (ids are hex: nothing the person typed reaches the path)."""
        hexadecimal = bool(upload_id) and all(c in "0123456789abcdef" for c in upload_id)
        if not (hexadecimal or LEGACY_NAME.fullmatch(upload_id or "")):
            return self.root() / "-"      # never a real file
        return self.root() / upload_id

    def _require_actor(self, session: Session, user: UserView, task_id: str | None) -> int | None:
        if task_id is None:
            return None
        human = session.get(HumanTask, task_id)
        if human is None:
            raise NotFound(f"没有任务 {task_id} (no such task)")
        if human.status != "ready":
            raise InvalidState("任务已办结 (task is not open)")
        self.policy.require_candidate(session, human, user.username)
        return human.instance_id

    def _write(self, new: NewFile) -> str:
        folder = self.root()
        folder.mkdir(parents=True, exist_ok=True)
        digest, target = hashlib.sha256(), self.path_of(new.id)
        new.stream.seek(0)
        with open(target, "xb") as out:       # "x": an id is never reused
            while chunk := new.stream.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        return digest.hexdigest()


def _same_task(task_id: str | None):
    return Upload.task_id.is_(None) if task_id is None else Upload.task_id == task_id


def _name(filename: str | None) -> str:
    """The original file name without any folder part, as shown and offered on download."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip() or "file"
    return name[-255:]


def content_type_of(filename: str | None) -> str:
    """The media type a file's name suggests."""
    return mimetypes.guess_type(_name(filename))[0] or "application/octet-stream"

