"""`papersift build`, `papersift serve` and `papersift run` (the scheduled job)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .build import BuildResult, build_site

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="papersift.toml to read.")]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Where the SQLite file lives.")]
SiteDirOpt = Annotated[Path | None, typer.Option("--site-dir", help="Where the site is written (default: site).")]


def _progress() -> Progress:
    return Progress(TextColumn("[bold]{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), transient=True)


def engine_factory(settings: Any) -> Any | None:
    """A callable store -> search engine, when the search package is installed; else None
    (the API and the site then fall back to BM25 from the store)."""
    try:
        from ..search.embed import EmbedderError, get_embedder
        from ..search.engine import SearchEngine
    except ImportError:
        return None

    def make(store: Any) -> Any:
        try:
            emb = get_embedder(settings.embedder, settings.data_dir)
        except EmbedderError:
            emb = None  # lexical ranking only; the engine says so in `mode`
        return SearchEngine(store, emb)

    return make


def _similar_fn(settings: Any, store: Any) -> Any | None:
    make = engine_factory(settings)
    if make is None:
        return None
    try:
        engine = make(store)
    except Exception:  # no usable index: pages go without built-in similar papers
        return None

    def similar(pid: str, k: int) -> list[str]:
        return [h.id for h in engine.similar(pid, limit=k).hits]

    return similar


def run_build(ctx: Any, site_dir: Path | None = None, full: bool = False,
              similar: bool = True) -> BuildResult:
    """Build the site for a cli.Ctx with a progress bar; shared by build, run and demo."""
    s = ctx.settings
    out = site_dir or s.site_dir
    sim = _similar_fn(s, ctx.store) if similar else None
    with _progress() as prog:
        tasks: dict[str, Any] = {}

        def on_progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = prog.add_task(stage, total=max(total, 1))
            prog.update(tasks[stage], completed=done, total=max(total, 1))

        return build_site(ctx.store, out, site_title=s.site_title, site_url=s.site_url,
                          langs=s.languages, similar=sim, full=full, progress=on_progress)


def register(app: typer.Typer) -> None:
    @app.command("build")
    def build_cmd(site_dir: SiteDirOpt = None,
                  full: Annotated[bool, typer.Option("--full", help="Re-render every page.")] = False,
                  config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
        """Render the static site (incremental: only pages whose data changed are rewritten)."""
        from ..cli import Ctx, console, fail

        ctx = Ctx(config, data_dir)
        try:
            res = run_build(ctx, site_dir, full)
        except OSError as e:
            fail(f"build: cannot write the site ({e}); the previous site is left as it was")
        out = (site_dir or ctx.settings.site_dir)
        console.print(res.summary())
        console.print(f"open {out / 'index.html'} or run `papersift serve`")

    @app.command("serve")
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
        from ..cli import Ctx, console, fail

        ctx = Ctx(config, data_dir)
        out = site_dir or ctx.settings.site_dir
        if build:
            console.print(run_build(ctx, out).summary())
        elif not (out / "index.html").exists():
            fail(f"{out}/index.html not found: run `papersift build` first or drop --no-build")
        from ..api.serve import default_workers, serve

        serve(ctx.settings, out, host, port, workers or default_workers(), say=console.print)

    @app.command("run")
    def run_cmd(date: Annotated[str | None, typer.Option("--date", help="HF day to collect, YYYY-MM-DD "
                                                          "(default: today, UTC).")] = None,
                offline: Annotated[bool, typer.Option("--offline", help="Skip collecting (no network).")] = False,
                site_dir: SiteDirOpt = None,
                config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
        """The scheduled job: collect -> enrich -> index -> build. Safe to re-run: a second run
        changes nothing and makes no LLM call. Exits non-zero only if nothing was published."""
        from ..cli import Ctx, console, fail

        try:
            day = dt.date.fromisoformat(date) if date else dt.datetime.now(dt.UTC).date()
        except ValueError:
            fail(f"--date {date!r}: expected YYYY-MM-DD")
        ctx = Ctx(config, data_dir)
        report = run_pipeline(ctx, day, collect=not offline, site_dir=site_dir)
        for line in report["lines"]:
            console.print(line, highlight=False)
        if not report["published"]:
            fail("run: nothing could be published (" + "; ".join(report["errors"][:3]) + ")")


def run_pipeline(ctx: Any, day: dt.date, *, collect: bool = True,
                 site_dir: Path | None = None) -> dict[str, Any]:
    """collect -> enrich -> index -> build for one day. Each stage's failure is reported and
    the next still runs on what the store holds; `published` says whether the site exists."""
    s, store = ctx.settings, ctx.store
    lines: list[str] = []
    errors: list[str] = []
    t0 = time.perf_counter()
    if collect:
        try:
            from ..sources.commands import collect as collect_pages
            from ..sources.hf import HFClient
            from ..sources.http import HttpClient

            token = s.hf_token.get_secret_value() if s.hf_token else None
            with HttpClient(timeout=30.0) as http:
                client = HFClient(http, s.hf_base_url, token=token)
                res = collect_pages(store, client.daily_pages(date=day), kind="collect-hf",
                                    params={"date": day.isoformat(), "by": "run"}, record_days=True)
            c = res.counts()
            lines.append(f"collect: HF {day}: {c['fetched']} papers ({c['inserted']} new, "
                         f"{c['updated']} updated), {c['errors']} record errors")
            if res.failed:
                errors.append(f"collect: {res.failed}")
        except Exception as e:  # network down, bad config: publish what we have
            errors.append(f"collect: {e}")
    else:
        lines.append("collect: skipped (--offline)")
    try:
        from ..enrich.llm import make_llm
        from ..enrich.pipeline import run_enrich, select_papers

        papers = select_papers(store, date=day)
        rep = run_enrich(store, papers, make_llm(s), s.languages, s.concurrency)
        c = rep.counts()
        lines.append(f"enrich: {c['selected']} papers of {day}: {c['done']} enriched with "
                     f"{c['calls']} calls, {c['cached']} cached, {c['skipped']} already done, "
                     f"{c['failed']} failed ({c['method']})")
    except Exception as e:
        errors.append(f"enrich: {e}")
    try:
        idx = _index(ctx)
        if idx:
            lines.append(idx)
    except Exception as e:
        errors.append(f"index: {e}")
    published = False
    try:
        res = run_build(ctx, site_dir)
        lines.append(res.summary())
        published = (Path(site_dir or s.site_dir) / "index.html").exists()
    except Exception as e:
        errors.append(f"build: {e}")
    lines.extend(f"[yellow]warning:[/] {e}" for e in errors)
    lines.append(f"run: {'published' if published else 'NOT published'} in {time.perf_counter() - t0:.1f}s")
    return {"lines": lines, "errors": errors, "published": published}


def _index(ctx: Any) -> str | None:
    """Bring the BM25 cache and search vectors up to date (the search package's own step,
    so `run` and `papersift index` do the same thing)."""
    try:
        from ..search.commands import run_index
    except ImportError:
        return "index: search package not installed; site search uses BM25 from the store"
    return "index: " + run_index(ctx)


def demo_step(ctx: Any, console: Any) -> None:
    """`papersift demo`'s last step: build the site and say how to look at it."""
    res = run_build(ctx)
    out = Path(ctx.settings.site_dir).resolve()
    console.print(f"build: {res.summary()}")
    console.print(f"site: open {out / 'index.html'} in a browser (works offline), or run "
                  "`papersift serve` and visit http://127.0.0.1:8000/ for search")
