"""`papersift images`: title images, teaser figures (and thumbnails) for stored papers,
with the affiliations read from the same PDF downloads."""

from __future__ import annotations

from typing import Annotated

import typer

from ..enrich.llm import make_llm
from ..enrich.runner import select_papers
from ..errors import PapersiftError
from ..images.job import images_dir, images_step
from ..images.pipeline import KINDS
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
    split_csv,
)


def images(
    date: Annotated[str | None, typer.Option("--date", help="Papers of one day (YYYY-MM-DD).")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Papers of the days from this date on.")] = None,
    ids: Annotated[str | None, typer.Option("--ids", help="Comma-separated paper ids.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Download and make every image again.")] = False,
    kinds: Annotated[list[str] | None, typer.Option(
        "--kind", help=f"Which images ({', '.join(KINDS)}; default: title and figure, plus "
                       "thumbnail when card_image = thumbnail). Repeatable.")] = None,
    affiliations: Annotated[bool, typer.Option(
        "--affiliations/--no-affiliations",
        help="Also read author affiliations from the same PDFs.")] = True,
    concurrency: Annotated[int, typer.Option(min=1, max=16, help="Papers in flight.")] = 4,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Make each paper's title image (page 1 of its arXiv PDF) and teaser figure (arXiv
    HTML), cached: a re-run downloads and renders nothing."""
    ctx = Ctx(config, data_dir, job="images")
    s = ctx.settings
    chosen = tuple(split_csv(kinds)) or None
    for k in chosen or ():
        if k not in KINDS:
            fail(f"--kind {k!r}: not an image kind; use {', '.join(KINDS)}")
    try:
        papers = select_papers(ctx.store, parse_day("--date", date), parse_day("--since", since),
                               split_csv([ids] if ids else None))
        llm = make_llm(s) if affiliations else None
    except PapersiftError as e:
        fail(str(e))
    with paper_progress("images", len(papers)) as tick:
        rep = images_step(ctx.store, s, papers, llm=llm, affiliations=affiliations, force=force,
                          concurrency=concurrency, kinds=chosen, progress=tick)
    console.print(rep.summary(), markup=False, highlight=False)
    console.print(f"files in {images_dir(s)}; `papersift build` copies them into the site",
                  markup=False, highlight=False)
    print_failed(rep.failed)


def register(app: typer.Typer) -> None:
    app.command("images")(guarded(images))
