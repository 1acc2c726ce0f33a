"""`papersift import PATH...` and `papersift demo`: thin CLI over ingest.py and pipeline.py."""


from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from ..ingest import ImportSummary
from .archives import FORMATS


def progress_bar() -> Progress:
    from ..cli import console

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
                    TimeRemainingColumn(), console=console, transient=True)


def print_summary(summary: "ImportSummary", title: str = "import") -> None:
    """What an import did, in one line, then its first errors (one line each)."""
    from ..cli import console

    c = summary.counts()
    console.print(
        f"[bold]{title}:[/] {c['files']} files, {c['records']} records -> "
        f"[green]{c['inserted']} inserted[/], {c['updated']} updated, {c['unchanged']} unchanged, "
        f"{c['merged']} merged duplicates; {c['enrichments']} enrichments "
        f"({c['enrichments_kept_llm']} kept: LLM), {c['days']} days, {c['readings']} readings, "
        f"[{'red' if c['errors'] else 'green'}]{c['errors']} errors[/]", highlight=False)
    for err in summary.errors[:20]:
        console.print(f"[red]error:[/] {err}", highlight=False, soft_wrap=True)
    if len(summary.errors) > 20:
        console.print(f"... and {len(summary.errors) - 20} more errors (see `papersift stats`)")


def register(app: typer.Typer) -> None:
    from ..cli import ConfigOpt, DataDirOpt

    @app.command("import")
    def import_cmd(
        paths: Annotated[list[Path], typer.Argument(help="Files to import (.gz is read transparently).")],
        fmt: Annotated[str, typer.Option("--format", help=f"One of: {', '.join(FORMATS)}.")] = "auto",
        year: Annotated[int | None, typer.Option(
            "--year", help="Year of year-less dates ('Jun 30') in saved HF listings.")] = None,
        config: ConfigOpt = None,
        data_dir: DataDirOpt = None,
    ) -> None:
        """Import archives: HFday JSON, daily-arXiv JSONL, HF API dumps, saved listings."""
        from ..cli import Ctx, fail
        from ..ingest import import_paths

        if fmt not in FORMATS:
            fail(f"--format {fmt!r} is not known; use one of {', '.join(FORMATS)}")
        for p in paths:
            if not p.is_file():
                fail(f"{p}: no such file; check the path")
        ctx = Ctx(config, data_dir)
        with progress_bar() as bar:
            tasks: dict[str, TaskID] = {}

            def on_progress(name: str, done: int, total: int) -> None:
                if name not in tasks:
                    tasks[name] = bar.add_task(name, total=total)
                bar.update(tasks[name], completed=done)

            summary = import_paths(ctx.store, paths, fmt, year, on_progress)
        print_summary(summary)
        if summary.errors and not summary.records:
            raise typer.Exit(1)

    @app.command("demo")
    def demo_cmd(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
        """Run every stage offline on the bundled sample of real papers."""
        from ..cli import Ctx, console
        from ..pipeline import run_demo

        run_demo(Ctx(config, data_dir), console)
