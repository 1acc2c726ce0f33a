"""Search speed on real arXiv papers: index build, latency per method, index size.

    python bench/search_speed.py ../shared/data/arxiv/arxiv-papers.jsonl.gz --work DIR \
        [--embedder minilm] [--limit N] [--queries 250]

Imports every paper into a real papersift store (SQLite + FTS5) at DIR/data/papersift.db
(the layout `papersift` itself uses, so `PAPERSIFT_DATA_DIR=DIR/data papersift index` can
build or finish the vectors in the background), then brings the vectors up to date with
`build_vectors` (incremental and resumable: with --work a second run reuses them; the docs/s
of every build that went into them is printed from the store's run log). Then it runs
realistic queries (1-6 word key phrases cut from random titles) through the full engine path
(parse, rank, fuse, collapse, count, fetch, highlight) with limit 10: lexical, hybrid with a
MiniLM query encode in every query (no query cache), and a naive baseline that scans every
title and abstract for the query words as substrings. Prints p50/p95 per method, side by
side, with the ratio to the baseline. --no-build searches with the vectors built so far
(hybrid for those papers, lexical for the rest; the coverage is printed). Last line:
`speed papers=N lexical_p95_ms=A hybrid_p95_ms=B build_s=C` (build = import + FTS5 +
vectors + BM25 index, as measured when each was built).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from papersift.search.embed import get_embedder  # noqa: E402
from papersift.search.engine import SearchEngine, SearchQuery  # noqa: E402
from papersift.search.index import build_vectors  # noqa: E402
from papersift.search.query import STOPWORDS, tokens  # noqa: E402
from papersift.store import SQLiteStore  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def read_papers(path: Path, limit: int | None) -> list[dict]:
    out = []
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                out.append(json.loads(line))
                if limit and len(out) >= limit:
                    break
    except (OSError, ValueError) as e:
        sys.exit(f"error: {path}: cannot read arxiv-papers.jsonl.gz ({e}); pass that file's path")
    return out


def import_store(path: Path, data: Path, limit: int | None) -> float:
    """`papersift import` into data/ unless it is there already; seconds it took (from the
    run log when it was imported earlier)."""
    db = data / "papersift.db"
    if not db.exists():
        src = path
        if limit:  # the first N records as their own file
            src = data.parent / f"first-{limit}.jsonl.gz"
            data.parent.mkdir(parents=True, exist_ok=True)
            with gzip.open(path, "rt", encoding="utf-8") as f, gzip.open(src, "wt", encoding="utf-8") as out:
                for i, line in enumerate(f):
                    if i >= limit:
                        break
                    out.write(line)
        env = {**os.environ, "PAPERSIFT_DATA_DIR": str(data), "PYTHONPATH": str(ROOT / "src")}
        subprocess.run([sys.executable, "-m", "papersift", "import", str(src)], env=env, check=True,
                       stdout=subprocess.DEVNULL)
    store = SQLiteStore(db)
    runs = [r for r in store.recent_runs(1000) if r.kind == "import" and r.finished_at]
    store.close()
    return sum((r.finished_at - r.started_at).total_seconds() for r in runs)  # type: ignore[operator]


def make_queries(records: list[dict], n: int, seed: int = 7) -> list[str]:
    """Key phrases of 1-6 content words cut from random titles (what people type)."""
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < n:
        words = [w for w in tokens(rng.choice(records)["title"]) if w not in STOPWORDS and len(w) > 2]
        if not words:
            continue
        k = min(len(words), rng.choice([1, 2, 2, 3, 3, 4, 5, 6]))
        start = rng.randrange(0, len(words) - k + 1)
        out.append(" ".join(words[start:start + k]))
    return out


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("path", type=Path)
    ap.add_argument("--embedder", default="minilm", help="minilm | model2vec | hash | none")
    ap.add_argument("--limit", type=int, default=None, help="only the first N papers")
    ap.add_argument("--queries", type=int, default=250)
    ap.add_argument("--naive-queries", type=int, default=40, help="the baseline is slow: fewer")
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--build", action=argparse.BooleanOptionalAction, default=True,
                    help="finish the vectors first (--no-build: search the ones built so far)")
    args = ap.parse_args()

    records = read_papers(args.path, args.limit)
    work = args.work or Path(tempfile.mkdtemp(prefix="speed-"))
    data = work / "data"
    import_s = import_store(args.path, data, args.limit)
    store = SQLiteStore(data / "papersift.db")
    n = store.count_papers()
    print(f"import + FTS5 (papersift import): {n} papers in {import_s:.1f}s ({n / max(import_s, 1e-9):.0f} papers/s)")

    embedder = get_embedder(args.embedder, data)
    if hasattr(embedder, "fast_queries"):
        embedder.fast_queries = True  # queries as a serving engine runs them (ONNX Runtime)
    vec_s = 0.0
    if embedder:
        if args.build:
            st = build_vectors(store, embedder, batch=128)
            print(f"vectors ({embedder.key}, dim {embedder.dim}): {st.embedded} embedded now in "
                  f"{st.seconds:.1f}s ({st.docs_per_s:.1f} docs/s), {st.unchanged} already there")
        # Every index run that went into these vectors (a build may have been resumed).
        runs = [r for r in store.recent_runs(1000) if r.kind == "index" and r.finished_at
                and r.counts.get("embedded")]
        done = sum(int(r.counts["embedded"]) for r in runs)
        vec_s = sum(float(r.counts.get("seconds", 0)) for r in runs)
        if done:
            print(f"vector builds recorded: {len(runs)} run(s), {done} docs embedded in {vec_s:.0f}s "
                  f"({done / max(vec_s, 1e-9):.1f} docs/s)")
        have = len(store.vector_hashes(embedder.key))
        print(f"vectors present: {have} of {n} papers ({have / max(n, 1):.1%})")
        qt = []
        for q in make_queries(records, 60, seed=3)[:60]:
            t1 = time.perf_counter()
            embedder.embed([q])
            qt.append((time.perf_counter() - t1) * 1000)
        qt = qt[10:]  # the first calls pay set-up
        print(f"{embedder.name} query embedding: p50 {pct(qt, 50):.1f} ms, p95 {pct(qt, 95):.1f} ms")
    engine = SearchEngine(store, embedder)
    bm25 = engine.bm25()
    bm25_s = bm25.build_seconds
    print(f"BM25 index (in memory, cached): {len(bm25.vocab)} terms, {len(bm25.docs)} postings, "
          f"built in {bm25_s:.1f}s")
    db_mb = sum(f.stat().st_size for f in data.glob("papersift.db*")) / 1e6
    bm25_mb = sum(f.stat().st_size for f in data.glob("bm25-index.npz")) / 1e6
    mat_mb = engine.vectors.matrix.nbytes / 1e6 if engine.semantic_ready() and engine.vectors else 0.0
    print(f"index size: SQLite file {db_mb:.0f} MB (papers + FTS5 + vectors), BM25 cache "
          f"{bm25_mb:.0f} MB, in-memory vector matrix {mat_mb:.0f} MB")

    queries = make_queries(records, args.queries)
    if engine.vectors is not None and len(engine.vectors):
        # The fast paths approximate the exact float32 scan: measure by how much.
        import numpy as np

        vi = engine.vectors
        print(f"vector search: {'IVF ' + str(vi.ivf.nlist) + ' lists, ' + str(vi.ivf.nprobe) + ' probed' if vi.ivf else 'exact scan'}"
              f"{', float16 exact scan' if vi._half is not None else ''}")
        agree = {"ivf": [0.0, 0.0], "exact-scan": [0.0, 0.0]}
        lat_v: dict[str, list[float]] = {"ivf": [], "exact-scan": []}
        for qv in embedder.embed(queries[:100]):
            truth = np.argsort(-(vi.matrix @ qv))[:100]
            for name, exact in (("ivf", False), ("exact-scan", True)):
                t1 = time.perf_counter()
                got = [vi.row[p] for p, _ in vi.top(qv, 100, exact=exact)]
                lat_v[name].append((time.perf_counter() - t1) * 1000)
                agree[name][0] += len(set(truth[:10]) & set(got[:10])) / 10 / 100
                agree[name][1] += len(set(truth) & set(got)) / 100 / 100
        for name, (a10, a100) in agree.items():
            print(f"  {name:10}: top-10 overlap with float32 exact {a10:.3f}, top-100 {a100:.3f}; "
                  f"p50 {pct(lat_v[name], 50):.2f} ms, p95 {pct(lat_v[name], 95):.2f} ms")
    for q in queries[:10]:  # warm caches (first queries pay page-ins)
        engine.search(SearchQuery(q=q, mode="hybrid", limit=10))
    lat: dict[str, list[float]] = {"lexical": [], "hybrid": []}
    coverage = None
    for q in queries:
        for mode in lat:
            t1 = time.perf_counter()
            res = engine.search(SearchQuery(q=q, mode=mode, limit=10))
            lat[mode].append((time.perf_counter() - t1) * 1000)
            coverage = res.semantic_coverage if mode == "hybrid" else coverage
            if mode == "hybrid" and res.mode != "hybrid":
                lat.pop("hybrid")
                print(f"hybrid unavailable (embedder {args.embedder}); lexical only")
                break
    docs = [(r["title"] + " " + r.get("abstract", "")).lower() for r in records]
    naive = []
    for q in queries[:args.naive_queries]:
        words = tokens(q)
        t1 = time.perf_counter()
        scored = [(sum(w in d for w in words), i) for i, d in enumerate(docs)]
        scored.sort(key=lambda x: -x[0])
        naive.append((time.perf_counter() - t1) * 1000)
    lat["naive"] = naive
    if coverage is not None:
        print(f"hybrid: MiniLM query encode in every query; semantic ranking over {coverage:.1%} of "
              "the papers" + ("" if coverage >= 1 else " (vectors still building: the rest lexical)"))
    print(f"{len(queries)} queries (1-6 words from titles), limit 10; naive on {len(naive)}:")
    print(f"{'method':10} {'p50 ms':>8} {'p95 ms':>8} {'p95 vs naive':>13}")
    base95 = pct(naive, 95)
    for m, v in lat.items():
        print(f"{m:10} {pct(v, 50):8.2f} {pct(v, 95):8.2f} {base95 / pct(v, 95):12.0f}x faster"
              if m != "naive" else f"{m:10} {pct(v, 50):8.2f} {pct(v, 95):8.2f} {'1x':>13}")
    print(f"mean results per query: total counted {statistics.mean(engine.search(SearchQuery(q=q)).total for q in queries[:20]):.0f}")
    hyb = pct(lat["hybrid"], 95) if "hybrid" in lat else float("nan")
    print(f"speed papers={n} lexical_p95_ms={pct(lat['lexical'], 95):.2f} hybrid_p95_ms={hyb:.2f} "
          f"build_s={import_s + vec_s + bm25_s:.1f}")


if __name__ == "__main__":
    main()
