"""`papersift build`: the static site from the store.

A full build reads every paper once (raw rows, see data.py), renders every page in worker
processes into a fresh directory beside the site and swaps that directory in at the end:
a failed full build leaves the previous site untouched. An incremental build asks the store
what changed since the last build (papers, enrichments, day listings, readings) and renders
only the pages that show those papers, writing each page atomically and only when its bytes
differ. The build state (saved last) remembers which papers each topic page and each
built-in similar list shows, so a paper that loses a tag or changes is redrawn everywhere
it appears.
"""

from __future__ import annotations

import bisect
import datetime as dt
import gc
import hashlib
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..store.base import Store
from ..taxonomy import TAGS
from .data import Cards
from .output import SiteWriter, check_replaceable, fresh_dir, load_state, save_state, swap_in
from .pages import FEED_N, TAG_PAGE_N, TOP_N, Pages, by_upvotes
from .render import STATIC, Renderer, render_version
from .views import iso_week, month_key, month_range, week_range
from .workers import can_fork, run_forked

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


def _config_key(settings_key: dict[str, Any]) -> str:
    return hashlib.sha256((render_version() + repr(sorted(settings_key.items()))).encode()).hexdigest()[:16]


@dataclass
class _Site:
    """What both kinds of build read from the store first."""

    days: list[tuple[dt.date, int]]
    day_keys: list[str]
    moved_by_day: dict[str, dict[str, str]]
    member_days: dict[str, set[str]]
    reading_hash: dict[str, str]

    @classmethod
    def load(cls, store: Store) -> _Site:
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


def build_site(store: Store, out_dir: Path, *, site_title: str = "papersift",
               site_url: str = "http://localhost:8000/", langs: list[str] | None = None,
               similar: SimilarFn | None = None, full: bool = False,
               progress: Callable[[str, int, int], None] | None = None,
               workers: int | None = None) -> BuildResult:
    """Render the site into out_dir. Incremental unless `full` or nothing was built before
    with the same templates and settings. `workers`: processes for a full build (default:
    2 where fork exists and the site is large enough to pay for them)."""
    t0 = time.perf_counter()
    langs = langs or ["en", "ru", "zh"]
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    out_dir = Path(out_dir)
    key = _config_key({"title": site_title, "url": site_url, "langs": ",".join(langs),
                       "similar": similar is not None})
    state = load_state(out_dir)
    say = progress or (lambda stage, done, total: None)
    site = _Site.load(store)
    r = Renderer(site_title, langs)
    cards = Cards(store, langs)
    pages = Pages(r, site_title, site_url, site.day_keys, set(site.reading_hash), cards.updated,
                  site.week_keys(), site.month_keys())
    new_state = {"config": key, "built_at": (started - dt.timedelta(seconds=1)).isoformat(),
                 "days": site.day_keys, "readings": site.reading_hash}
    if state is None or state.get("config") != key or full:
        res = _full(store, out_dir, site, cards, pages, similar, say, workers, new_state)
    else:
        res = _incremental(store, out_dir, site, cards, pages, similar, say, state, new_state)
    res.seconds = time.perf_counter() - t0
    return res


def _similar_lists(store: Store, cards: Cards, ids: list[str], similar: SimilarFn | None,
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


def _site_wide(w: SiteWriter, pages: Pages, store: Store, site: _Site, recent: list[dict[str, Any]],
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


def _full(store: Store, out_dir: Path, site: _Site, cards: Cards, pages: Pages,
          similar: SimilarFn | None, say: Callable[[str, int, int], None], workers: int | None,
          state: dict[str, Any]) -> BuildResult:
    res = BuildResult(mode="full")
    t = time.perf_counter()
    check_replaceable(out_dir)
    # Loading makes millions of long-lived objects and no garbage cycles: the cyclic GC would
    # only re-scan them (seconds), and in forked workers its scans would also copy every
    # page the parent shares with them. Collect once, then freeze the survivors.
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        return _full_build(store, out_dir, site, cards, pages, similar, say, workers, state, res, t)
    finally:
        gc.unfreeze()
        if gc_was_on:
            gc.enable()


def _full_build(store: Store, out_dir: Path, site: _Site, cards: Cards, pages: Pages,
                similar: SimilarFn | None, say: Callable[[str, int, int], None], workers: int | None,
                state: dict[str, Any], res: BuildResult, t: float) -> BuildResult:
    ids = cards.load()
    cc = cards.cards
    by_day: dict[str, list[str]] = {}
    for pid in ids:
        ds = site.member_days.get(pid)
        d = cc[pid]["day"]
        if ds:
            for k in ds | ({d} if d else set()):
                by_day.setdefault(k, []).append(pid)
        elif d:
            by_day.setdefault(d, []).append(pid)
    day_cards = {k: by_upvotes([cc[i] for i in v]) for k, v in by_day.items()}
    tag_ids = {t: v[:TAG_PAGE_N] for t, v in store.tag_members(None, TAG_PAGE_N).items() if t in TAGS}
    sims = _similar_lists(store, cards, ids, similar, site.sim_cutoff())
    res.timings["load"] = time.perf_counter() - t
    say("papers", 0, len(ids))

    def range_cards(start: dt.date, end: dt.date) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        d = start
        while d <= end:
            out.extend(day_cards.get(d.isoformat(), ()))
            d += dt.timedelta(days=1)
        return out

    # One list of jobs, dealt round-robin to the workers (each gets a share of every kind).
    jobs: list[tuple[str, str]] = [("p", pid) for pid in ids]
    jobs += [("d", k) for k in site.day_keys] + [("w", k) for k in pages.week_keys]
    jobs += [("m", k) for k in pages.month_keys] + [("t", tag) for tag in TAGS]
    tmp = fresh_dir(out_dir)
    try:
        t = time.perf_counter()

        def work(wi: int, n: int) -> list[str]:
            w = SiteWriter(tmp, fresh=True)
            for kind, k in jobs[wi::n]:
                if kind == "p":
                    w.write(*pages.paper(cc[k], [cc[s] for s in sims.get(k, ())]))
                elif kind == "d":
                    w.write(f"d/{k}.html", pages.day(k, day_cards.get(k, []),
                                                     site.moved_by_day.get(k, {}), "../"))
                elif kind == "w":
                    w.write(*pages.week(k, range_cards(*week_range(k))))
                elif kind == "m":
                    w.write(*pages.month(k, range_cards(*month_range(k))))
                else:
                    for rel, data in pages.topic(k, [cc[i] for i in tag_ids.get(k, ()) if i in cc]):
                        w.write(rel, data)
            return w.stats.paths

        n = workers if workers is not None else (2 if can_fork() and len(ids) >= PARALLEL_MIN else 1)
        n = max(1, min(n, os.cpu_count() or 1)) if workers is None else max(1, n)
        gc.collect()
        gc.freeze()
        gc.enable()  # for the short-lived objects of rendering only
        for paths in run_forked(n, lambda wi: work(wi, n)):
            res.written_paths.extend(paths)
        res.timings["render_write"] = time.perf_counter() - t
        say("papers", len(ids), len(ids))

        t = time.perf_counter()
        w = SiteWriter(tmp, fresh=True)
        for rel, data in _reading_pages(store, pages.r, set(site.reading_hash)):
            w.write(rel, data)
        recent: list[dict[str, Any]] = []
        for k in reversed(site.day_keys):
            recent.extend(day_cards.get(k, ()))
            if len(recent) >= FEED_N:
                break
        latest = site.day_keys[-1] if site.day_keys else None
        _site_wide(w, pages, store, site, recent, day_cards.get(latest, []) if latest else None, True)
        state["topics"] = tag_ids
        state["similar"] = sims
        save_state(tmp, state)
        res.written_paths.extend(w.stats.paths)
        res.timings["site_wide"] = time.perf_counter() - t
        t = time.perf_counter()
        swap_in(tmp, out_dir)
        res.timings["swap"] = time.perf_counter() - t
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # the previous site stays as it was
        raise
    res.rendered = res.written = len(res.written_paths)
    res.days, res.papers = len(site.day_keys), len(ids)
    return res


def _reading_pages(store: Store, r: Renderer, days: set[str]) -> list[tuple[str, str]]:
    """The Chinese reading pages of `days` (few: one per day that has one)."""
    out = []
    for k in sorted(days):
        rd = store.get_reading(dt.date.fromisoformat(k))
        if rd is not None:
            out.append((f"d/{k}-zh.html", r.reading(rd)))
    return out


def _incremental(store: Store, out_dir: Path, site: _Site, cards: Cards, pages: Pages,
                 similar: SimilarFn | None, say: Callable[[str, int, int], None],
                 old: dict[str, Any], state: dict[str, Any]) -> BuildResult:
    res = BuildResult(mode="incremental")
    t = time.perf_counter()
    touched = store.touched_since(old["built_at"])
    cards.load(touched)
    touched = {i for i in touched if i in cards.cards}
    cc = cards.cards
    day_keys = site.day_keys
    dirty_days: set[str] = set()
    for pid in touched:
        if cc[pid]["day"]:
            dirty_days.add(cc[pid]["day"])
        dirty_days |= site.member_days.get(pid, set())
    old_days = old.get("days", [])
    if old_days != day_keys:
        for k in set(old_days) ^ set(day_keys):  # neighbours of a new or vanished day: prev/next
            for lst in (day_keys, old_days):
                i = bisect.bisect_left(lst, k)
                for j in (i - 1, i, i + 1):
                    if 0 <= j < len(lst) and lst[j] in day_keys:
                        dirty_days.add(lst[j])
    dirty_readings = {k for k, h in site.reading_hash.items() if old.get("readings", {}).get(k) != h}
    dirty_days |= dirty_readings  # the day page links its reading
    # Topic pages that show a touched paper now, or showed it last time (a removed tag).
    old_topics: dict[str, list[str]] = old.get("topics", {})
    dirty_tags = {tag for pid in touched for tag in cc[pid]["tags"]}
    dirty_tags |= {tag for tag, ids in old_topics.items() if not touched.isdisjoint(ids)}
    # Paper pages whose built-in similar list shows a touched paper are redrawn too.
    sims: dict[str, list[str]] = dict(old.get("similar", {}))
    dependents = {pid for pid, ids in sims.items() if not touched.isdisjoint(ids)}
    cards.load(dependents)
    paper_ids = sorted(touched | {d for d in dependents if d in cc})
    fresh_sims = _similar_lists(store, cards, paper_ids, similar, site.sim_cutoff())
    for pid in paper_ids:  # a redrawn page keeps an entry only while it shows a list
        sims.pop(pid, None)
    sims.update({k: v for k, v in fresh_sims.items() if v})
    res.timings["load"] = time.perf_counter() - t

    t = time.perf_counter()
    w = SiteWriter(out_dir)
    # Paper pages first, so listings never link to a page not yet written.
    for i, pid in enumerate(paper_ids):
        w.write(*pages.paper(cc[pid], [cc[s] for s in fresh_sims.get(pid, ())]))
        if i % 2000 == 0:
            say("papers", i, len(paper_ids))
    say("papers", len(paper_ids), len(paper_ids))
    res.papers = len(paper_ids)

    def day_cards(k: str) -> list[dict[str, Any]]:
        ids = [p.id for p in store.papers_for_day(dt.date.fromisoformat(k))]
        cards.load(ids)
        return [cc[i] for i in ids if i in cc]

    def range_cards(start: dt.date, end: dt.date) -> list[dict[str, Any]]:
        ids = [p.id for p in store.top_between(start, end, TOP_N)]
        cards.load(ids)
        return [cc[i] for i in ids if i in cc]

    latest = day_keys[-1] if day_keys else None
    index_cards = None
    for i, k in enumerate(sorted(dirty_days)):
        if k in day_keys:
            cs = day_cards(k)
            w.write(f"d/{k}.html", pages.day(k, cs, site.moved_by_day.get(k, {}), "../"))
            if k == latest:
                index_cards = cs
        say("days", i + 1, len(dirty_days))
    for rel, data in _reading_pages(store, pages.r, dirty_readings):
        w.write(rel, data)
    res.days = len(dirty_days)
    for k in sorted({iso_week(dt.date.fromisoformat(k)) for k in dirty_days}):
        w.write(*pages.week(k, range_cards(*week_range(k))))
    for k in sorted({k[:7] for k in dirty_days}):
        w.write(*pages.month(k, range_cards(*month_range(k))))

    topics = dict(old_topics)
    members = store.tag_members(sorted(dirty_tags), TAG_PAGE_N) if dirty_tags else {}
    for tag in sorted(dirty_tags):
        if tag not in TAGS:
            continue
        ids = members.get(tag, [])[:TAG_PAGE_N]
        cards.load(ids)
        topics[tag] = ids
        for rel, data in pages.topic(tag, [cc[i] for i in ids if i in cc]):
            w.write(rel, data)

    recent: list[dict[str, Any]] = []
    for k in reversed(day_keys):
        recent.extend(day_cards(k))
        if len(recent) >= FEED_N:
            break
    if latest is not None and index_cards is None and old_days[-1:] != [latest]:
        index_cards = day_cards(latest)
    _site_wide(w, pages, store, site, recent, index_cards, bool(touched))
    res.timings["render_write"] = time.perf_counter() - t
    state["topics"] = topics
    state["similar"] = sims
    save_state(out_dir, state)
    st = w.stats
    res.rendered, res.written, res.unchanged = st.rendered, st.written, st.unchanged
    res.written_paths = st.paths
    return res
