"""`papersift links`: code, stars, project pages and HF resource counts, refreshed at most
daily per paper (sources.links does the work and records the run)."""

from __future__ import annotations

from typing import Annotated

import typer

from ..enrich.runner import select_papers
from ..errors import PapersiftError
from ..sources.links import run_links
from .common import (
    ConfigOpt,
    Ctx,
    DataDirOpt,
    console,
    fail,
    guarded,
    paper_progress,
    parse_day,
    print_failed,
)


def links(
    date: Annotated[str | None, typer.Option("--date", help="The papers of one day (YYYY-MM-DD).")] = None,
    since: Annotated[str | None, typer.Option("--since", help="The papers of the days from this date on.")] = None,
    ids: Annotated[str | None, typer.Option("--ids", help="Comma-separated paper ids.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Look up papers refreshed in the last day too.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds before a request is retried.")] = 20.0,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """GitHub repo and stars, project page, and how many HF models, datasets and Spaces cite
    each paper (GITHUB_TOKEN optional: 5,000 GitHub requests an hour instead of 60)."""
    ctx = Ctx(config, data_dir, job="links")
    try:
        papers = select_papers(ctx.store, parse_day("--date", date), parse_day("--since", since),
                               [x for x in (ids or "").split(",") if x.strip()])
    except PapersiftError as e:
        fail(str(e))
    with paper_progress("links", len(papers)) as tick:
        res = run_links(ctx.store, ctx.settings, papers, force=force, on_paper=tick, timeout=timeout,
                        params={"date": date, "since": since, "ids": ids})
    console.print(res.summary(), markup=False, highlight=False)
    if res.rate_limited:
        console.print("[yellow]warning:[/] ", end="", highlight=False)
        console.print(res.rate_limited, markup=False, highlight=False)
    print_failed(res.failed, limit=10)


def register(app: typer.Typer) -> None:
    app.command("links")(guarded(links))
