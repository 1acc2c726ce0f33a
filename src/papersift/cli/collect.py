"""`papersift collect hf|arxiv`: fetch pages from a collector with a progress bar, store them
(sources.collect does that and records the run), print a summary."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import PapersiftError
from ..http import HttpClient
from ..ids import InvalidArxivId, normalize_arxiv_id
from ..sources import Page
from ..sources.arxiv import ArxivClient
from ..sources.collect import CollectResult, collect, hf_paper_pages, http_client
from ..sources.hf import HFClient
from ..store.base import Store
from .common import ConfigOpt, Ctx, DataDirOpt, console, fail, guarded, parse_day, progress_bar

MAX_ERRORS_SHOWN = 10

TimeoutOpt = Annotated[float, typer.Option("--timeout", help="Seconds before a request is retried.")]
RetriesOpt = Annotated[int, typer.Option(
    "--retries", min=0, help="Retries per request (5xx, timeouts, bad bodies; backoff 1, 2, 4 s...).")]


def collect_hf(
    date: Annotated[str | None, typer.Option("--date", help="One day, YYYY-MM-DD.")] = None,
    week: Annotated[str | None, typer.Option("--week", help="An ISO week, e.g. 2025-W06.")] = None,
    month: Annotated[str | None, typer.Option("--month", help="A month, YYYY-MM.")] = None,
    sort: Annotated[str | None, typer.Option("--sort", help="publishedAt or trending.")] = None,
    search: Annotated[str | None, typer.Option("--search", help="HF paper search query instead of a period.")] = None,
    paper: Annotated[list[str] | None, typer.Option("--paper", help="One paper by id (repeatable).")] = None,
    page_size: Annotated[int, typer.Option("--page-size", help="Papers per request (p/limit paging).")] = 50,
    timeout: TimeoutOpt = 30.0,
    retries: RetriesOpt = 3,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Collect Hugging Face Daily Papers for a date, week or month (or a search / paper ids).

    Days merge and never shrink: a paper HF moved to another day is recorded as moved.
    Weekends have no papers; that is not an error.
    """
    chosen = [x for x in (date, week, month, search, paper) if x]
    if len(chosen) != 1:
        fail("collect hf: give exactly one of --date, --week, --month, --search or --paper")
    day = parse_day("--date", date)
    paper_ids = []
    for raw in paper or []:
        try:
            paper_ids.append(normalize_arxiv_id(raw))
        except InvalidArxivId as e:
            fail(f"--paper: {e}")
    ctx = Ctx(config, data_dir, job="collect")
    token = ctx.settings.hf_token.get_secret_value() if ctx.settings.hf_token else None
    with http_client(timeout, retries) as http:
        client = HFClient(http, ctx.settings.hf_base_url, token=token, page_size=page_size)
        params = {k: v for k, v in dict(date=date, week=week, month=month, sort=sort,
                                        search=search, paper=paper).items() if v}
        try:
            if search:
                pages: Iterable[Page] = [client.search(search)]
            elif paper:
                pages = hf_paper_pages(client, paper_ids)
            else:
                pages = client.daily_pages(date=day, week=week, month=month, sort=sort)
        except PapersiftError as e:
            fail(str(e))
        _run(ctx.store, http, pages, kind="collect-hf", params=params, record_days=not search
             and not paper, label="hf " + " ".join(f"{k}={v}" for k, v in params.items()))


def collect_arxiv(
    ids: Annotated[list[str] | None, typer.Argument(
        help="arXiv ids in any form (2502.02671, arXiv:..., abs/pdf URLs, hep-th/9901001).",
        show_default=False)] = None,
    by_ids: Annotated[bool, typer.Option("--ids", help="Fetch the ids given as arguments.")] = False,
    category: Annotated[str | None, typer.Option("--category", help="e.g. cs.CL")] = None,
    start: Annotated[str | None, typer.Option("--from", help="First submission day, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last submission day (default: --from).")] = None,
    min_interval: Annotated[float, typer.Option(
        "--min-interval", help="Seconds between requests (arXiv asks for at least 3).")] = 3.0,
    page_size: Annotated[int, typer.Option("--page-size", help="Results per request.")] = 200,
    timeout: TimeoutOpt = 30.0,
    retries: RetriesOpt = 3,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Collect from the arXiv export API: a category over submitted dates, or a list of ids.

    papersift collect arxiv --category cs.CL --from 2025-02-01 --to 2025-02-03
    papersift collect arxiv --ids 2502.02671 hep-th/9901001
    """
    ids = [x for raw in ids or [] for x in raw.replace(",", " ").split()]
    if ids and category:
        fail("collect arxiv: give either --category (with --from/--to) or ids, not both")
    if not ids and not category:
        fail("collect arxiv: give --category cs.CL --from YYYY-MM-DD [--to ...], or --ids ID...")
    if by_ids and not ids:
        fail("collect arxiv --ids: no ids given (e.g. --ids 2502.02671 hep-th/9901001)")
    ctx = Ctx(config, data_dir, job="collect")
    with http_client(timeout, retries) as http:
        client = ArxivClient(http, ctx.settings.arxiv_base_url, min_interval=min_interval,
                             page_size=page_size)
        if ids:
            try:
                pages: Iterable[Page] = client.id_pages(ids)
            except InvalidArxivId as e:
                fail(f"--ids: {e}")
            params: dict[str, Any] = {"ids": ids}
        else:
            d0 = parse_day("--from", start)
            if d0 is None:
                fail("collect arxiv --category: --from YYYY-MM-DD is required")
            d1 = parse_day("--to", end) or d0
            params = {"category": category, "from": d0.isoformat(), "to": d1.isoformat()}
            try:
                pages = client.search_pages(category or "", d0, d1)
            except PapersiftError as e:
                fail(str(e))
        _run(ctx.store, http, pages, kind="collect-arxiv", params=params, record_days=False,
             label="arxiv " + " ".join(f"{k}={v}" for k, v in params.items()),
             coverage=(f"arxiv:{category}", f"{params['from']}..{params['to']}") if category else None)


def _run(store: Store, http: HttpClient, pages: Iterable[Page], *, kind: str,
         params: dict[str, Any], record_days: bool, label: str,
         coverage: tuple[str, str] | None = None) -> None:
    t0 = time.monotonic()
    with progress_bar(unit="papers", spinner=True, transient=False) as progress:
        task = progress.add_task(label, total=None)
        http.on_retry = lambda url, n, why, wait: progress.console.print(
            f"[yellow]retry {n}[/] {escape(why)}; waiting {wait:.1f}s", highlight=False)

        def on_page(page: Page, res: CollectResult) -> None:
            total = page.total if page.total is not None else None
            progress.update(task, completed=res.fetched,
                            total=max(total, res.fetched) if total is not None else None,
                            description=f"{label} (page {res.pages})")

        result = collect(store, pages, kind=kind, params=params, record_days=record_days,
                         on_page=on_page, coverage=coverage)
        progress.update(task, total=result.fetched or 1, completed=result.fetched or 1)
    _summary(result, http, time.monotonic() - t0)
    if result.failed:
        fail(result.failed)


def _summary(r: CollectResult, http: HttpClient, seconds: float) -> None:
    u = r.upserts
    table = Table("fetched", "inserted", "updated", "unchanged", "merged", "moved", "days",
                  "bad records", "requests", "retries", "seconds", title="collect summary")
    table.add_row(*map(str, (r.fetched, u.inserted, u.updated, u.unchanged, u.merged,
                             len(r.moved), len(r.days), len(r.errors), http.requests,
                             http.retries)), f"{seconds:.1f}")
    console.print(table)
    if r.fetched == 0 and not r.errors and not r.failed:
        console.print("no papers for this period (weekends and holidays have none)")
    for pid, old, new in r.moved[:MAX_ERRORS_SHOWN]:
        console.print(f"moved: {pid} from {old} to {new}", markup=False, highlight=False)
    for e in r.errors[:MAX_ERRORS_SHOWN]:
        console.print("[yellow]skipped:[/] ", end="", highlight=False)
        console.print(e, markup=False, highlight=False)
    if len(r.errors) > MAX_ERRORS_SHOWN:
        console.print(f"... and {len(r.errors) - MAX_ERRORS_SHOWN} more (all in the runs table)")


def register(app: typer.Typer) -> None:
    collect_app = typer.Typer(help="Collect papers from Hugging Face Daily Papers or arXiv.",
                              no_args_is_help=True)
    collect_app.command("hf")(guarded(collect_hf))
    collect_app.command("arxiv")(guarded(collect_arxiv))
    app.add_typer(collect_app, name="collect")
