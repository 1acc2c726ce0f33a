"""What the full and the incremental build share: the result, the store's site-wide data,
built-in similar lists, reading pages and the pages every build refreshes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..store.base import PublishSource
from .cards import iso_week, month_key
from .data import Cards
from .output import SiteWriter
from .pages import Pages
from .render import STATIC, Renderer

SIMILAR_N = 6
SIMILAR_MAX = 1000  # papers per build that get similar papers rendered into their page
SIMILAR_DAYS = 14  # ... and only those from the newest two weeks
PARALLEL_MIN = 2000  # papers from which a full build renders in worker processes

SimilarFn = Callable[[str, int], list[str]]  # paper id, k -> similar paper ids


@dataclass
class BuildResult:
    mode: str  # "full" or "incremental"
    rendered: int = 0
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    days: int = 0
    papers: int = 0  # paper pages rendered
    seconds: float = 0.0
    written_paths: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # phase -> seconds

    def summary(self) -> str:
        return (f"{self.mode} build: {self.rendered} pages rendered, {self.written} written, "
                f"{self.unchanged} unchanged, {self.removed} removed ({self.days} days, "
                f"{self.papers} paper pages) in {self.seconds:.2f}s")


@dataclass
class SiteData:
    """What both kinds of build read from the store first."""

    days: list[tuple[dt.date, int]]
    day_keys: list[str]
    moved_by_day: dict[str, dict[str, str]]
    member_days: dict[str, set[str]]
    reading_hash: dict[str, str]

    @classmethod
    def load(cls, store: PublishSource) -> SiteData:
        days = store.days()
        moved_by_day: dict[str, dict[str, str]] = {}
        member_days: dict[str, set[str]] = {}
        for d, pid, moved_to in store.day_members():
            member_days.setdefault(pid, set()).add(d)
            if moved_to:
                moved_by_day.setdefault(d, {})[pid] = moved_to
        return cls(days, [d.isoformat() for d, _ in days], moved_by_day, member_days,
                   store.reading_hashes())

    def week_keys(self) -> list[str]:
        return sorted({iso_week(d) for d, _ in self.days})

    def month_keys(self) -> list[str]:
        return sorted({month_key(d) for d, _ in self.days})

    def sim_cutoff(self) -> str:
        return (self.days[-1][0] - dt.timedelta(days=SIMILAR_DAYS)).isoformat() if self.days else ""


def similar_lists(store: PublishSource, cards: Cards, ids: list[str], similar: SimilarFn | None,
                   cutoff: str) -> dict[str, list[str]]:
    """Built-in similar papers (a vector search each): for the newest papers only, the page
    asks the API for the rest when served."""
    out: dict[str, list[str]] = {}
    if similar is None:
        return out
    for pid in ids:
        if len(out) >= SIMILAR_MAX:
            break
        if cards.cards[pid]["day"] < cutoff:
            continue
        try:
            sim = [s for s in similar(pid, SIMILAR_N) if s != pid]
        except Exception:  # similar papers are a nicety; never fail a build on them
            sim = []
        cards.load([s for s in sim if s not in cards.cards])
        out[pid] = [s for s in sim if s in cards.cards]
    return out


def reading_pages(store: PublishSource, r: Renderer, days: set[str]) -> list[tuple[str, str]]:
    """The Chinese reading pages of `days` (few: one per day that has one)."""
    out = []
    for k in sorted(days):
        rd = store.get_reading(dt.date.fromisoformat(k))
        if rd is not None:
            out.append((f"d/{k}-zh.html", r.reading(rd)))
    return out


def site_wide(w: SiteWriter, pages: Pages, store: PublishSource, site: SiteData, recent: list[dict[str, Any]],
               index_cards: list[dict[str, Any]] | None, tags_changed: bool) -> None:
    """Pages every build refreshes (cheap; unchanged ones are skipped by the writer)."""
    r = pages.r
    for rel, data in pages.all_feeds(recent):
        w.write(rel, data)
    w.copy_tree(STATIC, "static")
    w.write("search.html", r.search())
    w.write("archive.html", r.archive(site.days, set(site.reading_hash)))
    if tags_changed:
        w.write("t/index.html", r.topics(store.tag_counts()))
    if not site.day_keys:
        w.write("index.html", pages.empty_index())
    elif index_cards is not None:
        latest = site.day_keys[-1]
        w.write("index.html", pages.day(latest, index_cards, site.moved_by_day.get(latest, {}), ""))
