"""`papersift search`, `papersift similar`, `papersift index`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from ..search.embed import EmbedderError
from ..search.engine import SearchEngine, SearchQuery, SearchResults
from ..search.engines import open_engine
from ..search.highlight import Span
from ..search.indexing import run_index
from .common import ConfigOpt, Ctx, DataDirOpt, console, fail, guarded, parse_day, progress_bar, split_csv

EmbedOpt = Annotated[str | None, typer.Option("--embedder", help="auto | minilm | model2vec | none.")]


def _engine(ctx: Ctx, lexical_only: bool = False) -> SearchEngine:
    try:
        return open_engine(ctx.settings, ctx.store, "query", lexical_only=lexical_only)
    except EmbedderError as e:
        fail(str(e))


def _rich(spans: list[Span]) -> str:
    return "".join(f"[bold yellow]{escape(s['text'])}[/]" if s["type"] == "highlight" else escape(s["text"])
                   for s in spans)


def print_results(res: SearchResults, as_json: bool) -> None:
    if as_json:
        # Plain print: rich would re-wrap and colour the JSON.
        typer.echo(res.model_dump_json(indent=2))
        return
    if not res.hits:
        console.print(f"no results ({res.mode}, {res.took_ms:.1f} ms)")
        return
    for i, h in enumerate(res.hits, start=res.offset + 1):
        p = h.paper
        n_auth = p.num_authors or len(p.authors)
        meta = [f"{n_auth} authors" if n_auth else "authors unknown",
                str(p.day) if p.day else "no date",
                f"▲ {p.upvotes}" if p.upvotes is not None else "",
                " ".join(f"#{t}" for t in h.tags), p.id]
        if h.duplicates:
            meta.append(f"(+{len(h.duplicates)} duplicate{'s' if len(h.duplicates) > 1 else ''} merged)")
        console.print(f"[bold]{i}. {_rich(h.highlightedTitle)}[/]", highlight=False)
        console.print("   [dim]" + escape("  ·  ".join(m for m in meta if m)) + "[/]", highlight=False)
        if h.snippet:
            console.print("   " + _rich(h.snippet), highlight=False)
    shown = f"{res.offset + 1}-{res.offset + len(res.hits)}"
    console.print(f"[dim]{shown} of {res.total} results · {res.mode}"
                  + (f" ({res.embedder})" if res.embedder and res.mode != "lexical" else "")
                  + f" · {res.took_ms:.1f} ms[/]")


def search(
    query: Annotated[str, typer.Argument(help='Words, "exact phrases", author:name.')] = "",
    tags: Annotated[list[str] | None, typer.Option("--tags", help="Topic tags (any of), comma-separated.")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="Earliest day, YYYY-MM-DD.")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Latest day, YYYY-MM-DD.")] = None,
    min_upvotes: Annotated[int | None, typer.Option("--min-upvotes", min=0)] = None,
    source: Annotated[list[str] | None, typer.Option("--source", help="Provenance (hf, arxiv, ...).")] = None,
    category: Annotated[list[str] | None, typer.Option("--category", help="arXiv category, e.g. cs.CL.")] = None,
    sort: Annotated[str, typer.Option("--sort", help="relevance | date | upvotes")] = "relevance",
    mode: Annotated[str, typer.Option("--mode", help="hybrid | lexical | semantic")] = "hybrid",
    limit: Annotated[int, typer.Option("--limit", min=1, max=200)] = 10,
    offset: Annotated[int, typer.Option("--offset", min=0, max=10_000)] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print SearchResults as JSON.")] = False,
    embedder: EmbedOpt = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Search papers (BM25 + embeddings); prints a readable list or --json."""
    ctx = Ctx(config, data_dir, embedder=embedder)
    if sort not in ("relevance", "date", "upvotes"):
        fail(f"--sort {sort!r}: use relevance, date or upvotes")
    if mode not in ("hybrid", "lexical", "semantic"):
        fail(f"--mode {mode!r}: use hybrid, lexical or semantic")
    q = SearchQuery(q=query, tags=split_csv(tags), date_from=parse_day("--from", date_from),
                    date_to=parse_day("--to", date_to), min_upvotes=min_upvotes,
                    sources=split_csv(source), categories=split_csv(category), sort=sort,  # type: ignore[arg-type]
                    mode=mode, limit=limit, offset=offset)  # type: ignore[arg-type]
    print_results(_engine(ctx, lexical_only=mode == "lexical").search(q), as_json)


def similar(
    paper_id: Annotated[str, typer.Argument(help="arXiv id, URL or ps- key.")],
    limit: Annotated[int, typer.Option("--limit", min=1, max=200)] = 10,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    embedder: EmbedOpt = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Papers like this one (nearest embeddings; BM25 on its text without vectors)."""
    ctx = Ctx(config, data_dir, embedder=embedder)
    try:
        res = _engine(ctx).similar(paper_id, limit)
    except KeyError:
        fail(f"paper {paper_id!r} is not in {ctx.settings.db_target}; check the id "
             "(papersift search can find it)")
    print_results(res, as_json)


def index(
    embedder: EmbedOpt = None,
    batch: Annotated[int, typer.Option("--batch", min=1, max=4096)] = 128,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Compute vectors for new or changed papers (incremental) with a progress bar."""
    ctx = Ctx(config, data_dir, job="index", embedder=embedder)
    with progress_bar(eta=True) as bar:
        task = bar.add_task("embedding", total=None)
        try:
            report = run_index(ctx.store, ctx.settings, batch=batch,
                               progress=lambda done, todo: bar.update(task, completed=done, total=todo))
        except EmbedderError as e:
            fail(str(e))
    console.print(report.summary(), markup=False)


def register(app: typer.Typer) -> None:
    app.command("search")(guarded(search))
    app.command("similar")(guarded(similar))
    app.command("index")(guarded(index))
