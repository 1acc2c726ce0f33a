"""Benchmark: what the For-you page costs a reader and the build, with real vectors.

    python bench/foryou.py PATH/arxiv-papers.jsonl.gz [--work DIR] [--days 30] [--embedder minilm]

Takes the newest `--days` + 10 days of the arXiv set spread over 550 days as bench/site.py
does (~162 papers a day), indexes them with the embedder (the store and its vectors are kept
in --work between runs), then publishes the For-you data of the newest `--days` days:
  bytes       per paper and in total for the window, raw and gzip-compressed (what a static
              host with compression sends), vectors alone and with the paper text
  baseline    the same vectors published as float32 (base64): bytes and the ratio
  agreement   for 200 papers as a one-liked-paper profile, how many of the float32 top 50
              the int8 vectors also put in their top 50 (recall@50), and the top 1 kept
  build       a full publish and an incremental one after one paper changed (seconds)
Figures are per the bench's density; the last line also scales the total to the Hugging Face
daily listing's real density (~23 papers a day, hf-daily-archive: 5,917 entries in 262 days).
Last line: foryou days=D papers=N bytes_per_paper=B total_kb_30d=T gzip_kb_30d=G hf_total_kb_30d=H recall50=R
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import gzip
import hashlib
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from papersift.config import Settings
from papersift.model import Paper
from papersift.search.engines import published_vectors
from papersift.search.indexing import run_index
from papersift.site.cards import script_json_bytes
from papersift.site.data import Cards
from papersift.site.foryou import ForYou, VectorSource, quantize
from papersift.site.output import SiteWriter
from papersift.site.render import Renderer
from papersift.store import SQLiteStore

HF_PER_DAY = 5917 / 262
START = dt.date(2024, 6, 3)


def _h(s: str) -> int:
    return int(hashlib.blake2b(s.encode(), digest_size=4).hexdigest(), 16)


def setup(path: Path, work: Path, days: int, embedder: str) -> tuple[SQLiteStore, Settings]:
    db = work / f"foryou-{embedder}.db"
    st = Settings(data_dir=work / "data", embedder=embedder, foryou_days=days)
    fresh = not db.exists()
    store = SQLiteStore(db)
    if fresh:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh]
        keep = 550 - days - 10
        papers = []
        for i, r in enumerate(rows):
            k = i * 550 // len(rows)
            if k < keep:
                continue
            papers.append(Paper(arxiv_id=r["id"], title=r["title"], abstract=r["abstract"],
                                authors=r["authors"], categories=r["categories"],
                                published=dt.date.fromisoformat(r["published"]),
                                hf_date=START + dt.timedelta(days=k), upvotes=_h(r["id"]) % 120))
        store.upsert_papers(papers)
        t = time.perf_counter()
        rep = run_index(store, st)
        print(f"setup: {len(papers)} papers imported and indexed with {embedder} in "
              f"{time.perf_counter() - t:.0f}s ({rep.summary()})")
    else:
        print(f"setup: reusing {db} ({store.count_papers()} papers with their vectors)")
    return store, st


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path", type=Path, help="arxiv-papers.jsonl.gz")
    ap.add_argument("--work", type=Path, default=None, help="keeps the store and vectors between runs")
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--embedder", default="minilm")
    a = ap.parse_args()
    if not a.path.is_file():
        sys.exit(f"error: {a.path}: not found; pass the path to arxiv-papers.jsonl.gz")
    work = a.work or Path(tempfile.mkdtemp(prefix="ps-bench-foryou-"))
    work.mkdir(parents=True, exist_ok=True)
    store, st = setup(a.path, work, a.days, a.embedder)
    pv = published_vectors(st, store)
    if pv is None:
        sys.exit(f"error: the store holds no {a.embedder} vectors; delete {work} and rerun")
    fy = ForYou(VectorSource(store, *pv), a.days)

    day_keys = [d.isoformat() for d, _ in store.days()]
    cards = Cards(store, st.languages)
    r = Renderer(st.site_title, st.languages)

    def day_cards(k: str) -> list[dict]:
        ids = [p.id for p in store.papers_for_day(dt.date.fromisoformat(k))]
        cards.load(ids)
        return [cards.cards[i] for i in ids]

    site = work / "site"
    shutil.rmtree(site, ignore_errors=True)  # every run writes into an empty directory
    state: dict = {}
    # A full build has every card in memory already (its day pages need them): untimed here.
    loaded = {k: day_cards(k) for k in fy.window(day_keys)}
    t = time.perf_counter()
    fy.publish(SiteWriter(site), r, day_keys, loaded.__getitem__, None, state)
    full_s = time.perf_counter() - t
    days = state["foryou"]["days"]
    n = sum(v[2] for v in days.values())
    dim = state["foryou"]["dim"]
    files = [site / "foryou" / "d" / f"{k}.js" for k in days]
    raw = sum(f.stat().st_size for f in files)
    gz = sum(len(gzip.compress(f.read_bytes(), 6)) for f in files)
    index_b = (site / "foryou" / "index.js").stat().st_size

    # The vectors alone, int8 (as published) and float32 (the baseline).
    ids = sorted({c for k in days for c in (p.id for p in store.papers_for_day(dt.date.fromisoformat(k)))})
    got, mat = store.get_vectors(pv[0], ids)
    q = quantize(mat)
    i8 = script_json_bytes([base64.b64encode(r.tobytes()).decode() for r in q])
    f32 = script_json_bytes([base64.b64encode(r.astype(np.float32).tobytes()).decode() for r in mat])
    i8_gz, f32_gz = len(gzip.compress(i8, 6)), len(gzip.compress(f32, 6))

    # Agreement: one liked paper as the profile; top 50 by float32 vs by int8.
    deq = q.astype(np.float32)
    deq /= np.maximum(np.linalg.norm(deq, axis=1, keepdims=True), 1e-12)
    rng = np.random.default_rng(0)
    probes = rng.choice(len(got), size=min(200, len(got)), replace=False)
    rec, top1 = [], 0
    for i in probes:
        e, d = mat @ mat[i], deq @ deq[i]
        e[i] = d[i] = -9  # the liked paper itself is not a candidate
        te, td = np.argsort(-e)[:50], np.argsort(-d)[:50]
        rec.append(len(set(te) & set(td)) / 50)
        top1 += int(te[0] == td[0])
    recall = float(np.mean(rec))

    # Incremental: one paper of the newest day changes; its day's cards come from the store
    # (timed), as in an incremental build.
    last = day_keys[-1]
    p = store.papers_for_day(dt.date.fromisoformat(last))[0]
    store.upsert_papers([Paper(arxiv_id=p.id, title=p.title, upvotes=(p.upvotes or 0) + 1000)])
    cards = Cards(store, st.languages)
    old, new = state, {}
    w = SiteWriter(site)
    t = time.perf_counter()
    fy.publish(w, r, day_keys, day_cards, {last}, new, old)
    inc_s = time.perf_counter() - t
    store.upsert_papers([Paper(arxiv_id=p.id, title=p.title, upvotes=p.upvotes or 0)])  # undo
    store.close()

    per = raw / n
    print(f"window: {len(days)} days, {n} papers ({n / len(days):.0f} a day), {pv[0]} dim {dim}")
    print(f"bytes a paper: vector {dim} B int8 = {len(i8) / len(got):.0f} B as base64 in the file "
          f"({i8_gz / len(got):.0f} B gzip); with its text (title, authors, abstract, review): "
          f"{per:.0f} B ({gz / n:.0f} B gzip)")
    print(f"total for {len(days)} days: {raw / 1024:.0f} KB ({gz / 1024:.0f} KB gzip) + index {index_b} B; "
          f"vectors alone {len(i8) / 1024:.0f} KB ({i8_gz / 1024:.0f} KB gzip)")
    print(f"baseline float32 vectors: {len(f32) / 1024:.0f} KB ({f32_gz / 1024:.0f} KB gzip) = "
          f"{len(f32) / len(i8):.1f}x the int8 ones ({f32_gz / i8_gz:.1f}x gzip)")
    print(f"agreement int8 vs float32, {len(probes)} one-paper profiles: recall@50 {recall:.3f}, "
          f"same top 1 {top1}/{len(probes)}")
    hf_total = per * HF_PER_DAY * len(days)
    print(f"at Hugging Face's density ({HF_PER_DAY:.1f} papers a day): {hf_total / 1024:.0f} KB for "
          f"{len(days)} days ({gz / n * HF_PER_DAY * len(days) / 1024:.0f} KB gzip)")
    print(f"build: full publish (cards in memory) {full_s:.2f}s, incremental (one paper changed) {inc_s:.3f}s, "
          f"rewrote {len(w.stats.paths)} files ({', '.join(w.stats.paths)})")
    print(f"foryou days={len(days)} papers={n} bytes_per_paper={per:.0f} total_kb_30d={raw / 1024 * 30 / len(days):.0f} "
          f"gzip_kb_30d={gz / 1024 * 30 / len(days):.0f} hf_total_kb_30d={hf_total / 1024 * 30 / len(days):.0f} "
          f"recall50={recall:.3f}")


if __name__ == "__main__":
    main()
