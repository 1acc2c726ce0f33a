"""`papersift demo`: every stage that exists, offline, on the bundled sample.

A plain list of steps. A stage adds itself by appending one function `(ctx, console) -> None`
to DEMO_STEPS that does its work and prints one line saying what it did.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console

Step = Callable[[Any, Console], None]  # (cli.Ctx, console)


def sample_path() -> Path:
    """The bundled sample (real papers from the seed listings; see scripts/make_sample.py)."""
    return Path(str(resources.files("papersift") / "data" / "sample.jsonl"))


def import_sample(ctx: Any, console: Console) -> None:
    from .ingest import import_paths

    summary = import_paths(ctx.store, [sample_path()], "papers", kind="demo-import")
    c = summary.counts()
    console.print(f"import: {c['records']} sample papers -> {c['inserted']} new, {c['updated']} "
                  f"updated, {c['unchanged']} unchanged, {c['merged']} merged duplicates; "
                  f"store now holds {ctx.store.count_papers()} papers in "
                  f"{len(ctx.store.days())} days ({ctx.settings.db_target})")
    for err in summary.errors[:5]:
        console.print(f"[red]error:[/] {err}", highlight=False)


def enrich_offline(ctx: Any, console: Console) -> None:
    from .enrich.pipeline import demo_step

    demo_step(ctx, console)


def index_vectors(ctx: Any, console: Console) -> None:
    from .search.commands import demo_step

    demo_step(ctx, console)


def build_site(ctx: Any, console: Console) -> None:
    from .site.commands import demo_step

    demo_step(ctx, console)


DEMO_STEPS: list[Step] = [
    import_sample,
    enrich_offline,
    index_vectors,
    build_site,
]


def run_demo(ctx: Any, console: Console) -> None:
    """Run DEMO_STEPS in order on the store named by ctx.settings."""
    console.print(f"papersift demo: offline, on the bundled sample ({sample_path().name})")
    for step in DEMO_STEPS:
        step(ctx, console)
