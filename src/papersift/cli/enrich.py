"""`papersift enrich` and `papersift reading`."""

from __future__ import annotations

from typing import Annotated

import typer

from ..enrich.affiliations import arxiv_pdf_url, fetch_affiliations
from ..enrich.llm import LLM, LLMError, make_llm
from ..enrich.reading import ReadingUnavailable, make_reading
from ..enrich.runner import run_enrich, select_papers
from ..enrich.schema import PayloadError
from ..errors import PapersiftError
from ..http import HttpClient
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
    progress_bar,
)


def enrich(
    date: Annotated[str | None, typer.Option("--date", help="Enrich one day (YYYY-MM-DD).")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Enrich days from this date on.")] = None,
    ids: Annotated[str | None, typer.Option("--ids", help="Comma-separated paper ids.")] = None,
    provider: Annotated[str | None, typer.Option(help="openai (any compatible endpoint), anthropic or offline.")] = None,
    model: Annotated[str | None, typer.Option(help="Model name, e.g. gpt-4o-mini.")] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible endpoint URL.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Redo papers already enriched (ignores the cache).")] = False,
    concurrency: Annotated[int | None, typer.Option(help="Parallel LLM requests (default 8).")] = None,
    affiliations: Annotated[bool, typer.Option("--affiliations", help="Also read author affiliations from the PDFs.")] = False,
    pdf_base_url: Annotated[str, typer.Option("--pdf-base-url", help="Where PDFs are fetched from.")] = "https://arxiv.org/pdf/",
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Enrich papers: one validated LLM call each (or offline), cached, resumable."""
    ctx = Ctx(config, data_dir, job="enrich", provider=provider, model=model, base_url=base_url,
              concurrency=concurrency)
    s = ctx.settings
    if s.concurrency < 1:
        fail("concurrency must be at least 1 (--concurrency / PAPERSIFT_CONCURRENCY)")
    try:
        llm = make_llm(s)
        papers = select_papers(ctx.store, parse_day("--date", date), parse_day("--since", since),
                               [x for x in (ids or "").split(",") if x.strip()])
    except PapersiftError as e:
        fail(str(e))
    if llm is None:
        console.print("[yellow]no LLM provider configured: offline enrichment (English "
                      "extractive summary, tags, emoji; no ru/zh)[/]")
    with paper_progress("enrich", len(papers)) as tick:
        try:
            rep = run_enrich(ctx.store, papers, llm, s.languages, s.concurrency, force, tick)
        except PapersiftError as e:
            fail(str(e))
    cost = f"${rep.cost_usd:.4f}" if rep.price_known else "unknown (no price for this model)"
    console.print(f"enrich ({rep.method}{', ' + rep.model if llm else ''}): "
                  f"{rep.selected} selected, {rep.done} done, {rep.cached} cached, "
                  f"{rep.skipped} already done, {len(rep.failed)} failed, "
                  f"{rep.repaired} repaired; calls {rep.calls}, tokens "
                  f"{rep.input_tokens} in / {rep.output_tokens} out, cost {cost}, "
                  f"{rep.seconds:.1f}s", markup=False, highlight=False)
    print_failed(rep.failed)
    if affiliations:
        _affiliations(ctx, [p.id for p in papers], make_llm(s), pdf_base_url, force)


def reading(
    date: Annotated[str | None, typer.Option("--date", help="Day (default: latest day).")] = None,
    provider: Annotated[str | None, typer.Option(help="openai or anthropic.")] = None,
    model: Annotated[str | None, typer.Option(help="Model name.")] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible endpoint URL.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Write it again.")] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """The Chinese reading task for a day (needs an LLM; skipped offline)."""
    ctx = Ctx(config, data_dir, job="reading", provider=provider, model=model, base_url=base_url)
    try:
        llm = make_llm(ctx.settings)
    except PapersiftError as e:
        fail(str(e))
    day = parse_day("--date", date)
    if day is None:
        days = ctx.store.days()
        if not days:
            fail("the store has no days yet: collect papers first")
        day = days[-1][0]
    try:
        r = make_reading(ctx.store, day, llm, force)
    except ReadingUnavailable as e:
        console.print("[yellow]reading skipped:[/] ", end="", highlight=False)
        console.print(str(e), markup=False, highlight=False)
        return
    except (LLMError, PayloadError) as e:
        fail(f"reading for {day}: {e}")
    for text in (f"{r.title} ({day}, paper {r.source_paper_id})", r.text, r.pinyin, r.translation,
                 f"vocabulary: {len(r.vocab)} words: "
                 + ", ".join(f"{v.word} ({v.pinyin}) {v.trans}" for v in r.vocab[:12])):
        console.print(text, markup=False, highlight=False)


def _affiliations(ctx: Ctx, ids: list[str], llm: LLM | None, pdf_base_url: str, force: bool) -> None:
    store = ctx.store
    papers = list(store.get_papers(ids).values())
    with HttpClient(timeout=ctx.settings.request_timeout,
                    min_interval={"arxiv.org": 1.0}) as http, progress_bar(status=True, transient=False) as bar:
        task = bar.add_task("affiliations", total=len(papers), status="")
        rep = fetch_affiliations(store, papers, http, llm, arxiv_pdf_url(pdf_base_url), force,
                                 lambda pid, st: bar.update(task, advance=1, status=st))
    console.print(f"affiliations: {rep.done} done, {rep.cached} cached, {rep.skipped} already "
                  f"known, {len(rep.failed)} failed", highlight=False)
    print_failed(rep.failed)


def register(app: typer.Typer) -> None:
    app.command("enrich")(guarded(enrich))
    app.command("reading")(guarded(reading))
