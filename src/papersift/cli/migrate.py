"""`papersift migrate --to TARGET`: copy the configured store into another one."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from ..store import open_store
from ..store.migrate import migrate
from .common import ConfigOpt, Ctx, DataDirOpt, console, fail, guarded, progress_bar


def migrate_cmd(to: Annotated[str, typer.Option(
                    "--to", help="A postgresql:// URL or a SQLite file (made when missing).")],
                force: Annotated[bool, typer.Option(
                    "--force", help="Go on when the target holds different rows for some keys "
                    "(those rows stay as the target has them).")] = False,
                config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Copy every paper, source, enrichment, vector, run and log row of the store named by
    `db` into TARGET. A re-run copies only what is missing."""
    ctx = Ctx(config, data_dir)
    if to.strip() == str(ctx.settings.db_target):
        fail("migrate: --to names the store being copied; give another database or file")
    target = open_store(to)
    try:
        with progress_bar(transient=True) as bar:
            tasks: dict[str, Any] = {}

            def tick(table: str, done: int, total: int) -> None:
                if table not in tasks:
                    tasks[table] = bar.add_task(table, total=total or None)
                bar.update(tasks[table], completed=done)

            rep = migrate(ctx.store, target, force=force, progress=tick)
    finally:
        target.close()
    table = Table("table", "source", "target before", "copied", "target after", "differing")
    for name, c in rep.tables.items():
        table.add_row(name, str(c.source), str(c.target_before), str(c.copied), str(c.target_after),
                      str(c.conflicts))
    console.print(table)
    console.print(rep.summary(), markup=False, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("migrate")(guarded(migrate_cmd))
