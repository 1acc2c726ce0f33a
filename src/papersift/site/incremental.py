"""The incremental build: only the pages that show what changed since the last build.

What changed comes from the store (papers, enrichments, day listings since the last build's
timestamp, readings by digest, day sizes). The saved state adds what the store cannot say:
which papers have a page, and which papers each topic page and each built-in similar list
showed, so a paper that loses a tag, or changes while listed as similar, is redrawn there too,
and a paper that is gone (a listing-only paper renamed to its arXiv id) loses its page and
every mention.
"""

from __future__ import annotations

import bisect
import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..ids import slug
from ..store.base import PublishSource
from ..taxonomy import TAGS
from .cards import iso_week, month_range, week_range
from .data import Cards
from .foryou import ForYou
from .output import SiteWriter, save_state
from .pages import FEED_N, TAG_PAGE_N, TOP_N, Pages, topic_entries, update_topic
from .search_index import write_incremental
from .sitewide import BuildResult, SimilarFn, SiteData, reading_pages, similar_lists, site_wide


def incremental(store: PublishSource, out_dir: Path, site: SiteData, cards: Cards, pages: Pages,
                 similar: SimilarFn | None, say: Callable[[str, int, int], None],
                 old: dict[str, Any], state: dict[str, Any], fy: ForYou) -> BuildResult:
    res = BuildResult(mode="incremental")
    t = time.perf_counter()
    touched = store.touched_since(old["built_at"])
    cards.load(touched)
    touched = {i for i in touched if i in cards.cards}
    built = set(old["papers"])  # ids with a page
    gone = vanished(store, built, touched)
    cc = cards.cards
    day_keys = site.day_keys
    dirty_days: set[str] = set()
    for pid in touched:
        if cc[pid]["day"]:
            dirty_days.add(cc[pid]["day"])
        dirty_days |= site.member_days.get(pid, set())
    old_days = old.get("days", [])
    # A day whose size changed lost or gained a paper: that catches a paper that left a day
    # (its day changed), which the touched papers' current days cannot show.
    old_counts = old.get("day_counts")
    if old_counts is not None:
        counts = dict(state["day_counts"])
        dirty_days |= {k for k in set(old_counts) | set(counts) if old_counts.get(k) != counts.get(k)}
    if old_days != day_keys:
        for k in set(old_days) ^ set(day_keys):  # neighbours of a new or vanished day: prev/next
            for lst in (day_keys, old_days):
                i = bisect.bisect_left(lst, k)
                for j in (i - 1, i, i + 1):
                    if 0 <= j < len(lst) and lst[j] in day_keys:
                        dirty_days.add(lst[j])
    dirty_readings = {k for k, h in site.reading_hash.items() if old.get("readings", {}).get(k) != h}
    dirty_days |= dirty_readings  # the day page links its reading
    # Topic pages: each one's new list follows from its old list and the touched papers
    # (update_topic); only a page whose list or shown papers changed is rendered, and the
    # store is asked only for lists that cannot be derived. A paper that lost a tag leaves
    # that page because its old list names it.
    old_topics: dict[str, Any] = old.get("topics", {})
    topics: dict[str, list[list[Any]]] = {}
    dirty_tags: set[str] = set()
    ask: list[str] = []
    for tag in TAGS:
        prev = old_topics.get(tag)
        # A list that named a vanished paper is asked for: one beyond it may move up.
        lost = bool(gone) and any(isinstance(e, list) and e and e[0] in gone for e in prev or [])
        new = None if lost else update_topic(tag, prev, touched, cc)
        if new is None:
            ask.append(tag)
            continue
        topics[tag] = new
        ids = [e[0] for e in new]
        if ids != [e[0] for e in prev or []] or not touched.isdisjoint(ids):
            dirty_tags.add(tag)
    if ask:
        asked = store.tag_members(ask, TAG_PAGE_N)
        for tag in ask:
            ids = asked.get(tag, [])[:TAG_PAGE_N]
            cards.load(ids)
            topics[tag] = topic_entries(ids, cc)
            dirty_tags.add(tag)
    # Paper pages whose built-in similar list shows a touched or vanished paper are redrawn too.
    sims: dict[str, list[str]] = {k: v for k, v in old.get("similar", {}).items() if k not in gone}
    changed = touched | gone
    dependents = {pid for pid, ids in sims.items() if not changed.isdisjoint(ids)}
    cards.load(dependents)
    paper_ids = sorted(touched | {d for d in dependents if d in cc})
    fresh_sims = similar_lists(store, cards, paper_ids, similar, site.sim_cutoff())
    for pid in paper_ids:  # a redrawn page keeps an entry only while it shows a list
        sims.pop(pid, None)
    sims.update({k: v for k, v in fresh_sims.items() if v})
    res.timings["load"] = time.perf_counter() - t

    t = time.perf_counter()
    if cards.images is not None:  # new files in before pages show them; unshown ones go
        res.images_added, res.images_removed = cards.images.copy_into(out_dir, prune=True)
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
    for rel, data in reading_pages(store, pages.r, dirty_readings):
        w.write(rel, data)
    res.days = len(dirty_days)
    for k in sorted({iso_week(dt.date.fromisoformat(k)) for k in dirty_days}):
        w.write(*pages.week(k, range_cards(*week_range(k))))
    for k in sorted({k[:7] for k in dirty_days}):
        w.write(*pages.month(k, range_cards(*month_range(k))))

    for tag in sorted(dirty_tags):
        ids = [e[0] for e in topics[tag]]
        cards.load(ids)
        for rel, body in pages.topic(tag, [cc[i] for i in ids if i in cc]):
            w.write(rel, body)

    recent: list[dict[str, Any]] = []
    for k in reversed(day_keys):
        recent.extend(day_cards(k))
        if len(recent) >= FEED_N:
            break
    if latest is not None and index_cards is None and old_days[-1:] != [latest]:
        index_cards = day_cards(latest)
    site_wide(w, pages, store, site, recent, index_cards, bool(touched))
    res.timings["render_write"] = time.perf_counter() - t
    t = time.perf_counter()
    fy.publish(w, pages.r, day_keys, day_cards, dirty_days, state, old)
    res.timings["foryou"] = time.perf_counter() - t
    t = time.perf_counter()
    # Last, once no rewritten page links to them.
    for pid in sorted(gone):
        w.remove(f"p/{slug(pid)}.html")
    res.timings["render_write"] += time.perf_counter() - t
    state["topics"] = topics
    state["similar"] = sims
    kept = [i for i in old["papers"] if i not in gone] if gone else old["papers"]
    state["papers"] = kept + sorted(touched - built)
    ts = time.perf_counter()
    state["search"] = write_incremental(SiteWriter(out_dir), cards, old.get("search"), touched, gone)
    res.timings["search_index"] = time.perf_counter() - ts
    save_state(out_dir, state)
    st = w.stats
    res.rendered, res.written, res.unchanged = st.rendered, st.written, st.unchanged
    res.removed = st.removed
    res.written_paths = st.paths
    return res


def vanished(store: PublishSource, built: set[str], touched: set[str]) -> set[str]:
    """Ids of `built` (the last build's paper pages) the store no longer holds. Every paper
    the store gained since that build is touched, so when the count adds up nothing vanished
    and one count answers; otherwise the store is asked which of the other ids still exist."""
    if store.count_papers() == len(built) + len(touched - built):
        return set()
    rest = built - touched
    return rest - store.existing_ids(rest)
