"""Search quality that generalizes: SciFact test and Cranfield side by side with plain bm25s.

    python bench/search_quality.py ../shared/data/scifact ../shared/data/cranfield \
        [--embedder minilm] [--work DIR] [--tune] [--db postgresql://...|embedded-postgres]

Each collection (BEIR layout) is imported into a real papersift store, ranked by papersift's
lexical, semantic and hybrid search and by `bm25s` with its default settings (English
stopwords, PyStemmer, title + text), all in this process, and scored with graded nDCG@10 as
BEIR does (gain 2^rel - 1, log2 discount), Recall@100 and MRR@10. Every ranking setting is
the engine's default; with --tune the bench first grid-searches BM25 k1/b, the title weight
and the fusion settings on SciFact *train* (the only split ever used for tuning) and prints
the train table, then reports the engine defaults on the test collections. --work keeps the
document and query vectors (keyed by text and embedder recipe), so only the first run pays
for embedding. Last line:
`quality scifact_hybrid=A scifact_lexical=B scifact_bm25s=C cranfield_hybrid=D cranfield_lexical=E cranfield_bm25s=F`.
With --db, SciFact is also stored in a new PostgreSQL database and ranked by the engine a
server opens there (BM25 + HNSW in SQL, the same fusion), and a last line follows:
`quality backend=postgres scifact_hybrid=A sqlite_scifact_hybrid=B`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from papersift.model import Paper  # noqa: E402
from papersift.search.embed import Embedder, get_embedder, text_hash  # noqa: E402
from papersift.search.engine import SearchQuery  # noqa: E402
from papersift.search.engines import make_engine  # noqa: E402
from papersift.search.index import build_vectors  # noqa: E402
from papersift.search.lexical import BM25Params  # noqa: E402
from papersift.search.models import Fusion  # noqa: E402
from papersift.search.query import parse_query  # noqa: E402
from papersift.store import SQLiteStore  # noqa: E402
from papersift.store.postgres import PostgresStore  # noqa: E402

DEPTH = 100
Qrels = dict[str, dict[str, int]]  # query id -> doc id -> graded relevance


@dataclass
class Collection:
    name: str
    corpus: list[dict]
    queries: dict[str, str]
    qrels: dict[str, Qrels]  # split -> judgments


def load(path: Path) -> Collection:
    try:
        with gzip.open(path / "corpus.jsonl.gz", "rt", encoding="utf-8") as f:
            corpus = [json.loads(line) for line in f]
        queries = {}
        with open(path / "queries.jsonl", encoding="utf-8") as f:
            for line in f:
                q = json.loads(line)
                queries[str(q["_id"])] = q["text"]
        qrels: dict[str, Qrels] = {}
        for split in ("train", "test"):
            file = path / "qrels" / f"{split}.tsv"
            if not file.exists():
                continue
            qrels[split] = {}
            with open(file, encoding="utf-8") as f:
                next(f)
                for line in f:
                    qid, did, score = line.rstrip("\n").split("\t")
                    if int(score) > 0:
                        qrels[split].setdefault(qid, {})[did] = int(score)
        if "test" not in qrels:
            raise ValueError("no qrels/test.tsv")
        for d in corpus:
            d["_id"], d["title"], d["text"] = str(d["_id"]), (d.get("title") or "").strip(), d["text"]
        empty = [d["_id"] for d in corpus if not d["title"]]
        if empty:  # Cranfield 471 and 995 are blank records; a paper needs a title
            print(f"{path.name}: {len(empty)} documents without a title skipped ({', '.join(empty[:5])})")
            corpus = [d for d in corpus if d["title"]]
    except (OSError, ValueError, KeyError, StopIteration) as e:
        sys.exit(f"error: {path}: cannot read a BEIR collection ({e}); pass a folder holding "
                 "corpus.jsonl.gz, queries.jsonl and qrels/test.tsv")
    return Collection(path.name, corpus, queries, qrels)


def metrics(ranked: list[str], rel: dict[str, int]) -> tuple[float, float, float]:
    dcg = sum((2 ** rel[d] - 1) / math.log2(i + 2) for i, d in enumerate(ranked[:10]) if d in rel)
    ideal = sorted(rel.values(), reverse=True)[:10]
    idcg = sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    recall = len(set(rel) & set(ranked[:100])) / len(rel)
    mrr = next((1.0 / (i + 1) for i, d in enumerate(ranked[:10]) if d in rel), 0.0)
    return dcg / idcg, recall, mrr


def evaluate(run: dict[str, list[str]], qrels: Qrels) -> tuple[float, float, float]:
    tot = [0.0, 0.0, 0.0]
    for qid, rel in qrels.items():
        for i, v in enumerate(metrics(run.get(qid, []), rel)):
            tot[i] += v
    return tot[0] / len(qrels), tot[1] / len(qrels), tot[2] / len(qrels)


class CachedEmbedder:
    """The project's embedder with a text-hash -> vector cache file in the work dir (one per
    embedder recipe), so reruns and store rebuilds never re-embed the same text."""

    def __init__(self, inner: Embedder, work: Path):
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.recipe, self.key = inner.recipe, inner.key  # stored vectors are keyed by recipe
        self.path = work / f"vectors-{self.key.replace('@', '-')}.npz"
        self.cache: dict[str, np.ndarray] = {}
        if self.path.exists():
            with np.load(self.path, allow_pickle=False) as z:
                self.cache = dict(zip(z["keys"].tolist(), z["vecs"], strict=True))
        self.computed = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        keys = [text_hash(t) for t in texts]
        todo = list(dict.fromkeys(k for k in keys if k not in self.cache))
        if todo:
            by_key = {k: t for k, t in zip(keys, texts, strict=True)}
            vecs = self.inner.embed([by_key[k] for k in todo])
            self.cache.update(zip(todo, vecs, strict=True))
            self.computed += len(todo)
            if len(todo) > 4:  # queries come one at a time: Bench saves after them
                self.save()
        return np.stack([self.cache[k] for k in keys]) if keys else np.zeros((0, self.dim), np.float32)

    def save(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp.npz")
        np.savez(tmp, keys=np.array(list(self.cache)), vecs=np.stack(list(self.cache.values())))
        tmp.replace(self.path)


class Bench:
    """One collection in a papersift store, with its query vectors."""

    def __init__(self, col: Collection, work: Path, embedder: CachedEmbedder | None,
                 db_url: str | None = None):
        self.col = col
        if db_url:  # PostgreSQL: a new database of its own, ranked by the database
            self.store: Any = PostgresStore(db_url)
        else:
            home = work / col.name  # a fresh store each run: the import itself is under test
            shutil.rmtree(home, ignore_errors=True)
            home.mkdir()
            self.store = SQLiteStore(home / "bench.db")
        t0 = time.perf_counter()
        # Collection ids are not arXiv ids: store them under ps- keys and map back to score.
        stats = self.store.upsert_papers(Paper(id=f"ps-c{d['_id']}", title=d["title"], abstract=d["text"])
                                         for d in col.corpus)
        self.stored_to_doc: dict[str, list[str]] = {}
        for d, sid in zip(col.corpus, stats.ids, strict=True):
            self.stored_to_doc.setdefault(sid, []).append(d["_id"])
        merged = len(col.corpus) - len(self.stored_to_doc)
        print(f"{col.name}: {self.store.count_papers()} papers stored in {time.perf_counter() - t0:.1f}s; "
              f"{merged} merged as duplicates")
        self.embedder = embedder
        if embedder:
            st = build_vectors(self.store, embedder)
            print(f"  vectors ({embedder.name}): {st.embedded} in {st.seconds:.1f}s, "
                  f"{embedder.computed} computed (rest from the --work cache)")
        # The engine a server opens for this store: in memory on SQLite, SQL on PostgreSQL.
        self.engine = make_engine(self.store, embedder)  # type: ignore[arg-type]
        self.qvec: dict[str, np.ndarray] = {}
        if embedder:
            qids = sorted(set().union(*col.qrels.values()))
            # One query per call, as a search encodes it (the minilm embedder runs a few texts
            # on its fp32 weights and batches on int8 ones).
            texts = [parse_query(col.queries[q]).semantic_text or col.queries[q] for q in qids]
            self.qvec = {q: embedder.embed([t])[0] for q, t in zip(qids, texts, strict=True)}
            embedder.save()

    def doc_ids(self, ranking: list[tuple[str, float]]) -> list[str]:
        return [d for sid, _ in ranking for d in self.stored_to_doc.get(sid, [sid.removeprefix("ps-c")])]

    def rankings(self, qids: list[str]) -> tuple[dict, dict]:
        lex, sem = {}, {}
        for q in qids:
            lex[q] = self.engine.lexical(parse_query(self.col.queries[q]), DEPTH)
            sem[q] = self.engine.semantic(self.qvec.get(q), DEPTH) if self.embedder else []
        return lex, sem

    def fused(self, lex: dict, sem: dict) -> dict[str, list[str]]:
        return {q: self.doc_ids(self.engine.fuse(lex[q], sem[q]) if sem[q] else lex[q]) for q in lex}

    def runs(self, split: str) -> dict[str, dict[str, list[str]]]:
        qids = list(self.col.qrels[split])
        lex, sem = self.rankings(qids)
        out = {"bm25s": bm25s_run(self.col, qids), "lexical": {q: self.doc_ids(r) for q, r in lex.items()}}
        if self.embedder:
            out["semantic"] = {q: self.doc_ids(r) for q, r in sem.items()}
            out["hybrid"] = self.fused(lex, sem)
        return out


def bm25s_run(col: Collection, qids: list[str]) -> dict[str, list[str]]:
    """The reference: bm25s with its defaults over title + text, as its README shows it."""
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    ids = [d["_id"] for d in col.corpus]
    corpus_tokens = bm25s.tokenize([f"{d['title']} {d['text']}" for d in col.corpus], stopwords="en",
                                   stemmer=stemmer, show_progress=False)
    retriever = bm25s.BM25()
    retriever.index(corpus_tokens, show_progress=False)
    q_tokens = bm25s.tokenize([col.queries[q] for q in qids], stopwords="en", stemmer=stemmer,
                              show_progress=False)
    docs, scores = retriever.retrieve(q_tokens, k=min(DEPTH, len(ids)), show_progress=False, n_threads=1)
    return {q: [ids[int(j)] for j, s in zip(docs[i], scores[i], strict=True) if s > 0]
            for i, q in enumerate(qids)}


def _choose(scores: dict[object, float], default: object) -> object:
    """The best setting on train, unless the default is within 0.001 of it (809 claims
    cannot tell such settings apart, and the default is the plainer one)."""
    best = max(scores, key=scores.__getitem__)
    return default if default in scores and scores[best] - scores[default] <= 0.001 else best


def tune(b: Bench) -> None:
    """The grid of docs/search-quality.md on SciFact train: title weight, then k1 and b,
    then fusion. Prints every train nDCG@10 and what the rule chooses."""
    train = b.col.qrels["train"]
    qids = list(train)
    base = b.engine.fusion
    d = base.bm25

    def lexical(p: BM25Params) -> float:
        b.engine.fusion = replace(base, bm25=p)
        lex, _ = b.rankings(qids)
        nd = evaluate({q: b.doc_ids(r) for q, r in lex.items()}, train)[0]
        print(f"  train lexical k1={p.k1} b={p.b} weights={p.weights}: ndcg10={nd:.4f}", flush=True)
        return nd

    by_title = {tw: lexical(replace(d, weights=(tw, *d.weights[1:]))) for tw in (1.0, 2.0, 3.0, 4.0, 6.0)}
    tw = _choose(by_title, d.weights[0])
    grid = {(k1, bb): lexical(BM25Params(k1, bb, (tw, *d.weights[1:])))
            for k1 in (0.9, 1.2, 1.5, 2.0) for bb in (0.5, 0.75, 0.9, 1.0)
            if (k1, bb) != (d.k1, d.b) or tw != d.weights[0]}
    grid[(d.k1, d.b)] = by_title[tw] if (d.k1, d.b) not in grid else grid[(d.k1, d.b)]
    k1, bb = _choose(grid, (d.k1, d.b))
    chosen = BM25Params(k1, bb, (tw, *d.weights[1:]))
    print(f"chosen on train: bm25 {chosen}")
    if b.embedder:
        b.engine.fusion = replace(base, bm25=chosen)
        lex, sem = b.rankings(qids)
        fusions = ([replace(b.engine.fusion, method="rrf", rrf_k=k) for k in (20, 60)]
                   + [replace(b.engine.fusion, method="convex", alpha=a / 10) for a in (3, 4, 5, 6)])
        scores: dict[object, float] = {}
        for f in fusions:
            b.engine.fusion = f
            scores[f] = evaluate(b.fused(lex, sem), train)[0]
            print(f"  train hybrid {f.method} k={f.rrf_k} alpha={f.alpha}: ndcg10={scores[f]:.4f}")
        default = replace(base, bm25=chosen)
        f = _choose(scores, default)
        print(f"chosen on train: fusion {f.method} k={f.rrf_k} alpha={f.alpha}")  # type: ignore[attr-defined]
    b.engine.fusion = base
    print("(test figures below use the engine defaults; set these there when they differ)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scifact", type=Path)
    ap.add_argument("cranfield", type=Path)
    ap.add_argument("--embedder", default="minilm", help="minilm | model2vec | hash | none")
    ap.add_argument("--work", type=Path, default=None, help="cache vectors here between runs")
    ap.add_argument("--tune", action="store_true", help="grid-search the settings on SciFact train first")
    ap.add_argument("--db", default=None, help="also rank SciFact on PostgreSQL: a postgresql:// URL "
                    "(a database is made there and dropped) or embedded-postgres (a throwaway server)")
    args = ap.parse_args()
    cols = [load(args.scifact), load(args.cranfield)]
    if "train" not in cols[0].qrels:
        sys.exit(f"error: {args.scifact}: no qrels/train.tsv (tuning needs the SciFact train split)")
    work = args.work or Path(tempfile.mkdtemp(prefix="quality-"))
    work.mkdir(parents=True, exist_ok=True)
    inner = get_embedder(args.embedder, work)
    embedder = CachedEmbedder(inner, work) if inner else None
    f = Fusion.for_embedder(embedder.name if embedder else None)
    print(f"engine defaults: bm25 k1={f.bm25.k1} b={f.bm25.b} weights={f.bm25.weights}; fusion {f.method} "
          f"alpha={f.alpha} rrf_k={f.rrf_k} depth={f.depth}")
    benches = [Bench(c, work, embedder) for c in cols]
    if args.tune:
        tune(benches[0])
    table: dict[str, dict[str, tuple[float, float, float]]] = {}
    for b in benches:
        t0 = time.perf_counter()
        table[b.col.name] = {m: evaluate(r, b.col.qrels["test"]) for m, r in b.runs("test").items()}
        print(f"{b.col.name}: {len(b.col.qrels['test'])} test queries ranked in {time.perf_counter() - t0:.1f}s")
    names = [b.col.name for b in benches]
    print(f"{'method':10}" + "".join(f" {n + ' nDCG@10':>18} {'R@100':>7} {'MRR@10':>7}" for n in names))
    for m in table[names[0]]:
        row = f"{m:10}"
        for n in names:
            nd, rc, mrr = table[n][m]
            row += f" {nd:18.4f} {rc:7.4f} {mrr:7.4f}"
        print(row)
    for n in names:
        t = table[n]
        ref = t["bm25s"][0]
        line = f"{n}: lexical {t['lexical'][0] - ref:+.4f} vs bm25s"
        if "hybrid" in t:
            line += f", hybrid {t['hybrid'][0] - ref:+.4f} vs bm25s"
        print(line)

    def val(n: str, m: str) -> float:
        return table[n].get(m, table[n]["lexical"])[0]

    s, c = names
    if args.db:
        pg = postgres_table(cols[0], work, embedder, args.db, tune_lexical=args.tune)
        print(f"{'postgres':10}" + "".join(f" {m}={v[0]:.4f}/{v[1]:.4f}/{v[2]:.4f}" for m, v in pg.items()))
        print(f"  (nDCG@10/R@100/MRR@10 on {s} test; sqlite hybrid {val(s, 'hybrid'):.4f}, "
              f"lexical {val(s, 'lexical'):.4f})")
    print(f"quality scifact_hybrid={val(s, 'hybrid'):.4f} scifact_lexical={val(s, 'lexical'):.4f} "
          f"scifact_bm25s={val(s, 'bm25s'):.4f} cranfield_hybrid={val(c, 'hybrid'):.4f} "
          f"cranfield_lexical={val(c, 'lexical'):.4f} cranfield_bm25s={val(c, 'bm25s'):.4f}")
    if args.db:
        print(f"quality backend=postgres scifact_hybrid={pg.get('hybrid', pg['lexical'])[0]:.4f} "
              f"sqlite_scifact_hybrid={val(s, 'hybrid'):.4f}")


def latency(b: Bench, qids: list[str], mode: str) -> tuple[float, float]:
    """p50 and p95 milliseconds of one search() per query (query vectors come from the
    --work cache, so this is the ranking, fusion and fetching, not the embedding)."""
    times = []
    for q in qids:
        t0 = time.perf_counter()
        b.engine.search(SearchQuery(q=b.col.queries[q], mode=mode, limit=10))  # type: ignore[arg-type]
        times.append((time.perf_counter() - t0) * 1000)
    p50, p95 = np.percentile(times, [50, 95])
    return float(p50), float(p95)


def postgres_table(col: Collection, work: Path, embedder: CachedEmbedder | None, db: str,
                   tune_lexical: bool = False) -> dict[str, tuple[float, float, float]]:
    """SciFact test ranked by the PostgreSQL search path (BM25 + HNSW in SQL, fused by the
    engine), on a database made for the run; with --tune, its train figures first."""
    from ingest import postgres_database  # bench/ingest.py: the same throwaway server

    with postgres_database(db) as url:
        b = Bench(col, work, embedder, db_url=url)
        try:
            if tune_lexical:
                for split in ("train",):
                    runs = b.runs(split)
                    print("postgres train: " + " ".join(
                        f"{m}={evaluate(r, col.qrels[split])[0]:.4f}" for m, r in runs.items()))
            t0 = time.perf_counter()
            runs = b.runs("test")
            print(f"postgres {col.name}: {len(col.qrels['test'])} test queries ranked in "
                  f"{time.perf_counter() - t0:.1f}s")
            qids = list(col.qrels["test"])
            for mode in ("lexical", "hybrid") if embedder else ("lexical",):
                p50, p95 = latency(b, qids, mode)
                print(f"postgres {mode} latency over {len(qids)} {col.name} test queries "
                      f"(search() end to end, 10 hits): p50={p50:.1f} ms p95={p95:.1f} ms")
            return {m: evaluate(r, col.qrels["test"]) for m, r in runs.items() if m != "bm25s"}
        finally:
            b.store.close()


if __name__ == "__main__":
    main()
