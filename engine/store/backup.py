"""One archive holds the database and the uploaded files, with a manifest (version, schema revision, row counts,
checksums); a restore checks all of it first and swaps the restored copy in whole, or changes nothing.

SQLite is copied with its online backup API (consistent while the app runs) and restored through it (one
transaction: readers see the old database or the new one). PostgreSQL goes through pg_dump/pg_restore in custom
format: the dump is restored into a fresh database, counted, and only then renamed into place.
"""

from __future__ import annotations

import glob
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, func, inspect, select, table, text
from sqlalchemy.engine import URL, make_url

from engine.errors import EngineError
from engine.store import db

FORMAT = "xieshang-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
FILES = "uploads"                     # the archive's folder of uploaded files
DUMPS = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
_CHUNK = 1024 * 1024


class BackupError(EngineError):
    """A backup or restore that cannot be done; nothing was changed."""


@dataclass(frozen=True)
class Manifest:
    """What an archive holds, written first so a restore can refuse before touching anything."""

    xieshang_version: str
    schema_revision: str | None
    created_at: str
    dialect: str
    counts: dict[str, int]
    files: int
    file_bytes: int
    checksums: dict[str, str]           # archive member → sha256

    def as_dict(self) -> dict:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, **self.__dict__}


# --- helpers ---------------------------------------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _package_version() -> str:
    try:
        return version("xieshang")
    except PackageNotFoundError:
        return "unknown"


def known_revisions() -> set[str]:
    """Every schema revision this version's migrations know."""
    scripts = ScriptDirectory.from_config(db.alembic_config("sqlite://"))
    return {script.revision for script in scripts.walk_revisions()}


def head_revision() -> str:
    """The newest schema revision this version migrates to."""
    return ScriptDirectory.from_config(db.alembic_config("sqlite://")).get_current_head()


def table_counts(connection: Connection) -> tuple[str | None, dict[str, int]]:
    """(schema revision, rows per table) of a database, read on one connection (one snapshot when it is in a
    repeatable-read transaction)."""
    names = sorted(inspect(connection).get_table_names())
    counts = {name: connection.execute(select(func.count()).select_from(table(name))).scalar_one()
              for name in names if name != "alembic_version"}
    revision = (connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
                if "alembic_version" in names else None)
    return revision, counts


def _counts_of(engine: Engine) -> tuple[str | None, dict[str, int]]:
    try:
        with engine.connect() as connection:
            return table_counts(connection)
    finally:
        engine.dispose()


def _dialect(url: str) -> str:
    name = make_url(db.normalize_url(url)).get_backend_name()
    if name not in DUMPS:
        raise BackupError(f"不支持的数据库 (unsupported database): {name}")
    return name


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("内存数据库无法备份 (an in-memory database cannot be backed up)")
    return Path(database)


def _pg_tool(name: str) -> str:
    """The newest pg_dump/pg_restore on this machine (Debian keeps them per version), or a clear refusal."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4])) or \
        [p for p in [shutil.which(name)] if p]
    if not found:
        raise BackupError(f"找不到 {name}：请安装 PostgreSQL 客户端 (postgresql-client) "
                          f"({name} not found: install the PostgreSQL client programs)")
    return found[-1]


def _libpq(url: URL, database: str | None = None) -> tuple[list[str], dict[str, str]]:
    """Connection arguments for the PostgreSQL programs (the password in the environment, never on a command line)."""
    args = ["--host", url.host or "localhost", "--port", str(url.port or 5432),
            "--username", url.username or "postgres", "--dbname", database or url.database or "postgres"]
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = url.password
    return args, env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{what} 失败 (failed): {result.stderr.strip()[-2000:]}")


# --- backup ----------------------------------------------------------------------------------------------------------
def backup(url: str, uploads: Path, archive: Path) -> Manifest:
    """Write the database and every file under `uploads` into `archive` (a gzip tar), written aside and renamed."""
    dialect = _dialect(url)
    archive = archive.resolve()
    if not archive.parent.is_dir():
        raise BackupError(f"目录不存在 (no such folder): {archive.parent}")
    with tempfile.TemporaryDirectory(prefix="xieshang-backup-", dir=archive.parent) as work:
        dump = Path(work) / DUMPS[dialect]
        if dialect == "sqlite":
            _dump_sqlite(url, dump)
            revision, counts = _counts_of(create_engine(f"sqlite:///{dump}"))
        else:
            revision, counts = _dump_postgres(make_url(db.normalize_url(url)), dump)
        members = {DUMPS[dialect]: dump}
        if uploads.is_dir():
            members.update({f"{FILES}/{path.relative_to(uploads).as_posix()}": path
                            for path in sorted(uploads.rglob("*")) if path.is_file()})
        files = [name for name in members if name.startswith(f"{FILES}/")]
        manifest = Manifest(_package_version(), revision, datetime.now(UTC).isoformat(), dialect, counts,
                            len(files), sum(members[name].stat().st_size for name in files),
                            {name: _sha256(path) for name, path in members.items()})
        draft = Path(work) / "archive.tar.gz"
        with tarfile.open(draft, "w:gz") as tar:
            data = json.dumps(manifest.as_dict(), ensure_ascii=False, indent=2).encode("utf-8")
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime = len(data), int(datetime.now(UTC).timestamp())
            tar.addfile(info, io.BytesIO(data))
            for name, path in members.items():
                tar.add(path, arcname=name, recursive=False)
        os.replace(draft, archive)
    return manifest


def _dump_sqlite(url: str, dump: Path) -> None:
    source = sqlite3.connect(_sqlite_path(url))
    target = sqlite3.connect(dump)
    try:
        with target:
            source.backup(target)
    finally:
        source.close()
        target.close()


def _dump_postgres(url: URL, dump: Path) -> tuple[str | None, dict[str, int]]:
    """pg_dump of the snapshot the counts are read in (pg_export_snapshot), so the manifest describes the dump."""
    tool = _pg_tool("pg_dump")
    args, env = _libpq(url)
    engine = db.make_engine(url.render_as_string(hide_password=False))
    try:
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
                revision, counts = table_counts(connection)
                _run([tool, *args, "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                      "--file", str(dump)], env, "pg_dump")
    finally:
        engine.dispose()
    return revision, counts


# --- restore ---------------------------------------------------------------------------------------------------------
def read_manifest(archive: Path) -> Manifest:
    """The archive's manifest, after checking it is one of ours in a format this version reads."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            member = tar.extractfile(MANIFEST)
            raw = json.loads(member.read().decode("utf-8")) if member else None
    except (OSError, EOFError, tarfile.TarError, KeyError, ValueError) as exc:
        raise BackupError(f"备份文件无法读取或已损坏 (the archive is unreadable or damaged): {archive}: {exc}") from exc
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise BackupError(f"不是 xieshang 备份文件 (not a xieshang backup): {archive}")
    if raw.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"备份格式版本 {raw.get('format_version')} 无法读取 (this version reads format "
                          f"{FORMAT_VERSION})")
    fields = {key: raw[key] for key in Manifest.__dataclass_fields__ if key in raw}
    try:
        return Manifest(**fields)
    except TypeError as exc:
        raise BackupError(f"备份清单不完整 (incomplete manifest): {exc}") from exc


def restore(url: str, uploads: Path, archive: Path) -> Manifest:
    """Replace the database and the uploads folder with the archive's, or change nothing (BackupError says why)."""
    manifest = read_manifest(archive)
    dialect = _dialect(url)
    if manifest.dialect != dialect:
        raise BackupError(f"备份来自 {manifest.dialect} 数据库，当前为 {dialect} "
                          f"(the archive holds a {manifest.dialect} database; this deployment uses {dialect})")
    if manifest.schema_revision not in known_revisions():
        raise BackupError(f"备份的数据库结构版本 {manifest.schema_revision} 不为本版本所知：请用更新的 xieshang 恢复 "
                          f"(schema revision {manifest.schema_revision} is unknown to this version "
                          f"{_package_version()}; restore with the version that made it)")
    uploads = uploads.resolve()
    uploads.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=uploads.parent))
    try:
        _unpack_checked(archive, manifest, staging)
        previous = _swap_in(staging / FILES, uploads)
        try:
            if dialect == "sqlite":
                _restore_sqlite(url, staging / DUMPS[dialect], manifest)
            else:
                _restore_postgres(make_url(db.normalize_url(url)), staging / DUMPS[dialect], manifest)
        except BaseException:
            _swap_back(uploads, previous, staging / "refused")
            raise
        if previous is not None:
            shutil.rmtree(previous, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _unpack_checked(archive: Path, manifest: Manifest, staging: Path) -> None:
    """Extract every member the manifest lists (and nothing else) and check its sha256."""
    expected = dict(manifest.checksums)
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                if member.name == MANIFEST:
                    continue
                if member.name not in expected or not member.isfile():
                    raise BackupError(f"备份中有清单之外的内容 (a member the manifest does not list): {member.name}")
                tar.extract(member, staging, filter="data")
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise BackupError(f"备份文件已损坏 (the archive is damaged): {exc}") from exc
    for name, checksum in expected.items():
        path = staging / name
        if not path.is_file():
            raise BackupError(f"备份缺少文件 (missing from the archive): {name}")
        if _sha256(path) != checksum:
            raise BackupError(f"校验和不符，备份已损坏 (checksum mismatch, the archive is damaged): {name}")
    (staging / FILES).mkdir(exist_ok=True)


def _check_counts(engine: Engine, manifest: Manifest, where: str) -> None:
    revision, counts = _counts_of(engine)
    if revision != manifest.schema_revision or counts != manifest.counts:
        differing = sorted(name for name in set(counts) | set(manifest.counts)
                           if counts.get(name) != manifest.counts.get(name))
        raise BackupError(f"恢复后的{where}与清单不符 (the restored {where} does not match the manifest): "
                          f"revision {revision} vs {manifest.schema_revision}; tables {differing[:10]}")


def _restore_sqlite(url: str, dump: Path, manifest: Manifest) -> None:
    """Check the copy, then copy it over the live file through the backup API: one transaction."""
    _check_counts(create_engine(f"sqlite:///{dump}"), manifest, "database")
    path = _sqlite_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    source, target = sqlite3.connect(dump), sqlite3.connect(path, timeout=30)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


def _restore_postgres(url: URL, dump: Path, manifest: Manifest) -> None:
    """pg_restore into a new database, count it, then rename it into place (the old one dropped after)."""
    name = url.database or "postgres"
    suffix = os.urandom(4).hex()
    fresh, old = f"{name}_restore_{suffix}", f"{name}_old_{suffix}"
    admin = db.make_engine(url.set(database="postgres").render_as_string(hide_password=False))
    admin = admin.execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{fresh}"'))
        try:
            args, env = _libpq(url, fresh)
            _run([_pg_tool("pg_restore"), *args, "--no-owner", "--no-privileges", "--exit-on-error", str(dump)],
                 env, "pg_restore")
            _check_counts(db.make_engine(url.set(database=fresh).render_as_string(hide_password=False)), manifest,
                          "database")
            swap = db.make_engine(url.set(database="postgres").render_as_string(hide_password=False))
            try:
                with swap.begin() as connection:       # both renames or neither
                    _disconnect_all(connection, name)
                    connection.execute(text(f'ALTER DATABASE "{name}" RENAME TO "{old}"'))
                    connection.execute(text(f'ALTER DATABASE "{fresh}" RENAME TO "{name}"'))
            finally:
                swap.dispose()
        except BaseException:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{fresh}"'))
            raise
        with admin.connect() as connection:
            _disconnect_all(connection, old)
            connection.execute(text(f'DROP DATABASE IF EXISTS "{old}"'))
    finally:
        admin.dispose()


def _disconnect_all(connection, database: str) -> None:
    """End other sessions on `database` (a running web process reconnects to the restored one)."""
    connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": database})


def _swap_in(restored: Path, uploads: Path) -> Path | None:
    """Put the restored folder where the uploads are, by rename; returns where the previous folder went (None: there
    was none), kept until the database is restored too."""
    previous = None
    if uploads.exists():
        previous = uploads.with_name(f".{uploads.name}-old-{os.urandom(4).hex()}")
        os.replace(uploads, previous)
    os.replace(restored, uploads)
    return previous


def _swap_back(uploads: Path, previous: Path | None, aside: Path) -> None:
    """Undo _swap_in: the database was not restored, so the files are not either."""
    os.replace(uploads, aside)
    if previous is not None:
        os.replace(previous, uploads)
