"""`papersift config` and `papersift stats`."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from ..search.engines import vectors_status
from .common import ConfigOpt, Ctx, DataDirOpt, console, guarded


def config_cmd(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Show the settings in force (secrets masked)."""
    ctx = Ctx(config, data_dir)
    console.print_json(json.dumps(ctx.settings.public()))


def stats(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Counts of what the store holds, and the last runs."""
    ctx = Ctx(config, data_dir)
    s = ctx.store
    days = s.days()
    console.print(f"store: {ctx.settings.db_target}")
    console.print(f"papers: {s.count_papers()}  days: {len(days)}"
                  + (f" ({days[0][0]} .. {days[-1][0]})" if days else ""))
    console.print(vectors_status(ctx.settings, s), markup=False)
    table = Table("run", "kind", "started", "status", "counts")
    for r in s.recent_runs(10):
        table.add_row(str(r.id), r.kind, r.started_at.isoformat(timespec="seconds"), r.status,
                      json.dumps(r.counts)[:80])
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("config")(guarded(config_cmd))
    app.command("stats")(guarded(stats))
