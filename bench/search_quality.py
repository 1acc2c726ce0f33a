"""Search quality on SciFact (BEIR): lexical, semantic, hybrid and a naive baseline.

    python bench/search_quality.py ../shared/data/scifact [--embedder minilm] [--work DIR] [--tune]

Indexes the 5,183 abstracts into a real papersift store (SQLite FTS5 + vectors), runs the
300 test claims through each ranker and prints nDCG@10 (BEIR: gain 2^rel-1, log2 discount),
Recall@100 and MRR@10. With --tune, fusion settings are chosen on the 809 *train* claims first
and only the chosen setting is reported on test. --work keeps the store (and its vectors)
between runs. Last line: `scifact ndcg10=X recall100=Y` (hybrid, test).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from papersift.model import Paper  # noqa: E402
from papersift.search.embed import get_embedder  # noqa: E402
from papersift.search.engine import SearchEngine  # noqa: E402
from papersift.search.index import build_vectors  # noqa: E402
from papersift.search.query import STOPWORDS, parse_query, tokens  # noqa: E402
from papersift.store import SQLiteStore  # noqa: E402

DEPTH = 100


def load(path: Path) -> tuple[list[dict], dict[str, str], dict[str, dict[str, set[str]]]]:
    try:
        with gzip.open(path / "corpus.jsonl.gz", "rt", encoding="utf-8") as f:
            corpus = [json.loads(line) for line in f]
        queries = {}
        with open(path / "queries.jsonl", encoding="utf-8") as f:
            for line in f:
                q = json.loads(line)
                queries[q["_id"]] = q["text"]
        qrels: dict[str, dict[str, set[str]]] = {}
        for split in ("train", "test"):
            qrels[split] = {}
            with open(path / "qrels" / f"{split}.tsv", encoding="utf-8") as f:
                next(f)
                for line in f:
                    qid, did, score = line.rstrip("\n").split("\t")
                    if int(score) > 0:
                        qrels[split].setdefault(qid, set()).add(did)
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"error: {path}: cannot read SciFact ({e}); pass the folder holding "
                 "corpus.jsonl.gz, queries.jsonl and qrels/")
    return corpus, queries, qrels


def metrics(ranked: list[str], rel: set[str]) -> tuple[float, float, float]:
    dcg = sum(1.0 / math.log2(i + 2) for i, d in enumerate(ranked[:10]) if d in rel)
    idcg = sum(1.0 / math.log2(i + 2) for i in range(min(len(rel), 10)))
    recall = len(rel & set(ranked[:100])) / len(rel)
    mrr = next((1.0 / (i + 1) for i, d in enumerate(ranked[:10]) if d in rel), 0.0)
    return dcg / idcg, recall, mrr


def evaluate(run: dict[str, list[str]], qrels: dict[str, set[str]]) -> tuple[float, float, float]:
    n = len(qrels)
    tot = [0.0, 0.0, 0.0]
    for qid, rel in qrels.items():
        for i, v in enumerate(metrics(run.get(qid, []), rel)):
            tot[i] += v
    return tot[0] / n, tot[1] / n, tot[2] / n


def naive_run(corpus: list[dict], texts: dict[str, str], qids: list[str]) -> dict[str, list[str]]:
    """Baseline: score = how many query words occur as substrings in title + abstract."""
    docs = [(d["_id"], (d["title"] + " " + d["text"]).lower()) for d in corpus]
    run = {}
    for qid in qids:
        words = [w for w in dict.fromkeys(tokens(texts[qid])) if w not in STOPWORDS]
        scored = [(sum(w in text for w in words), i, did) for i, (did, text) in enumerate(docs)]
        scored.sort(key=lambda x: (-x[0], x[1]))
        run[qid] = [did for s, _, did in scored[:DEPTH] if s > 0]
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("path", type=Path)
    ap.add_argument("--embedder", default="minilm", help="minilm | model2vec | hash | none")
    ap.add_argument("--work", type=Path, default=None, help="keep the store here between runs")
    ap.add_argument("--tune", action="store_true", help="grid-search fusion on train first")
    args = ap.parse_args()
    corpus, texts, qrels = load(args.path)
    work = args.work or Path(tempfile.mkdtemp(prefix="scifact-"))
    store = SQLiteStore(work / "scifact.db")
    t0 = time.perf_counter()
    # SciFact ids are not arXiv ids: store them under ps- keys, and map back for scoring.
    stats = store.upsert_papers(Paper(id=f"ps-sf{d['_id']}", title=d["title"], abstract=d["text"])
                                for d in corpus)
    stored_to_doc: dict[str, list[str]] = {}
    for d, sid in zip(corpus, stats.ids, strict=True):
        stored_to_doc.setdefault(sid, []).append(d["_id"])
    print(f"store: {store.count_papers()} papers ({stats.inserted} new) in "
          f"{time.perf_counter() - t0:.1f}s; {len(corpus) - len(stored_to_doc)} merged as duplicates")
    embedder = get_embedder(args.embedder, work)
    if embedder:
        st = build_vectors(store, embedder)
        print(f"vectors ({embedder.name}): {st.embedded} embedded in {st.seconds:.1f}s "
              f"({st.docs_per_s:.1f} docs/s), {st.unchanged} cached")
    engine = SearchEngine(store, embedder)

    def doc_ids(ranking: list[tuple[str, float]]) -> list[str]:
        return [d for sid, _ in ranking for d in stored_to_doc.get(sid, [sid.removeprefix("ps-sf")])]

    qvec_cache: dict[str, object] = {}
    if embedder:
        all_q = sorted(set(qrels["train"]) | set(qrels["test"]))
        t1 = time.perf_counter()
        vecs = embedder.embed([parse_query(texts[q]).semantic_text or texts[q] for q in all_q])
        qvec_cache = dict(zip(all_q, vecs, strict=True))
        print(f"query embedding: {len(all_q)} claims in {time.perf_counter() - t1:.1f}s")

    def rankings(qids: list[str]) -> tuple[dict, dict]:
        lex, sem = {}, {}
        for q in qids:
            lex[q] = engine.lexical(parse_query(texts[q]), DEPTH)
            sem[q] = engine.semantic(qvec_cache.get(q), DEPTH) if embedder else []
        return lex, sem

    def fused_run(lex: dict, sem: dict) -> dict[str, list[str]]:
        return {q: doc_ids(engine.fuse(lex[q], sem[q]) if sem[q] else lex[q]) for q in lex}

    if args.tune and embedder:
        train = list(qrels["train"])
        best = (-1.0, engine.fusion)
        for w in ((1.0, 1.0, 1.0), (2.0, 1.0, 1.0), (4.0, 1.0, 1.0)):
            engine.fusion = replace(engine.fusion, weights=w)
            lex, sem = rankings(train)
            candidates = [replace(engine.fusion, method="rrf", rrf_k=k) for k in (5, 20, 60)]
            candidates += [replace(engine.fusion, method="convex", alpha=a / 10) for a in range(2, 9)]
            for f in candidates:
                engine.fusion = f
                nd = evaluate(fused_run(lex, sem), qrels["train"])[0]
                print(f"  train {f.method:6} weights={w} k={f.rrf_k} alpha={f.alpha:.1f}: ndcg10={nd:.4f}")
                if nd > best[0]:
                    best = (nd, f)
        engine.fusion = best[1]
        print(f"chosen on train: {best[1]} (train ndcg10={best[0]:.4f})")

    test = list(qrels["test"])
    t2 = time.perf_counter()
    lex, sem = rankings(test)
    runs = {"naive": naive_run(corpus, texts, test),
            "lexical": {q: doc_ids(r) for q, r in lex.items()}}
    if embedder:
        runs["semantic"] = {q: doc_ids(r) for q, r in sem.items()}
        runs["hybrid"] = fused_run(lex, sem)
    print(f"test: {len(test)} queries ranked in {time.perf_counter() - t2:.1f}s "
          f"(embedder={embedder.name if embedder else 'none'}, fusion={engine.fusion.method}, "
          f"alpha={engine.fusion.alpha}, k={engine.fusion.rrf_k}, weights={engine.fusion.weights})")
    print(f"{'method':10} {'nDCG@10':>8} {'Recall@100':>10} {'MRR@10':>8} {'nDCG vs naive':>14}")
    results = {m: evaluate(r, qrels["test"]) for m, r in runs.items()}
    base = results["naive"][0] or 1e-9
    for m, (nd, rc, mrr) in results.items():
        print(f"{m:10} {nd:8.4f} {rc:10.4f} {mrr:8.4f} {nd / base:13.2f}x")
    final = results.get("hybrid", results["lexical"])
    print(f"scifact ndcg10={final[0]:.4f} recall100={final[1]:.4f}")


if __name__ == "__main__":
    main()
