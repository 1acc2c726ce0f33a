"""`papersift ...`: a thin layer over the library. Each command opens the store, calls one
stage, prints a summary. Stage logic lives in its package, not here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .config import ConfigError, Settings, load_settings
from .store import SQLiteStore, open_store

app = typer.Typer(help="papersift: collect, enrich, search and publish ML/AI papers.",
                  no_args_is_help=True, add_completion=False)
console = Console()
err_console = Console(stderr=True)

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="papersift.toml to read.")]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Where the SQLite file lives.")]


class Ctx:
    """Settings + store for one command, opened lazily."""

    def __init__(self, config: Path | None = None, data_dir: Path | None = None, **overrides):
        try:
            self.settings: Settings = load_settings(config, data_dir=data_dir, **overrides)
        except ConfigError as e:
            fail(str(e))
        self._store: SQLiteStore | None = None

    @property
    def store(self) -> SQLiteStore:
        if self._store is None:
            self._store = open_store(self.settings.db_target)
        return self._store


def fail(message: str, code: int = 1) -> None:
    """One clear line on stderr, then exit."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@app.command("config")
def config_cmd(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Show the settings in force (secrets masked)."""
    ctx = Ctx(config, data_dir)
    console.print_json(json.dumps(ctx.settings.public()))


@app.command()
def stats(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Counts of what the store holds, and the last runs."""
    ctx = Ctx(config, data_dir)
    s = ctx.store
    days = s.days()
    console.print(f"store: {ctx.settings.db_target}")
    console.print(f"papers: {s.count_papers()}  days: {len(days)}"
                  + (f" ({days[0][0]} .. {days[-1][0]})" if days else ""))
    table = Table("run", "kind", "started", "status", "counts")
    for r in s.recent_runs(10):
        table.add_row(str(r.id), r.kind, r.started_at.isoformat(timespec="seconds"), r.status,
                      json.dumps(r.counts)[:80])
    console.print(table)


# Stage commands register themselves here, one line each (keeps this file thin):
from .sources.import_commands import register as _register_import; _register_import(app)  # noqa: E402
from .sources.commands import register as _register_collect; _register_collect(app)  # noqa: E402
from .enrich.commands import register as _register_enrich; _register_enrich(app)  # noqa: E402
from .site.commands import register as _register_site; _register_site(app)  # noqa: E402
from .search.commands import register as _register_search; _register_search(app)  # noqa: E402
