"""Benchmark: build the site over real arXiv papers spread across 550 days.

    python bench/site.py PATH/arxiv-papers.jsonl.gz [--work DIR] [--days 550]

Imports the papers into a fresh SQLite store (not timed), assigns them to 550 consecutive
days with deterministic upvotes and enriches a share of them with taxonomy tags, then times:
  full        a full build into an empty site dir
  incremental one day changes (upvotes + an enrichment), then an incremental build
  baseline    the same change published naively: a full re-render (into a second directory,
              whose every file must equal the incremental result: printed)
Each figure is printed with the machine's load average (the machine may be shared).
Last line: site days=550 pages=N full_s=A incremental_s=B
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from papersift.model import Enrichment, Paper, Review
from papersift.site import BuildResult, build_site
from papersift.store import SQLiteStore

CAT_TAGS = {"cs.CV": "cv", "cs.CL": "multilingual", "cs.LG": "training", "cs.AI": "agents",
            "cs.RO": "robotics", "cs.SD": "audio", "eess.AS": "audio", "cs.CR": "security",
            "math.OC": "optimization", "cs.IR": "rag", "cs.GR": "3d", "cs.MA": "agents"}


def _h(s: str) -> int:
    return int(hashlib.blake2b(s.encode(), digest_size=4).hexdigest(), 16)


def load(path: Path, days: int, start: dt.date) -> tuple[list[Paper], list[Enrichment]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    papers, enr = [], []
    for i, r in enumerate(rows):
        day = start + dt.timedelta(days=i * days // len(rows))
        p = Paper(arxiv_id=r["id"], title=r["title"], abstract=r["abstract"], authors=r["authors"],
                  categories=r["categories"], published=dt.date.fromisoformat(r["published"]),
                  hf_date=day, upvotes=_h(r["id"]) % 120)
        papers.append(p)
        if i % 4 == 0:  # a quarter enriched, so topic pages and feeds have content
            tags = sorted({CAT_TAGS[c] for c in r["categories"] if c in CAT_TAGS})
            enr.append(Enrichment(paper_id=p.id, method="offline", emoji="📄", tags=tags,
                                  summary=r["abstract"][:300],
                                  reviews={"en": Review(title=r["title"][:90], review=r["abstract"][:300])}))
    return papers, enr


def _compare(a: Path, b: Path) -> list[str]:
    """Relative paths whose bytes differ between two site trees (build state excluded)."""
    def files(root: Path) -> set[str]:
        # search/ is left out: an incremental build adds a delta segment where a full build
        # writes one base (same answers, other files; tests/test_site_search_index.py).
        return {str(f.relative_to(root)) for f in root.rglob("*")
                if f.is_file() and not f.name.startswith(".") and not str(f.relative_to(root)).startswith("search/")}
    fa, fb = files(a), files(b)
    diff = sorted(fa ^ fb)
    diff += [r for r in sorted(fa & fb) if (a / r).read_bytes() != (b / r).read_bytes()]
    return diff


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path", type=Path, help="arxiv-papers.jsonl.gz")
    ap.add_argument("--days", type=int, default=550)
    ap.add_argument("--work", type=Path, default=None, help="work dir (default: a temp dir)")
    a = ap.parse_args()
    if not a.path.is_file():
        sys.exit(f"error: {a.path}: not found; pass the path to arxiv-papers.jsonl.gz")
    work = a.work or Path(tempfile.mkdtemp(prefix="ps-bench-site-"))
    work.mkdir(parents=True, exist_ok=True)
    db, site, naive = work / "bench.db", work / "site", work / "site-naive"
    for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        p.unlink(missing_ok=True)
    shutil.rmtree(site, ignore_errors=True)
    shutil.rmtree(naive, ignore_errors=True)

    t = time.perf_counter()
    papers, enr = load(a.path, a.days, dt.date(2024, 6, 3))
    store = SQLiteStore(db)
    store.upsert_papers(papers)
    with store._tx():  # one transaction for the bulk enrichment insert (setup, not measured)
        for e in enr:
            store.save_enrichment(e)
    print(f"setup: {len(papers)} papers, {len(enr)} enrichments, {len(store.days())} days "
          f"in {time.perf_counter() - t:.1f}s")

    def settle() -> None:
        # Untimed: flush the setup's (or the previous build's) dirty pages first, so their
        # writeback does not land inside the next timed build.
        os.sync()

    def loadavg() -> str:
        return "load avg " + " ".join(f"{x:.2f}" for x in os.getloadavg())

    def phases(res: BuildResult) -> str:
        return ", ".join(f"{k} {v:.2f}s" for k, v in res.timings.items())

    settle()
    before = loadavg()
    t = time.perf_counter()
    full = build_site(store, site)
    full_s = time.perf_counter() - t
    pages = sum(1 for f in site.rglob("*") if f.is_file() and not f.name.startswith("."))
    print(f"full:        {full.summary()} [{phases(full)}] ({before})")

    def change(day_index: int, bump: int) -> None:
        day = dt.date(2024, 6, 3) + dt.timedelta(days=day_index)
        ps = store.papers_for_day(day)
        store.upsert_papers([Paper(arxiv_id=p.id, title=p.title, upvotes=(p.upvotes or 0) + bump)
                             for p in ps[:5]])
        store.save_enrichment(Enrichment(paper_id=ps[-1].id, method="llm", emoji="🎯", tags=["rag"],
                                         reviews={"en": Review(title="Changed", review=f"bump {bump}")}))

    time.sleep(1.1)  # the change must land after the previous build's timestamp (1 s resolution)
    change(a.days // 2, 1000)
    settle()
    before = loadavg()
    t = time.perf_counter()
    inc = build_site(store, site)
    inc_s = time.perf_counter() - t
    print(f"incremental: {inc.summary()} [{phases(inc)}] ({before})")

    # The naive way to publish the same change: re-render everything (a full build of the
    # same store into a second directory). Its output must equal the incremental result.
    settle()
    before = loadavg()
    t = time.perf_counter()
    base = build_site(store, naive, full=True)
    base_s = time.perf_counter() - t
    print(f"baseline:    naive full rebuild for a one-day change: {base.summary()} ({before})")
    diff = _compare(site, naive)
    print(f"incremental site == full rebuild: {'yes' if not diff else 'NO'} "
          f"({pages} files compared{'; differ: ' + ', '.join(diff[:5]) if diff else ''})")
    print(f"incremental vs naive full rebuild: {inc_s:.2f}s vs {base_s:.2f}s = {base_s / max(inc_s, 1e-9):.0f}x faster "
          f"(targets: full <= 15 s, incremental <= 1 s)")
    store.close()
    if a.work is None:
        shutil.rmtree(work, ignore_errors=True)
    print(f"site days={a.days} pages={pages} full_s={full_s:.2f} incremental_s={inc_s:.2f}")


if __name__ == "__main__":
    main()
