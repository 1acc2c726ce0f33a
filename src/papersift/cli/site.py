"""`papersift build`, `papersift serve` and `papersift run` (the scheduled job)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ..jobs import build, run_daily
from ..site.build import BuildResult
from .common import (
    ConfigOpt,
    Ctx,
    DataDirOpt,
    SiteDirOpt,
    console,
    fail,
    guarded,
    parse_day,
    progress_bar,
    stage_progress,
)


def _build(ctx: Ctx, site_dir: Path | None, full: bool = False) -> BuildResult:
    with ctx.job("build") as store, progress_bar() as bar:
        return build(store, ctx.settings, site_dir, full=full, progress=stage_progress(bar))


def build_cmd(site_dir: SiteDirOpt = None,
              full: Annotated[bool, typer.Option("--full", help="Re-render every page.")] = False,
              config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Render the static site (incremental: only pages whose data changed are rewritten)."""
    ctx = Ctx(config, data_dir)
    try:
        res = _build(ctx, site_dir, full)
    except OSError as e:
        fail(f"build: cannot write the site ({e}); the previous site is left as it was")
    out = (site_dir or ctx.settings.site_dir)
    console.print(res.summary(), markup=False)
    console.print(f"open {out / 'index.html'} or run `papersift serve`", markup=False)


def serve_cmd(site_dir: SiteDirOpt = None,
              host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
              port: Annotated[int, typer.Option("--port")] = 8000,
              build: Annotated[bool, typer.Option("--build/--no-build",
                                                  help="Build the site first.")] = True,
              workers: Annotated[int | None, typer.Option(
                  "--workers", min=1, max=64,
                  help="Search processes (default: one per core, at most 4; 1 searches in "
                       "the server process).")] = None,
              config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Serve the site and the JSON API (/api/search, /api/papers/{id}, /docs)."""
    ctx = Ctx(config, data_dir)
    out = site_dir or ctx.settings.site_dir
    if build:
        console.print(_build(ctx, out).summary(), markup=False)
    elif not (out / "index.html").exists():
        fail(f"{out}/index.html not found: run `papersift build` first or drop --no-build")
    from ..api.serve import default_workers, serve  # the serve extra: loaded only here

    serve(ctx.settings, out, host, port, workers or default_workers(), say=console.print)


def run_cmd(date: Annotated[str | None, typer.Option("--date", help="HF day to collect, YYYY-MM-DD "
                                                      "(default: today, UTC).")] = None,
            offline: Annotated[bool, typer.Option("--offline", help="Skip collecting (no network).")] = False,
            since: Annotated[str | None, typer.Option("--since", help="Also collect every day from "
                                                       "this one, YYYY-MM-DD (default: the days "
                                                       "missed, up to backfill_days).")] = None,
            site_dir: SiteDirOpt = None,
            config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """The scheduled job: collect -> enrich -> index -> build. Safe to re-run: a second run
    changes nothing and makes no LLM call. Exits non-zero only if nothing was published."""
    day = parse_day("--date", date) or dt.datetime.now(dt.UTC).date()
    first = parse_day("--since", since)
    if first is not None and first > day:
        fail(f"--since {first} is after the day of the run ({day})")
    ctx = Ctx(config, data_dir, job="run")

    def say(line: str) -> None:
        if line.startswith("warning: "):
            console.print(f"[yellow]warning:[/] {escape(line[len('warning: '):])}", highlight=False)
        else:
            console.print(line, markup=False, highlight=False)

    with progress_bar() as bar:
        report = run_daily(ctx.store, ctx.settings, day, collect=not offline, since=first, site_dir=site_dir,
                           on_line=say, build_progress=stage_progress(bar))
    if not report.published:
        fail("run: nothing could be published (" + "; ".join(report.errors[:3]) + ")")


def register(app: typer.Typer) -> None:
    app.command("build")(guarded(build_cmd))
    app.command("serve")(guarded(serve_cmd))
    app.command("run")(guarded(run_cmd))
