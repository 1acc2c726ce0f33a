"""`papersift import PATH...` and `papersift demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..archive import import_archive, is_archive
from ..ingest import ImportSummary, import_paths
from ..jobs import run_demo
from ..sources.archives import FORMATS
from .common import ConfigOpt, Ctx, DataDirOpt, console, fail, guarded, progress_bar, say, stage_progress


def print_summary(summary: ImportSummary, title: str = "import") -> None:
    """What an import did, in one line, then its first errors (one line each)."""
    c = summary.counts()
    console.print(
        f"[bold]{title}:[/] {c['files']} files, {c['records']} records -> "
        f"[green]{c['inserted']} inserted[/], {c['updated']} updated, {c['unchanged']} unchanged, "
        f"{c['merged']} merged duplicates; {c['enrichments']} enrichments "
        f"({c['enrichments_kept_llm']} kept: LLM), {c['days']} days, {c['readings']} readings, "
        f"[{'red' if c['errors'] else 'green'}]{c['errors']} errors[/]", highlight=False)
    for err in summary.errors[:20]:
        console.print("[red]error:[/] ", end="", highlight=False)
        console.print(err, markup=False, highlight=False, soft_wrap=True)
    if len(summary.errors) > 20:
        console.print(f"... and {len(summary.errors) - 20} more errors (see `papersift stats`)")


def import_cmd(
    paths: Annotated[list[Path], typer.Argument(
        help="Files to import (.gz is read transparently), or one folder `papersift export` wrote.")],
    fmt: Annotated[str, typer.Option("--format", help=f"One of: {', '.join(FORMATS)}.")] = "auto",
    year: Annotated[int | None, typer.Option(
        "--year", help="Year of year-less dates ('Jun 30') in saved HF listings.")] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Import archives: HFday JSON, daily-arXiv JSONL, HF API dumps, saved listings, or a
    folder written by `papersift export`."""
    if len(paths) == 1 and is_archive(paths[0]):
        ctx = Ctx(config, data_dir, job="import")
        with progress_bar() as bar:
            rep = import_archive(ctx.store, paths[0], stage_progress(bar))
        console.print(rep.summary(), markup=False, highlight=False, soft_wrap=True)
        for err in rep.errors[:20]:
            console.print("[red]error:[/] ", end="", highlight=False)
            console.print(err, markup=False, highlight=False, soft_wrap=True)
        return
    if fmt not in FORMATS:
        fail(f"--format {fmt!r} is not known; use one of {', '.join(FORMATS)}")
    for p in paths:
        if p.is_dir():
            fail(f"{p}: a folder without {'manifest.json'}: import files, or a folder "
                 "`papersift export` wrote")
        if not p.is_file():
            fail(f"{p}: no such file; check the path")
    ctx = Ctx(config, data_dir, job="import")
    with progress_bar(unit="bytes", eta=True) as bar:
        summary = import_paths(ctx.store, paths, fmt, year, stage_progress(bar))
    print_summary(summary)
    if summary.errors and not summary.records:
        raise typer.Exit(1)


def demo_cmd(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Run every stage offline on the bundled sample of real papers."""
    ctx = Ctx(config, data_dir, job="demo")
    with progress_bar() as bar:
        run_demo(ctx.store, ctx.settings, on_line=say, build_progress=stage_progress(bar))


def register(app: typer.Typer) -> None:
    app.command("import")(guarded(import_cmd))
    app.command("demo")(guarded(demo_cmd))
