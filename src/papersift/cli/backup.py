"""`papersift backup FILE`, `papersift restore FILE` and `papersift export DIR`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from ..archive import export_store
from ..store import Store
from ..store.base import Snapshots
from .common import ConfigOpt, Ctx, DataDirOpt, console, fail, guarded, progress_bar, stage_progress


def _snapshots(store: Store, what: str) -> Snapshots:
    if not isinstance(store, Snapshots):
        fail(f"{what}: this store has no file snapshots; back up a PostgreSQL store with "
             "pg_dump, or use `papersift export`")
    return store


def _summary(store: Store) -> str:
    return f"{store.count_papers()} papers in {len(store.days())} days"


def backup_cmd(file: Annotated[Path, typer.Argument(help="Where to write the copy (replaced atomically).")],
               config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """A consistent copy of the store, taken while `serve` and `run` keep using it."""
    ctx = Ctx(config, data_dir)
    size = _snapshots(ctx.store, "backup").backup_to(file)
    console.print(f"backup: {_summary(ctx.store)} -> {file} ({size / 1e6:.1f} MB)",
                  markup=False, highlight=False, soft_wrap=True)


def restore_cmd(file: Annotated[Path, typer.Argument(help="A file `papersift backup` wrote.")],
                config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Replace the store's content with a backup. The current content is first saved beside
    the store (papersift.db.pre-restore-<time>), so nothing is lost by restoring."""
    ctx = Ctx(config, data_dir, job="restore")
    snaps = _snapshots(ctx.store, "restore")
    before = _summary(ctx.store)
    db = Path(ctx.settings.db_target)
    if ctx.store.count_papers() or ctx.store.recent_runs(1):
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        saved = db.with_name(f"{db.name}.pre-restore-{stamp}")
        snaps.backup_to(saved)
        console.print(f"restore: the current store ({before}) saved as {saved}",
                      markup=False, highlight=False, soft_wrap=True)
    snaps.restore_from(file)
    console.print(f"restore: {file} -> {db}: now {_summary(ctx.store)} (was {before})",
                  markup=False, highlight=False, soft_wrap=True)


def export_cmd(folder: Annotated[Path, typer.Argument(help="An empty folder or an earlier export.")],
               vectors: Annotated[bool, typer.Option(
                   "--vectors", help="Include the vectors (else only which texts were embedded).")] = False,
               config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """The whole store as diff-friendly files (one JSON Lines file per day of papers, ...);
    `papersift import FOLDER` reads them back. Unchanged files are not rewritten."""
    ctx = Ctx(config, data_dir)
    with progress_bar() as bar:
        rep = export_store(ctx.store, folder, vectors=vectors, progress=stage_progress(bar))
    console.print(rep.summary(), markup=False, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("export")(guarded(export_cmd))
    app.command("backup")(guarded(backup_cmd))
    app.command("restore")(guarded(restore_cmd))
