"""`papersift collect hf|arxiv`: fetch pages from a collector, store them, record the run.

The collectors (hf.py, arxiv.py) only yield pages of Papers; this module is where they meet
the store: each page is upserted in its own transaction (so a failure later keeps what was
already fetched, whole), HF day membership is recorded with store.record_day (days merge and
never shrink; a paper HF moved is marked moved), and the run lands in the runs table.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from ..ids import InvalidArxivId, normalize_arxiv_id
from ..store.base import Store, UpsertStats
from . import Page, RecordError
from .arxiv import ArxivClient
from .hf import HFClient
from .http import HttpClient, HttpError, RetryPolicy

MAX_ERRORS_SHOWN = 10


@dataclass
class CollectResult:
    """What one collect run did; `counts()` is what goes into the runs table."""

    pages: int = 0
    fetched: int = 0
    upserts: UpsertStats = field(default_factory=UpsertStats)
    days: dict[dt.date, int] = field(default_factory=dict)  # day -> papers HF listed on it
    moved: list[tuple[str, str, str]] = field(default_factory=list)  # (paper, from day, to day)
    errors: list[str] = field(default_factory=list)
    failed: str | None = None  # the error that stopped the run, if one did

    def counts(self) -> dict[str, Any]:
        return {"pages": self.pages, "fetched": self.fetched, **self.upserts.summary(),
                "moved": len(self.moved), "days": len(self.days), "errors": len(self.errors)}


def collect(store: Store, pages: Iterable[Page], *, kind: str, params: dict[str, Any],
            record_days: bool, on_page: Callable[[Page, CollectResult], None] | None = None
            ) -> CollectResult:
    """Store every page as it arrives and record the run; never raises for a failed fetch
    (the result says `failed`), so the caller can still report what was stored."""
    result = CollectResult()
    day_ids: dict[dt.date, list[str]] = {}
    run_id = store.start_run(kind, params)
    try:
        for page in pages:
            stats = store.upsert_papers(page.papers)
            result.upserts.add(stats)
            result.pages += 1
            result.fetched += len(page.papers)
            result.errors.extend(page.errors)
            if record_days:
                # stats.ids is the stored id of each input paper, in input order.
                for paper, stored_id in zip(page.papers, stats.ids, strict=True):
                    if paper.hf_date:
                        ids = day_ids.setdefault(paper.hf_date, [])
                        if stored_id not in ids:
                            ids.append(stored_id)
            if on_page:
                on_page(page, result)
    except HttpError as e:
        result.failed = str(e)
    except BaseException as e:  # Ctrl-C or a bug: the run must not stay "running" or say "ok"
        result.failed = f"interrupted: {type(e).__name__}: {e}".rstrip(": ")
        raise
    finally:
        # Also after a failure: these papers were listed on these days, whatever came later.
        for day, ids in sorted(day_ids.items()):
            ds = store.record_day(day, ids, "hf")
            result.days[day] = len(ids)
            result.moved.extend((pid, old, day.isoformat()) for pid, old in ds.moved)
        status = "failed" if result.failed else ("partial" if result.errors else "ok")
        errors = ([result.failed] if result.failed else []) + result.errors
        store.finish_run(run_id, result.counts(), errors, status)
    return result


# -- CLI ------------------------------------------------------------------------------------

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="papersift.toml to read.")]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Where the SQLite file lives.")]
TimeoutOpt = Annotated[float, typer.Option("--timeout", help="Seconds before a request is retried.")]
RetriesOpt = Annotated[int, typer.Option(
    "--retries", min=0, help="Retries per request (5xx, timeouts, bad bodies; backoff 1, 2, 4 s...).")]


def register(app: typer.Typer) -> None:
    collect_app = typer.Typer(help="Collect papers from Hugging Face Daily Papers or arXiv.",
                              no_args_is_help=True)
    collect_app.command("hf")(collect_hf)
    collect_app.command("arxiv")(collect_arxiv)
    app.add_typer(collect_app, name="collect")


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
    from ..cli import Ctx, fail

    chosen = [x for x in (date, week, month, search, paper) if x]
    if len(chosen) != 1:
        fail("collect hf: give exactly one of --date, --week, --month, --search or --paper")
    day = _parse_date("--date", date) if date else None
    paper_ids = []
    for raw in paper or []:
        try:
            paper_ids.append(normalize_arxiv_id(raw))
        except InvalidArxivId as e:
            fail(f"--paper: {e}")
    ctx = Ctx(config, data_dir)
    token = ctx.settings.hf_token.get_secret_value() if ctx.settings.hf_token else None
    with _http(timeout, retries) as http:
        client = HFClient(http, ctx.settings.hf_base_url, token=token, page_size=page_size)
        params = {k: v for k, v in dict(date=date, week=week, month=month, sort=sort,
                                        search=search, paper=paper).items() if v}
        try:
            if search:
                pages: Iterable[Page] = [client.search(search)]
            elif paper:
                pages = _hf_paper_pages(client, paper_ids)
            else:
                pages = client.daily_pages(date=day, week=week, month=month, sort=sort)
        except ValueError as e:
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
    from ..cli import Ctx, fail

    ids = [x for raw in ids or [] for x in raw.replace(",", " ").split()]
    if ids and category:
        fail("collect arxiv: give either --category (with --from/--to) or ids, not both")
    if not ids and not category:
        fail("collect arxiv: give --category cs.CL --from YYYY-MM-DD [--to ...], or --ids ID...")
    if by_ids and not ids:
        fail("collect arxiv --ids: no ids given (e.g. --ids 2502.02671 hep-th/9901001)")
    ctx = Ctx(config, data_dir)
    with _http(timeout, retries) as http:
        client = ArxivClient(http, ctx.settings.arxiv_base_url, min_interval=min_interval,
                             page_size=page_size)
        if ids:
            try:
                pages: Iterable[Page] = client.id_pages(ids)
            except InvalidArxivId as e:
                fail(f"--ids: {e}")
            params: dict[str, Any] = {"ids": ids}
        else:
            if not start:
                fail("collect arxiv --category: --from YYYY-MM-DD is required")
            d0 = _parse_date("--from", start)
            d1 = _parse_date("--to", end) if end else d0
            params = {"category": category, "from": d0.isoformat(), "to": d1.isoformat()}
            try:
                pages = client.search_pages(category or "", d0, d1)
            except ValueError as e:
                fail(str(e))
        _run(ctx.store, http, pages, kind="collect-arxiv", params=params, record_days=False,
             label="arxiv " + " ".join(f"{k}={v}" for k, v in params.items()))


def _hf_paper_pages(client: HFClient, ids: list[str]) -> Iterable[Page]:
    for pid in ids:
        try:
            paper = client.paper(pid)
        except RecordError as e:
            yield Page(ref=f"papers/{pid}", errors=[f"papers/{pid}: {e}"])
            continue
        yield Page(ref=f"papers/{pid}", papers=[paper] if paper else [],
                   errors=[] if paper else [f"papers/{pid}: not found on Hugging Face"])


def _http(timeout: float, retries: int) -> HttpClient:
    return HttpClient(timeout=timeout, retry=RetryPolicy(attempts=retries + 1))


def _parse_date(option: str, value: str) -> dt.date:
    from ..cli import fail

    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r}: not a date; use YYYY-MM-DD, e.g. 2025-02-06")
        raise  # unreachable: fail() exits


def _run(store: Store, http: HttpClient, pages: Iterable[Page], *, kind: str,
         params: dict[str, Any], record_days: bool, label: str) -> None:
    from ..cli import console, fail

    t0 = time.monotonic()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  MofNCompleteColumn(), TextColumn("papers"), TimeElapsedColumn(),
                  console=console, transient=False) as progress:
        task = progress.add_task(label, total=None)
        http.on_retry = lambda url, n, why, wait: progress.console.print(
            f"[yellow]retry {n}[/] {why}; waiting {wait:.1f}s", highlight=False)

        def on_page(page: Page, res: CollectResult) -> None:
            total = page.total if page.total is not None else None
            progress.update(task, completed=res.fetched,
                            total=max(total, res.fetched) if total is not None else None,
                            description=f"{label} (page {res.pages})")

        result = collect(store, pages, kind=kind, params=params, record_days=record_days,
                         on_page=on_page)
        progress.update(task, total=result.fetched or 1, completed=result.fetched or 1)
    _summary(result, http, time.monotonic() - t0)
    if result.failed:
        fail(result.failed)


def _summary(r: CollectResult, http: HttpClient, seconds: float) -> None:
    from ..cli import console

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
        console.print(f"moved: {pid} from {old} to {new}", highlight=False)
    for e in r.errors[:MAX_ERRORS_SHOWN]:
        console.print(f"[yellow]skipped:[/] {e}", highlight=False)
    if len(r.errors) > MAX_ERRORS_SHOWN:
        console.print(f"... and {len(r.errors) - MAX_ERRORS_SHOWN} more (all in the runs table)")
