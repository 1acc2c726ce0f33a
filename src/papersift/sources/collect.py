"""Where collectors meet the store: `collect()` stores pages as they arrive and records the run.

The collectors (hf.py, arxiv.py) only yield pages of Papers. Each page is upserted in its own
transaction (so a failure later keeps what was already fetched, whole), HF day membership is
recorded with store.record_day (days merge and never shrink; a paper HF moved is marked
moved), and the run lands in the runs table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..config import Settings
from ..http import HttpClient, HttpError, RetryPolicy
from ..runs import interrupted, record_run
from ..store.base import Store, UpsertStats
from . import Page, RecordError
from .hf import HFClient


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
            record_days: bool, on_page: Callable[[Page, CollectResult], None] | None = None,
            coverage: tuple[str, str] | None = None) -> CollectResult:
    """Store every page as it arrives and record the run; never raises for a failed fetch
    (the result says `failed`), so the caller can still report what was stored.

    Coverage (what the source says it has, beside what was stored) is recorded per HF day
    for day listings, and for `coverage` = (source, period) from the query's total."""
    result = CollectResult()
    day_ids: dict[dt.date, list[str]] = {}
    listed: dict[dt.date, int] = {}  # day -> records the source listed on it
    day_errors: dict[dt.date, int] = {}
    total: int | None = None
    with record_run(store, kind, params) as run:
        try:
            for page in pages:
                stats = store.upsert_papers(page.papers)
                result.upserts.add(stats)
                result.pages += 1
                result.fetched += len(page.papers)
                result.errors.extend(page.errors)
                if total is None:
                    total = page.total
                if page.day is not None and page.listed is not None:
                    listed[page.day] = listed.get(page.day, 0) + page.listed
                    day_errors[page.day] = day_errors.get(page.day, 0) + len(page.errors)
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
        except BaseException as e:  # Ctrl-C or a bug: record_run marks the run failed
            result.failed = interrupted(e)
            raise
        finally:
            # Also after a failure: these papers were listed on these days, whatever came later.
            for day, ids in sorted(day_ids.items()):
                ds = store.record_day(day, ids, "hf")
                result.days[day] = len(ids)
                result.moved.extend((pid, old, day.isoformat()) for pid, old in ds.moved)
            if record_days and not result.failed:  # a broken-off listing says nothing of its size
                # A week or month listing does not attribute its unparsable records to a day:
                # there the day's parsed records are what the source is known to list.
                for day in sorted(set(listed) | set(day_ids)):
                    n = len(day_ids.get(day, []))
                    store.record_coverage("hf", day.isoformat(), listed.get(day, n), n,
                                          day_errors.get(day, 0), run.id)
            if coverage is not None and not result.failed:
                store.record_coverage(coverage[0], coverage[1], total, result.fetched,
                                      len(result.errors), run.id)
            run.counts = result.counts()
            run.errors = list(result.errors)
        if result.failed:
            run.status = "failed"
            run.errors.insert(0, result.failed)
    return result


def hf_paper_pages(client: HFClient, ids: list[str]) -> Iterator[Page]:
    """One page per requested paper id (a missing or bad one is that page's error)."""
    for pid in ids:
        try:
            paper = client.paper(pid)
        except RecordError as e:
            yield Page(ref=f"papers/{pid}", errors=[f"papers/{pid}: {e}"])
            continue
        yield Page(ref=f"papers/{pid}", papers=[paper] if paper else [],
                   errors=[] if paper else [f"papers/{pid}: not found on Hugging Face"])


def http_client(timeout: float, retries: int) -> HttpClient:
    """The client for a collect command: `retries` retries per request, with backoff."""
    return HttpClient(timeout=timeout, retry=RetryPolicy(attempts=retries + 1))


def collect_hf_day(store: Store, settings: Settings, day: dt.date, *, by: str = "run",
                   timeout: float = 30.0) -> CollectResult:
    """The daily job's collect step: one Hugging Face day, its membership recorded."""
    token = settings.hf_token.get_secret_value() if settings.hf_token else None
    with HttpClient(timeout=timeout) as http:
        client = HFClient(http, settings.hf_base_url, token=token)
        return collect(store, client.daily_pages(date=day), kind="collect-hf",
                       params={"date": day.isoformat(), "by": by}, record_days=True)
