"""Search speed on real arXiv papers: index build, latency per method, index size.

    python bench/search_speed.py ../shared/data/arxiv/arxiv-papers.jsonl.gz \
        [--embedder model2vec] [--limit N] [--queries 250] [--minilm-sample 256] [--work DIR]

Imports every paper into a real papersift store (SQLite + FTS5), embeds all of them with
the static model2vec model (distilled locally from minilm; minilm itself runs ~13 docs/s
here, so its docs/s is measured on a sample instead and the full-corpus time extrapolated),
then runs realistic queries (1-6 word key phrases cut from random titles) through the full
engine path (parse, rank, fuse, collapse, count, fetch, highlight) with limit 10:
lexical, hybrid (query embedding included) and a naive baseline that scans every title and
abstract for the query words as substrings. Prints p50/p95 per method, side by side, with
the ratio to the baseline. Last line:
`speed papers=N lexical_p95_ms=A hybrid_p95_ms=B build_s=C` (build = import + FTS5 +
vectors + BM25 index).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from papersift.model import Paper, Provenance  # noqa: E402
from papersift.search.embed import get_embedder  # noqa: E402
from papersift.search.engine import SearchEngine, SearchQuery  # noqa: E402
from papersift.search.index import build_vectors  # noqa: E402
from papersift.search.query import STOPWORDS, tokens  # noqa: E402
from papersift.store import SQLiteStore  # noqa: E402


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


def to_paper(r: dict) -> Paper:
    return Paper(arxiv_id=r["id"], title=r["title"], abstract=r.get("abstract", ""),
                 authors=r.get("authors", []), categories=r.get("categories", []),
                 published=r.get("published"), sources=[Provenance(source="arxiv", ref=r.get("source", ""))])


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
    ap.add_argument("--embedder", default="model2vec", help="model2vec | minilm | hash | none")
    ap.add_argument("--limit", type=int, default=None, help="only the first N papers")
    ap.add_argument("--queries", type=int, default=250)
    ap.add_argument("--naive-queries", type=int, default=40, help="the baseline is slow: fewer")
    ap.add_argument("--minilm-sample", type=int, default=256, help="docs to time minilm on (0: skip)")
    ap.add_argument("--work", type=Path, default=None)
    args = ap.parse_args()

    records = read_papers(args.path, args.limit)
    work = args.work or Path(tempfile.mkdtemp(prefix="speed-"))
    store = SQLiteStore(work / "speed.db")
    t0 = time.perf_counter()
    for i in range(0, len(records), 5000):
        store.upsert_papers(to_paper(r) for r in records[i:i + 5000])
    import_s = time.perf_counter() - t0
    n = store.count_papers()
    print(f"import + FTS5: {n} papers in {import_s:.1f}s ({n / import_s:.0f} papers/s)")

    vec_s = 0.0
    embedder = get_embedder(args.embedder, work)
    if embedder:
        st = build_vectors(store, embedder, batch=1024)
        vec_s = st.seconds
        print(f"vectors ({embedder.name}, dim {embedder.dim}): {st.embedded} embedded in {st.seconds:.1f}s "
              f"({st.docs_per_s:.0f} docs/s), {st.unchanged} already there")
    if args.minilm_sample and args.embedder != "minilm":
        mini = get_embedder("minilm")
        assert mini is not None
        sample = [f"{r['title']}. {r['abstract']}" for r in records[:args.minilm_sample]]
        t1 = time.perf_counter()
        mini.embed(sample)
        rate = len(sample) / (time.perf_counter() - t1)
        print(f"vectors (minilm, dim 384), measured on {len(sample)} abstracts: {rate:.1f} docs/s "
              f"-> {n / rate / 60:.0f} min for all {n} papers on this machine")
        qt = []
        for q in make_queries(records, 50, seed=3):
            t1 = time.perf_counter()
            mini.embed([q])
            qt.append((time.perf_counter() - t1) * 1000)
        print(f"minilm query embedding: p50 {pct(qt, 50):.1f} ms, p95 {pct(qt, 95):.1f} ms")
    engine = SearchEngine(store, embedder)
    bm25 = engine.bm25()
    bm25_s = bm25.build_seconds
    print(f"BM25 index (in memory, cached): {len(bm25.vocab)} terms, {len(bm25.docs)} postings, "
          f"built in {bm25_s:.1f}s")
    db_mb = sum(f.stat().st_size for f in work.glob("speed.db*")) / 1e6
    bm25_mb = sum(f.stat().st_size for f in work.glob("bm25-index.npz")) / 1e6
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
    for q in queries:
        for mode in lat:
            t1 = time.perf_counter()
            res = engine.search(SearchQuery(q=q, mode=mode, limit=10))
            lat[mode].append((time.perf_counter() - t1) * 1000)
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
