"""`papersift build`: the static site from the store.

A full build reads every paper once (raw rows, see data.py), renders every page in worker
processes into a fresh directory beside the site and swaps that directory in at the end:
a failed full build leaves the previous site untouched. An incremental build asks the store
what changed since the last build (papers, enrichments, day listings, readings) and renders
only the pages that show those papers, writing each page atomically and only when its bytes
differ. The build state (saved last) remembers which papers have a page and which papers
each topic page and each built-in similar list shows, so a paper that loses a tag or changes
is redrawn everywhere it appears, and the page of a paper that is gone (renamed to its arXiv
id) is removed.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import DEFAULT_LANGUAGES
from ..store.base import PublishSource
from ..taxonomy import TAGS
from . import search_index
from .cards import month_range, week_range
from .data import Cards
from .foryou import ForYou
from .images import SiteImages
from .incremental import incremental
from .output import SiteWriter, check_replaceable, fresh_dir, load_state, save_state, swap_in
from .pages import FEED_N, TAG_PAGE_N, Pages, by_upvotes, topic_entries
from .profile_feeds import ProfileFeedsFn, write_profile_feeds
from .render import Renderer, render_version
from .sitewide import PARALLEL_MIN, BuildResult, SimilarFn, SiteData, reading_pages, similar_lists, site_wide
from .workers import Helper, Split, can_fork


def _config_key(settings_key: dict[str, Any]) -> str:
    return hashlib.sha256((render_version() + repr(sorted(settings_key.items()))).encode()).hexdigest()[:16]


def build_site(store: PublishSource, out_dir: Path, *, site_title: str = "papersift",
               site_url: str = "http://localhost:8000/", langs: list[str] | None = None,
               similar: SimilarFn | None = None, full: bool = False,
               progress: Callable[[str, int, int], None] | None = None,
               workers: int | None = None, images_dir: Path | None = None,
               card_image: str = "title", foryou: ForYou | None = None,
               profile_feeds: ProfileFeedsFn | None = None) -> BuildResult:
    """Render the site into out_dir. Incremental unless `full` or nothing was built before
    with the same templates and settings. `workers`: processes for a full build (default:
    2 where fork exists and the site is large enough to pay for them). `images_dir`: where
    the image step keeps its files (none: pages without images); `card_image`: which kind
    a card shows. `foryou`: the For-you page's data (default: the recent days without
    vectors). `profile_feeds`: the profiles' ranked lists, written as
    feeds/profile/<name>.* after the pages."""
    t0 = time.perf_counter()
    langs = langs or list(DEFAULT_LANGUAGES)
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    out_dir = Path(out_dir)
    key = _config_key({"title": site_title, "url": site_url, "langs": ",".join(langs),
                       "similar": similar is not None,
                       "images": card_image if images_dir is not None else None})
    state = load_state(out_dir)
    say = progress or (lambda stage, done, total: None)
    site = SiteData.load(store)
    r = Renderer(site_title, langs)
    images = SiteImages.load(store, images_dir, card_image) if images_dir is not None else None
    cards = Cards(store, langs, images)
    pages = Pages(r, site_title, site_url, site.day_keys, set(site.reading_hash), cards.updated,
                  site.week_keys(), site.month_keys())
    new_state = {"config": key, "built_at": (started - dt.timedelta(seconds=1)).isoformat(),
                 "days": site.day_keys, "readings": site.reading_hash,
                 "day_counts": {d.isoformat(): n for d, n in site.days}}
    # A state without the list of paper pages (an older build's) cannot say which are gone.
    fy = foryou or ForYou()
    if state is None or state.get("config") != key or full or "papers" not in state:
        res = _full(store, out_dir, site, cards, pages, similar, say, workers, new_state, fy)
    else:
        res = incremental(store, out_dir, site, cards, pages, similar, say, state, new_state, fy)
    if profile_feeds is not None:
        w = SiteWriter(out_dir)
        write_profile_feeds(w, cards, profile_feeds(), site_url)
        res.written += w.stats.written
        res.written_paths.extend(w.stats.paths)
    res.seconds = time.perf_counter() - t0
    return res


def _full(store: PublishSource, out_dir: Path, site: SiteData, cards: Cards, pages: Pages,
          similar: SimilarFn | None, say: Callable[[str, int, int], None], workers: int | None,
          state: dict[str, Any], fy: ForYou) -> BuildResult:
    res = BuildResult(mode="full")
    t = time.perf_counter()
    check_replaceable(out_dir)
    # Loading makes millions of long-lived objects and no garbage cycles: the cyclic GC would
    # only re-scan them (seconds), and in forked workers its scans would also copy every
    # page the parent shares with them. Collect once, then freeze the survivors.
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        return _full_build(store, out_dir, site, cards, pages, similar, say, workers, state, res, t, fy)
    finally:
        gc.unfreeze()
        if gc_was_on:
            gc.enable()


def _full_build(store: PublishSource, out_dir: Path, site: SiteData, cards: Cards, pages: Pages,
                similar: SimilarFn | None, say: Callable[[str, int, int], None], workers: int | None,
                state: dict[str, Any], res: BuildResult, t: float, fy: ForYou) -> BuildResult:
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
    sims = similar_lists(store, cards, ids, similar, site.sim_cutoff())
    res.timings["load"] = time.perf_counter() - t
    say("papers", 0, len(ids))

    def range_cards(start: dt.date, end: dt.date) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        d = start
        while d <= end:
            out.extend(day_cards.get(d.isoformat(), ()))
            d += dt.timedelta(days=1)
        return out

    tmp = fresh_dir(out_dir)
    helper: Helper | None = None
    try:
        t = time.perf_counter()
        if cards.images is not None:  # before any page that shows them
            res.images_added = cards.images.copy_into(tmp)[0]

        def paper(pid: str) -> tuple[str, bytes]:
            return pages.paper(cc[pid], [cc[s] for s in sims.get(pid, ())])

        def listings(w: SiteWriter) -> None:
            for k in site.day_keys:
                w.write(f"d/{k}.html", pages.day(k, day_cards.get(k, []), site.moved_by_day.get(k, {}), "../"))
            for k in pages.week_keys:
                w.write(*pages.week(k, range_cards(*week_range(k))))
            for k in pages.month_keys:
                w.write(*pages.month(k, range_cards(*month_range(k))))
            for tag in TAGS:
                for rel, data in pages.topic(tag, [cc[i] for i in tag_ids.get(tag, ()) if i in cc]):
                    w.write(rel, data)

        n = workers if workers is not None else (2 if can_fork() and len(ids) >= PARALLEL_MIN else 1)
        n = 2 if n >= 2 and can_fork() else 1
        w = SiteWriter(tmp, fresh=True)
        if n == 1:
            for pid in ids:
                w.write(*paper(pid))
            listings(w)
        else:
            # Only this process creates files in p/ (see workers.py). The helper writes the
            # listings first, then renders paper pages from the back of the list and ships
            # them here. Creating files is this process's main work: it writes what the
            # helper shipped first and renders pages itself (from the front, a few at a
            # time) only while nothing is waiting, so neither process idles.
            split = Split(len(ids))

            def help_out(send: Callable[[Any], None]) -> list[str]:
                hw = SiteWriter(tmp, fresh=True)
                listings(hw)
                while (part := split.back(64)) is not None:
                    send([paper(ids[i]) for i in part])
                return hw.stats.paths

            gc.collect()
            gc.freeze()  # the helper shares the loaded cards without copying their pages
            gc.enable()  # for the short-lived objects of rendering only
            helper = Helper(help_out)
            while True:
                shipped = helper.poll()
                for batch in shipped:
                    for rel, data in batch:
                        w.write(rel, data)
                if shipped:
                    continue
                if helper.error is not None:
                    break  # finish() raises it
                if (part := split.front(8)) is None:
                    break
                for i in part:
                    w.write(*paper(ids[i]))
            shipped, their_paths = helper.finish()
            for batch in shipped:
                for rel, data in batch:
                    w.write(rel, data)
            res.written_paths.extend(their_paths)
        res.written_paths.extend(w.stats.paths)
        res.timings["render_write"] = time.perf_counter() - t
        say("papers", len(ids), len(ids))

        t = time.perf_counter()
        w = SiteWriter(tmp, fresh=True)
        for rel, data in reading_pages(store, pages.r, set(site.reading_hash)):
            w.write(rel, data)
        recent: list[dict[str, Any]] = []
        for k in reversed(site.day_keys):
            recent.extend(day_cards.get(k, ()))
            if len(recent) >= FEED_N:
                break
        latest = site.day_keys[-1] if site.day_keys else None
        site_wide(w, pages, store, site, recent, day_cards.get(latest, []) if latest else None, True)
        sw = time.perf_counter() - t
        t = time.perf_counter()
        fy.publish(w, pages.r, site.day_keys, lambda k: day_cards.get(k, []), None, state)
        res.timings["foryou"] = time.perf_counter() - t
        t = time.perf_counter()
        state["topics"] = {t: topic_entries(tag_ids.get(t, []), cc) for t in TAGS}
        state["similar"] = sims
        state["papers"] = ids
        ts = time.perf_counter()
        state["search"] = search_index.write_full(SiteWriter(tmp, fresh=True), cards, ids, out_dir)
        res.timings["search_index"] = time.perf_counter() - ts
        save_state(tmp, state)
        res.written_paths.extend(w.stats.paths)
        res.timings["site_wide"] = sw + time.perf_counter() - t
        t = time.perf_counter()
        swap_in(tmp, out_dir)
        res.timings["swap"] = time.perf_counter() - t
    except BaseException:
        if helper is not None and not helper.finished:
            helper.abandon()
        shutil.rmtree(tmp, ignore_errors=True)  # the previous site stays as it was
        raise
    res.rendered = res.written = len(res.written_paths)
    res.days, res.papers = len(site.day_keys), len(ids)
    return res


