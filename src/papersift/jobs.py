"""The jobs, as library functions: the daily run (collect -> enrich -> images -> index ->
build) and the demo (the same chain, offline, on the bundled sample). They return what they
did; the CLI prints it. `on_line` (optional) receives each stage's summary line as soon as it
is done; lines are plain text (paper titles in them are untrusted: print them without markup).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .config import Settings
from .digest.send import send_digests
from .enrich.llm import make_llm
from .enrich.runner import run_enrich, select_papers
from .images.job import images_dir, images_step
from .ingest import ImportSummary, import_paths
from .profiles import profiles_of
from .profiles.feeds import profile_feed_lists
from .search.engine import SearchQuery
from .search.engines import open_engine, published_vectors, similar_function
from .search.indexing import run_index
from .site.build import BuildResult, build_site
from .site.foryou import ForYou, VectorSource
from .site.status_page import write_status_page
from .sources.collect import collect_hf_day
from .sources.links import run_links
from .status import day_statuses
from .store.base import Store
from .workers import enqueue_papers, uses_workers

BuildProgress = Callable[[str, int, int], None]  # (stage, done, total)
Say = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def sample_path() -> Path:
    """The bundled sample (real papers from the seed listings; see scripts/make_sample.py)."""
    return Path(str(resources.files("papersift") / "data" / "sample.jsonl"))


def import_sample(store: Store) -> ImportSummary:
    """Import the bundled sample (idempotent: a second import changes nothing)."""
    return import_paths(store, [sample_path()], "papers", kind="demo-import")


def build(store: Store, settings: Settings, site_dir: Path | None = None, *, full: bool = False,
          similar: bool = True, progress: BuildProgress | None = None) -> BuildResult:
    """The build stage with the settings' title, URL and languages (incremental unless full)."""
    sim = similar_function(settings, store) if similar else None
    out = Path(site_dir or settings.site_dir)
    vecs = published_vectors(settings, store)
    fy = ForYou(VectorSource(store, *vecs) if vecs else None, settings.foryou_days)
    res = build_site(store, out, site_title=settings.site_title, site_url=settings.site_url,
                     langs=settings.languages, similar=sim, full=full, progress=progress,
                     images_dir=images_dir(settings), card_image=settings.card_image,
                     foryou=fy, profile_feeds=profile_feed_lists(store, settings))
    # The 30 days up to the newest one the store holds (today, on a daily schedule).
    days = store.days()
    since = (days[-1][0] if days else dt.datetime.now(dt.UTC).date()) - dt.timedelta(days=29)
    write_status_page(out, day_statuses(store, since=since, site_dir=out),
                      site_title=settings.site_title, langs=settings.languages)
    return res


def days_to_collect(store: Store, day: dt.date, *, since: dt.date | None = None,
                    limit: int = 7) -> list[dt.date]:
    """The HF days a run collects: `day`, and the days missed before it. By hand (`since`):
    every day from `since`. Else (backfill), within the `limit` days before `day`: the days
    never collected since the first one that was (or whose collect failed), and the
    incomplete ones: a schedule that was down for 3 days is filled in by the next run, and a
    run killed midway is completed by the next."""
    if since is not None:
        return [since + dt.timedelta(days=i) for i in range((day - since).days + 1)]
    start = day - dt.timedelta(days=limit)
    covered = {c.period for c in store.coverage("hf")}
    collected = sorted(p for p in covered if len(p) == 10 and p < day.isoformat())
    if not collected or limit <= 0:
        return [day]
    # Days a collect was asked for (also the ones whose collect failed, which left no coverage).
    asked = {str(r.params.get("date")) for r in store.recent_runs(500) if r.kind == "collect-hf"}
    status = {d.day: d for d in day_statuses(store, since=start, until=day).days}
    out = []
    for i in range(limit):
        d = start + dt.timedelta(days=i)
        iso = d.isoformat()
        st = status.get(d)
        missed = iso not in covered and (iso > collected[0] or iso in asked)
        # publishing is the build's job in this same run: incomplete means an earlier stage
        unfinished = st is not None and any(not p.endswith("published") for p in st.problems)
        if missed or unfinished:
            out.append(d)
    return [*out, day]


@dataclass
class JobReport:
    lines: list[str] = field(default_factory=list)  # one summary line per stage
    errors: list[str] = field(default_factory=list)  # stages that failed, with why
    published: bool = False  # the site exists (built now or before)
    on_line: Say = field(default=_quiet, repr=False)  # told each line as it is added

    def say(self, text: str) -> None:
        self.lines.append(text)
        self.on_line(text)


def run_daily(store: Store, settings: Settings, day: dt.date, *, collect: bool = True,
              since: dt.date | None = None, site_dir: Path | None = None,
              on_line: Say = _quiet, build_progress: BuildProgress | None = None) -> JobReport:
    """collect -> enrich -> images -> index -> build -> digests for `day` and the days missed before it (see
    days_to_collect). Each stage's failure is reported and the next still runs on what the
    store holds; `published` says whether the site exists. Safe to re-run: a second run
    changes nothing and makes no LLM call. On PostgreSQL (unless the setting `workers` is
    false) the enrich and image stages only queue their papers for `papersift worker`."""
    s = settings
    rep = JobReport(on_line=on_line)
    line = rep.say
    t0 = time.perf_counter()

    days = days_to_collect(store, day, since=since, limit=s.backfill_days) if collect else [day]
    if collect:
        if len(days) > 1:
            line(f"collect: {len(days)} days ({days[0]} .. {days[-1]}): the days missed or "
                 "left incomplete since the last run, and this one")
        for d in days:
            try:
                res = collect_hf_day(store, s, d)
                c = res.counts()
                line(f"collect: HF {d}: {c['fetched']} papers ({c['inserted']} new, "
                     f"{c['updated']} updated), {c['errors']} record errors")
                if res.failed:
                    rep.errors.append(f"collect {d}: {res.failed}")
            except Exception as e:  # network down, bad config: publish what we have
                rep.errors.append(f"collect {d}: {e}")
    else:
        line("collect: skipped (--offline)")
        line("links: skipped (--offline)")
    if collect:  # code, stars and HF resources of the days collected (offline: no network call)
        try:
            linked = list({p.id: p for d in days for p in store.papers_for_day(d)}.values())
            line(run_links(store, s, linked, params={"date": day.isoformat(), "by": "run"}).summary())
        except Exception as e:
            rep.errors.append(f"links: {e}")
    # On PostgreSQL the enrichment and images are queued for workers (`papersift worker`,
    # any number, on any machine) instead of done here; the index and the build below work
    # on what is done so far, and the next run publishes what the workers did since.
    queued = uses_workers(store, s)
    try:
        papers = list({p.id: p for d in days for p in select_papers(store, date=d)}.values())
        if queued:
            line(enqueue_papers(store, s, "enrich", papers))
        else:
            er = run_enrich(store, papers, make_llm(s), s.languages, s.concurrency)
            c = er.counts()
            span = str(day) if len(days) == 1 else f"{days[0]} .. {days[-1]}"
            line(f"enrich: {c['selected']} papers of {span}: {c['done']} enriched with "
                 f"{c['calls']} calls, {c['cached']} cached, {c['skipped']} already done, "
                 f"{c['failed']} failed ({c['method']})")
    except Exception as e:
        rep.errors.append(f"enrich: {e}")
    if collect:  # title images and figures, affiliations from the same PDF downloads
        try:
            todo = list({p.id: p for d in days for p in select_papers(store, date=d)}.values())
            line(enqueue_papers(store, s, "images", todo) if queued
                 else images_step(store, s, todo, llm=make_llm(s)).summary())
        except Exception as e:
            rep.errors.append(f"images: {e}")
    try:
        line("index: " + run_index(store, s).summary())
    except Exception as e:
        rep.errors.append(f"index: {e}")
    try:
        line(build(store, s, site_dir, progress=build_progress).summary())
        rep.published = (Path(site_dir or s.site_dir) / "index.html").exists()
    except Exception as e:
        rep.errors.append(f"build: {e}")
    try:  # the digests of the day, once per profile and channel (a rerun sends nothing)
        profiles, base, _ = profiles_of(s)
        if any(p.channels for p in profiles):
            dr = send_digests(store, s, profiles, day, base_dir=base, on_line=line)
            line(dr.summary())
            rep.errors += [f"digest: {f}" for f in dr.failed]
    except Exception as e:
        rep.errors.append(f"digest: {e}")
    for why in rep.errors:
        line(f"warning: {why}")
    line(f"run: {'published' if rep.published else 'NOT published'} in {time.perf_counter() - t0:.1f}s")
    return rep


def run_demo(store: Store, settings: Settings, *, on_line: Say = _quiet,
             build_progress: BuildProgress | None = None) -> JobReport:
    """Every stage, offline, on the bundled sample: import, offline enrichment, index and one
    search, build. A failing stage raises (the demo must show a working chain)."""
    rep = JobReport(on_line=on_line)
    line = rep.say

    line(f"papersift demo: offline, on the bundled sample ({sample_path().name})")
    summary = import_sample(store)
    c = summary.counts()
    line(f"import: {c['records']} sample papers -> {c['inserted']} new, {c['updated']} "
         f"updated, {c['unchanged']} unchanged, {c['merged']} merged duplicates; "
         f"store now holds {store.count_papers()} papers in "
         f"{len(store.days())} days ({settings.db_target})")
    for err in summary.errors[:5]:
        line(f"error: {err}")
    er = run_enrich(store, list(store.iter_papers()), None, settings.languages)
    line(f"enrich (offline): {er.done} papers enriched (extractive summary, tags, "
         f"emoji), {er.skipped} already enriched, in {er.seconds:.2f}s")
    line(run_index(store, settings).summary())
    res = open_engine(settings, store).search(SearchQuery(q="exaggeration", limit=3))
    top = res.hits[0].paper.title if res.hits else "no result"
    line(f"search: 'exaggeration' -> {res.total} results ({res.mode}, {res.took_ms:.0f} ms); "
         f"top: {top}")
    line("images: none offline; online, `papersift run` renders each paper's title block from "
         "page 1 of its arXiv PDF and takes the HF thumbnail or the first figure of its arXiv "
         "HTML version (`papersift images`)")
    built = build(store, settings, progress=build_progress)
    out = Path(settings.site_dir).resolve()
    line(f"build: {built.summary()}")
    line(f"site: open {out / 'index.html'} in a browser (works offline), or run "
         "`papersift serve` and visit http://127.0.0.1:8000/ for search")
    rep.published = (out / "index.html").exists()
    return rep
