"""`xieshang backup FILE` / `xieshang restore FILE`: the database and the uploaded files in one archive."""

from __future__ import annotations

import json
from pathlib import Path

import click

from engine.store import backup as archive


def _uploads(ctx: click.Context) -> Path:
    return ctx.find_root().obj["settings"].instance_path / "uploads"


def _summary(manifest: archive.Manifest) -> str:
    return (f"schema {manifest.schema_revision}, {manifest.dialect}, "
            f"{manifest.counts.get('process_instance', 0)} instances, {manifest.counts.get('human_task', 0)} tasks, "
            f"{manifest.files} files ({manifest.file_bytes} bytes)")


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the manifest.")
@click.pass_context
def backup(ctx, file: Path, as_json: bool) -> None:
    """Write the database and the uploaded files into FILE (a .tar.gz with a manifest); safe while serving."""
    manifest = archive.backup(ctx.find_root().obj["settings"].database_url, _uploads(ctx), file)
    if as_json:
        click.echo(json.dumps(manifest.as_dict(), ensure_ascii=False))
    click.echo(f"备份完成 (backed up) to {file}: {_summary(manifest)}", err=True)


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace the current database and files without asking.")
@click.pass_context
def restore(ctx, file: Path, yes: bool) -> None:
    """Replace the database and the uploaded files with FILE's, after checking it whole (stop web, workers and beat
    first); nothing changes if any check fails."""
    manifest = archive.read_manifest(file)
    if not yes:
        click.confirm(f"用 {file} 替换当前数据库和附件？(replace the current database and files with "
                      f"{_summary(manifest)})", abort=True)
    archive.restore(ctx.find_root().obj["settings"].database_url, _uploads(ctx), file)
    click.echo(f"恢复完成 (restored) from {file}: {_summary(manifest)}", err=True)
    if manifest.schema_revision != archive.head_revision():
        click.echo(f"数据库结构版本较旧：请运行 `xieshang init` 升级 (schema {manifest.schema_revision} is older than "
                   f"{archive.head_revision()}: run `xieshang init`)", err=True)
