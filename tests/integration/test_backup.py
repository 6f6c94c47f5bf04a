"""`xieshang backup` / `xieshang restore` on SQLite and PostgreSQL: back up, change instances, tasks and files,
restore, and everything is as it was; a damaged, foreign or mismatched archive is refused with a clear message and
nothing changes."""

from __future__ import annotations

import copy
import io
import json
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from cli.main import cli
from domain.consultation.demo import load_demo
from domain.services import Services
from domain.work.models import Upload
from domain.work.uploads import NewFile, new_id
from engine.settings import Settings
from engine.store import backup as archive
from engine.store.models import HumanTask, ProcessInstance
from tests.conftest import CONSULTATION, ROOT
from tests.support.consultation import SCENARIOS
from tests.unit.webui.test_casefile import advance_to, started

PDF = b"%PDF-1.4\n% evidence\n%%EOF\n"


@pytest.fixture
def deployment(db_url, tmp_path, clock, monkeypatch):
    """A database with the demo county, a consultation at its research step with one evidence file, and the
    environment the `xieshang` command reads pointed at them."""
    instance = tmp_path / "instance"
    monkeypatch.setenv("XIESHANG_DATABASE_URL", db_url)
    monkeypatch.setenv("XIESHANG_INSTANCE_PATH", str(instance))
    monkeypatch.delenv("XIESHANG_REDIS_URL", raising=False)
    settings = Settings(db_url, None, instance, ROOT / "processes")
    services = Services.from_settings(settings, clock)
    with services.engine.unit_of_work() as session:
        load_demo(session, clock.now())
    services.engine.deploy([CONSULTATION], actor="owner")
    scenario = copy.deepcopy(SCENARIOS["township"])
    instance_id = started(services.engine, scenario)
    research = advance_to(services.engine, instance_id, scenario, "research")
    services.uploads.store(services.accounts.user(research.candidates[0]), research.id,
                           [NewFile(new_id(), "现场照片.pdf", io.BytesIO(PDF))])
    yield settings, services, scenario, instance_id
    services.engine.sessions.kw["bind"].dispose()


def state(settings: Settings, clock) -> dict:
    """Everything a restore must bring back, read through fresh services (the old connections may be gone)."""
    services = Services.from_settings(settings, clock)
    try:
        with services.engine.unit_of_work() as session:
            instances = session.execute(select(ProcessInstance.id, ProcessInstance.status, ProcessInstance.revision)
                                        .order_by(ProcessInstance.id)).all()
            tasks = session.execute(select(HumanTask.id, HumanTask.status, HumanTask.completed_by)
                                    .order_by(HumanTask.id)).all()
            uploads = session.execute(select(Upload.id, Upload.sha256, Upload.size).order_by(Upload.id)).all()
        folder = settings.instance_path / "uploads"
        files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
        return {"instances": [tuple(r) for r in instances], "tasks": [tuple(r) for r in tasks],
                "uploads": [tuple(r) for r in uploads], "files": files}
    finally:
        services.engine.sessions.kw["bind"].dispose()


def change_everything(services: Services, scenario, instance_id: int) -> None:
    """Complete a task, start another consultation, add a file and delete the stored one."""
    engine = services.engine
    task = engine.list_tasks(instance_id=instance_id)[0]
    engine.complete_task(task.id, scenario.answer(task.task_spec, engine.show_instance(instance_id).data),
                         actor=task.candidates[0], revision=task.revision)
    started(engine, copy.deepcopy(SCENARIOS["county"]))
    folder = services.uploads.root()
    for path in [p for p in folder.rglob("*") if p.is_file()]:
        path.unlink()
    (folder / "stray.bin").write_bytes(b"written after the backup")
    engine.sessions.kw["bind"].dispose()       # as the deployment's processes are stopped for a restore


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_restore_brings_back_instances_tasks_and_files_as_they_were(deployment, tmp_path, clock):
    settings, services, scenario, instance_id = deployment
    before = state(settings, clock)
    assert before["files"] and before["uploads"] and before["tasks"]
    backup_file = tmp_path / "xieshang-backup.tar.gz"

    made = run("backup", str(backup_file), "--json")
    assert made.exit_code == 0, made.output
    manifest = json.loads(made.output.splitlines()[0])
    assert manifest["format"] == "xieshang-backup" and manifest["schema_revision"] == archive.head_revision()
    assert manifest["counts"]["process_instance"] == 1 and manifest["counts"]["upload"] == 1
    assert manifest["files"] == 1 and len(manifest["checksums"]) == 2

    change_everything(services, scenario, instance_id)
    changed = state(settings, clock)
    assert changed != before and len(changed["instances"]) == 2 and "stray.bin" in changed["files"]

    restored = run("restore", str(backup_file), "--yes")
    assert restored.exit_code == 0, restored.output
    assert "restored" in restored.output and "1 instances" in restored.output
    assert state(settings, clock) == before
    assert not list(settings.instance_path.glob(".restore-*")) and not list(settings.instance_path.glob(".uploads-*"))


def rewrite(source: Path, target: Path, edit_manifest=None, edit_member=None) -> None:
    """A copy of an archive with its manifest and/or one member's bytes changed."""
    with tarfile.open(source, "r:gz") as tar, tarfile.open(target, "w:gz") as out:
        for member in tar:
            data = tar.extractfile(member).read()
            if member.name == archive.MANIFEST and edit_manifest:
                manifest = json.loads(data)
                edit_manifest(manifest)
                data = json.dumps(manifest).encode()
            elif edit_member and member.name != archive.MANIFEST:
                data = edit_member(member.name, data)
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))


def flip_a_byte_of_the_file(name: str, data: bytes) -> bytes:
    return data.replace(b"evidence", b"evidencf") if name.startswith("uploads/") else data


def double_count(manifest: dict) -> None:
    manifest["counts"]["human_task"] += 1


@pytest.mark.parametrize(("edit_manifest", "edit_member", "message"), [
    (None, flip_a_byte_of_the_file, "checksum mismatch"),
    (lambda m: m.update(schema_revision="9999zz"), None, "schema revision 9999zz is unknown"),
    (lambda m: m.update(format="something-else"), None, "not a xieshang backup"),
    (lambda m: m.update(format_version=99), None, "reads format 1"),
    (double_count, None, "does not match the manifest"),
], ids=["damaged file", "newer schema", "foreign archive", "future format", "counts differ"])
def test_a_bad_archive_is_refused_and_nothing_changes(deployment, tmp_path, clock, edit_manifest, edit_member,
                                                      message):
    settings, services, scenario, instance_id = deployment
    good = tmp_path / "good.tar.gz"
    assert run("backup", str(good)).exit_code == 0
    change_everything(services, scenario, instance_id)
    changed = state(settings, clock)
    bad = tmp_path / "bad.tar.gz"
    rewrite(good, bad, edit_manifest, edit_member)

    refused = run("restore", str(bad), "--yes")
    assert refused.exit_code == 1
    assert message in refused.output
    assert state(settings, clock) == changed


def test_a_truncated_archive_or_another_database_kind_is_refused(deployment, tmp_path, clock):
    settings, services, _scenario, _instance_id = deployment
    good = tmp_path / "good.tar.gz"
    assert run("backup", str(good)).exit_code == 0
    before = state(settings, clock)
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    refused = run("restore", str(truncated), "--yes")
    assert refused.exit_code == 1 and "damaged" in refused.output
    other = tmp_path / "other.tar.gz"
    kind = "postgresql" if settings.database_url.startswith("sqlite") else "sqlite"
    rewrite(good, other, lambda m: m.update(dialect=kind))
    refused = run("restore", str(other), "--yes")
    assert refused.exit_code == 1 and f"the archive holds a {kind} database" in refused.output
    assert state(settings, clock) == before


def test_without_pg_dump_the_backup_says_what_to_install(monkeypatch):
    monkeypatch.setattr(archive.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(archive.shutil, "which", lambda name: None)
    with pytest.raises(archive.BackupError, match="pg_dump not found: install the PostgreSQL client"):
        archive.backup("postgresql://x@127.0.0.1:1/x", Path("/nonexistent"), Path("/tmp/never.tar.gz"))


def test_a_backup_into_a_missing_folder_says_so(deployment, tmp_path):
    refused = run("backup", str(tmp_path / "no-such-folder" / "x.tar.gz"))
    assert refused.exit_code == 1 and "no such folder" in refused.output
    assert not (tmp_path / "no-such-folder").exists()


def test_restore_asks_first_and_a_no_changes_nothing(deployment, tmp_path, clock):
    settings, services, scenario, instance_id = deployment
    good = tmp_path / "good.tar.gz"
    assert run("backup", str(good)).exit_code == 0
    change_everything(services, scenario, instance_id)
    changed = state(settings, clock)
    answered = CliRunner().invoke(cli, ["restore", str(good)], input="n\n")
    assert answered.exit_code == 1
    assert "replace the current database and files with schema" in answered.output and "1 instances" in answered.output
    assert state(settings, clock) == changed
