"""`papersift build`: the static site from the store.

A full build reads every paper once and renders every page; an incremental build asks the
store what changed since the last build (papers, enrichments, day listings, readings) and
renders only the pages that show those papers. Either way a page is written only when its
bytes differ, atomically (see output.py), and the build state is saved last, so a build that
fails part-way is simply redone next time.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model import Paper
from ..store.base import Store
from ..taxonomy import TAGS
from . import feeds
from .output import SiteWriter, load_state, remove_stale, save_state
from .render import STATIC, Renderer, nav, render_version
from .views import card, iso_week, month_key, month_range, week_range

TOP_N = 100  # weekly / monthly top
TAG_PAGE_N = 300  # newest papers on a topic page
FEED_N = 100  # entries in the all-papers feed
TAG_FEED_N = 50
SIMILAR_N = 6
SIMILAR_MAX = 1000  # papers per build that get similar papers rendered into their page
SIMILAR_DAYS = 14  # ... and only those from the newest two weeks

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

    def summary(self) -> str:
        return (f"{self.mode} build: {self.rendered} pages rendered, {self.written} written, "
                f"{self.unchanged} unchanged, {self.removed} removed ({self.days} days, "
                f"{self.papers} paper pages) in {self.seconds:.2f}s")


class _Cards:
    """Cards for the papers a build touches, fetched from the store in batches."""

    def __init__(self, store: Store, langs: list[str]):
        self.store, self.langs = store, langs
        self.cards: dict[str, dict[str, Any]] = {}
        self.updated: dict[str, str] = {}  # id -> when its data last changed (ISO)

    def add(self, papers: Iterable[Paper], moved: dict[str, str] | None = None) -> None:
        todo = [p for p in papers if p.id not in self.cards]
        ids = [p.id for p in todo]
        if not ids:
            return
        enr = self.store.get_enrichments(ids)
        times = self.store.paper_times(ids)
        for p in todo:
            e = enr.get(p.id)
            created, changed = times.get(p.id, ("", ""))
            self.cards[p.id] = card(p, e, self.langs, added=created[:19])
            stamp = max(changed, e.created_at.isoformat() if e else "")
            self.updated[p.id] = stamp

    def of(self, papers: Iterable[Paper], moved: dict[str, str] | None = None) -> list[dict[str, Any]]:
        papers = list(papers)
        self.add(papers)
        out = []
        for p in papers:
            c = self.cards[p.id]
            if moved and p.id in moved:
                c = {**c, "moved_to": moved[p.id]}
            out.append(c)
        return out


def _top(cards: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    seen: set[str] = set()
    uniq = [c for c in cards if not (c["id"] in seen or seen.add(c["id"]))]
    uniq.sort(key=lambda c: (-c["upvotes"], -int(c["published"].replace("-", "") or 0), c["id"]))
    return uniq[:n]


def _by_upvotes(papers: list[Paper]) -> list[Paper]:
    return sorted(papers, key=lambda p: (-(p.upvotes or 0), p.id))


def _config_key(settings_key: dict[str, Any]) -> str:
    return hashlib.sha256((render_version() + repr(sorted(settings_key.items()))).encode()).hexdigest()[:16]


def build_site(store: Store, out_dir: Path, *, site_title: str = "papersift",
               site_url: str = "http://localhost:8000/", langs: list[str] | None = None,
               similar: SimilarFn | None = None, full: bool = False,
               progress: Callable[[str, int, int], None] | None = None) -> BuildResult:
    """Render the site into out_dir. Incremental unless `full` or nothing was built before
    with the same templates and settings."""
    t0 = time.perf_counter()
    langs = langs or ["en", "ru", "zh"]
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    out_dir = Path(out_dir)
    key = _config_key({"title": site_title, "url": site_url, "langs": ",".join(langs),
                       "similar": similar is not None})
    state = load_state(out_dir)
    if state is None or state.get("config") != key or full:
        mode, touched = "full", None
    else:
        mode = "incremental"
        touched = store.touched_since(state["built_at"])
    w = SiteWriter(out_dir)
    r = Renderer(site_title, langs)
    cards = _Cards(store, langs)
    res = BuildResult(mode=mode)
    say = progress or (lambda stage, done, total: None)

    days = store.days()
    day_keys = [d.isoformat() for d, _ in days]
    members = store.day_members()
    moved_by_day: dict[str, dict[str, str]] = {}
    member_days: dict[str, set[str]] = {}
    for d, pid, moved_to in members:
        member_days.setdefault(pid, set()).add(d)
        if moved_to:
            moved_by_day.setdefault(d, {})[pid] = moved_to
    reading_hash = store.reading_hashes()
    readings = set(reading_hash)

    # ---- what to render ----
    all_by_day: dict[str, list[Paper]] | None = None
    if mode == "full":
        all_papers = list(store.iter_papers())
        by_id = {p.id: p for p in all_papers}
        cards.add(all_papers)
        all_by_day = {}
        for p in all_papers:
            ds = set(member_days.get(p.id, ()))
            if p.day:
                ds.add(p.day.isoformat())
            for d in ds:
                all_by_day.setdefault(d, []).append(p)
        for d in all_by_day:
            all_by_day[d] = _by_upvotes(all_by_day[d])
        dirty_days = set(day_keys)
        paper_ids = list(by_id)
        dirty_tags = None  # all
        dirty_readings = set(readings)
    else:
        assert touched is not None
        touched_papers = store.get_papers(touched)
        dirty_days = set()
        for pid, p in touched_papers.items():
            if p.day:
                dirty_days.add(p.day.isoformat())
            dirty_days |= member_days.get(pid, set())
        old_days = state.get("days", [])
        if old_days != day_keys:
            changed = set(old_days) ^ set(day_keys)
            for k in changed:  # neighbours of a new or vanished day get new prev/next links
                for lst in (day_keys, old_days):
                    i = bisect.bisect_left(lst, k)
                    for j in (i - 1, i, i + 1):
                        if 0 <= j < len(lst) and lst[j] in day_keys:
                            dirty_days.add(lst[j])
        dirty_readings = {k for k, h in reading_hash.items() if state.get("readings", {}).get(k) != h}
        dirty_days |= dirty_readings  # the day page links its reading
        paper_ids = list(touched_papers)
        cards.add(touched_papers.values())
        dirty_tags = {t for pid in touched_papers for t in cards.cards[pid]["tags"]}

    def day_papers(k: str) -> list[Paper]:
        if all_by_day is not None:
            return all_by_day.get(k, [])
        return store.papers_for_day(dt.date.fromisoformat(k))

    def range_papers(start: dt.date, end: dt.date) -> list[Paper]:
        if all_by_day is not None:
            out: list[Paper] = []
            d = start
            while d <= end:
                out.extend(all_by_day.get(d.isoformat(), []))
                d += dt.timedelta(days=1)
            return out
        return store.top_between(start, end, TOP_N)

    # ---- paper pages first, so listings never link to a page not yet written ----
    total = len(paper_ids)
    sim_budget = SIMILAR_MAX
    sim_cutoff = (days[-1][0] - dt.timedelta(days=SIMILAR_DAYS)).isoformat() if days else ""
    for i, pid in enumerate(paper_ids):
        c = cards.cards[pid]
        sim: list[dict[str, Any]] = []
        # Similar papers cost a vector search each: built in for the newest papers only
        # (the page asks the API for the rest when served).
        if similar is not None and sim_budget > 0 and c["day"] >= sim_cutoff:
            sim_budget -= 1
            try:
                sim_ids = [s for s in similar(pid, SIMILAR_N) if s != pid]
            except Exception:  # similar papers are a nicety; never fail a build on them
                sim_ids = []
            if sim_ids:
                missing = [s for s in sim_ids if s not in cards.cards]
                if missing:
                    cards.add(store.get_papers(missing).values())
                sim = [cards.cards[s] for s in sim_ids if s in cards.cards]
        w.write(f"p/{c['slug']}.html", r.paper(c, sim))
        if i % 2000 == 0:
            say("papers", i, total)
    say("papers", total, total)
    res.papers = total

    # ---- day pages, weeks, months ----
    week_keys = sorted({iso_week(d) for d, _ in days})
    month_keys = sorted({month_key(d) for d, _ in days})
    dirty_weeks = {iso_week(dt.date.fromisoformat(k)) for k in dirty_days}
    dirty_months = {k[:7] for k in dirty_days}
    latest = day_keys[-1] if day_keys else None

    def day_page(k: str, root: str) -> str:
        moved = moved_by_day.get(k, {})
        cs = cards.of(day_papers(k), moved)
        upd = max((cards.updated.get(c["id"], "") for c in cs), default="")
        prev, nxt = nav(day_keys, k, lambda x: f"{root}d/{x}.html")
        extra = [{"href": f"{root}w/{iso_week(dt.date.fromisoformat(k))}.html", "label": "week top"},
                 {"href": f"{root}m/{k[:7]}.html", "label": "month top"},
                 {"href": f"{root}archive.html", "label": "archive"}]
        if k in readings:
            extra.append({"href": f"{root}d/{k}-zh.html", "label": "中文阅读"})
        return r.listing(root=root, title=k, heading=f"Papers of {k}", cards=cs, kind="day",
                         subtitle=f"{len(cs)} papers", updated=upd, prev=prev, next=nxt,
                         extra_links=extra)

    for i, k in enumerate(sorted(dirty_days)):
        if k in day_keys:
            w.write(f"d/{k}.html", day_page(k, "../"))
        if k in readings and k in dirty_readings:
            rd = store.get_reading(dt.date.fromisoformat(k))
            if rd is not None:
                w.write(f"d/{k}-zh.html", r.reading(rd))
        say("days", i + 1, len(dirty_days))
    res.days = len(dirty_days)
    for k in sorted(dirty_weeks):
        a, b = week_range(k)
        cs = _top(cards.of(range_papers(a, b)), TOP_N)
        prev, nxt = nav(week_keys, k, lambda x: f"{x}.html")
        w.write(f"w/{k}.html", r.listing(root="../", title=f"Week {k}", heading=f"Top of week {k}",
                                         subtitle=f"{a} – {b}, by upvotes", cards=cs, kind="week",
                                         prev=prev, next=nxt, ranked=True))
    for k in sorted(dirty_months):
        a, b = month_range(k)
        cs = _top(cards.of(range_papers(a, b)), TOP_N)
        prev, nxt = nav(month_keys, k, lambda x: f"{x}.html")
        w.write(f"m/{k}.html", r.listing(root="../", title=f"Month {k}", heading=f"Top of {k}",
                                         subtitle=f"{a} – {b}, by upvotes", cards=cs, kind="month",
                                         prev=prev, next=nxt, ranked=True))

    # ---- topics and their feeds ----
    members_by_tag = store.tag_members(None if dirty_tags is None else sorted(dirty_tags), TAG_PAGE_N)
    for tag in sorted(members_by_tag if dirty_tags is not None else TAGS):
        if tag not in TAGS:
            continue
        ids = members_by_tag.get(tag, [])[:TAG_PAGE_N]
        got = store.get_papers([i for i in ids if i not in cards.cards]) if all_by_day is None else {}
        cards.add(got.values())
        cs = [cards.cards[i] for i in ids if i in cards.cards]
        w.write(f"t/{tag}.html", r.listing(root="../", title=f"#{tag}", heading=f"#{tag}",
                                           subtitle=TAGS[tag], cards=cs, kind="topic",
                                           extra_links=[{"href": f"../feeds/t/{tag}.rss.xml", "label": "RSS"},
                                                        {"href": f"../feeds/t/{tag}.atom.xml", "label": "Atom"},
                                                        {"href": f"../feeds/t/{tag}.json", "label": "JSON Feed"}]))
        for rel, data in feeds.all_feeds(cs[:TAG_FEED_N], f"{site_title}: #{tag}", site_url,
                                          f"feeds/t/{tag}").items():
            w.write(rel, data)
    if dirty_tags is None or dirty_tags:
        w.write("t/index.html", r.topics(store.tag_counts()))

    # ---- site-wide pages ----
    recent: list[dict[str, Any]] = []
    for k in reversed(day_keys):
        recent.extend(cards.of(day_papers(k)))
        if len(recent) >= FEED_N:
            break
    for rel, data in feeds.all_feeds(recent[:FEED_N], site_title, site_url, "feeds/all").items():
        w.write(rel, data)
    w.copy_tree(STATIC, "static")
    w.write("search.html", r.search())
    w.write("archive.html", r.archive(days, set(readings)))
    if latest is not None and (mode == "full" or latest in dirty_days or state.get("days", [None])[-1:] != [latest]):
        w.write("index.html", day_page(latest, ""))
    elif latest is None:
        w.write("index.html", r.listing(root="", title="papersift", heading="No papers yet",
                                        cards=[], kind="day"))

    if mode == "full":
        keep = set(w.stats.paths) | {f"p/{cards.cards[p]['slug']}.html" for p in paper_ids}
        keep |= {f"d/{k}.html" for k in day_keys} | {f"d/{k}-zh.html" for k in readings}
        keep |= {f"w/{k}.html" for k in week_keys} | {f"m/{k}.html" for k in month_keys}
        keep |= {f"t/{t}.html" for t in TAGS} | {"t/index.html"}
        res.removed = remove_stale(out_dir, keep, ("p", "d", "w", "m", "t"))

    save_state(out_dir, {"config": key, "built_at": (started - dt.timedelta(seconds=1)).isoformat(),
                         "days": day_keys, "readings": reading_hash})
    st = w.stats
    res.rendered, res.written, res.unchanged = st.rendered, st.written, st.unchanged
    res.written_paths = st.paths
    res.seconds = time.perf_counter() - t0
    return res
