"""Score papersift's duplicate matcher: recall on DBLP-ACM, precision on distinct arXiv papers.

    python bench/dedup.py ../shared/data/dedup/dblp-acm [--distinct ../shared/data/arxiv/arxiv-papers.jsonl.gz]

1. DBLP-ACM: pairs tableA (DBLP) with tableB (ACM) using the product's own functions
   (papersift.dedup: block_keys for blocking, match_score for the decision), keeps each
   record's best match (the tables are one-to-one), and prints precision/recall/F1 next to
   a naive baseline (exact normalised-title equality), with the ratio.
2. --distinct: every record of the file is a different arXiv paper. They are imported into a
   fresh store twice in this run: with their arXiv ids (the fast path, nothing to match), and
   with the ids hidden (as listings and archives without ids arrive), where every paper goes
   through the store's duplicate detection. Every merge in the id-less import is a false
   merge, except the known re-uploads (the same paper under two arXiv ids, listed in
   docs/dedup.md and in KNOWN_REUPLOADS below); each false merge is printed.
   Also prints the id-less / with-ids import time ratio.
Last line: `dedup precision=P recall=R f1=F` and, with --distinct,
` distinct_false_merges=N idless_import_ratio=X`.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from papersift.dedup import MatchInput, block_keys, match_score
from papersift.ids import title_key
from papersift.model import Paper, Provenance
from papersift.store import SQLiteStore

# Pairs of arXiv ids in arxiv-papers.jsonl.gz that are one paper uploaded twice, found by
# reading every merge of the id-less import (the evidence per pair: docs/dedup.md).
KNOWN_REUPLOADS: frozenset[frozenset[str]] = frozenset(frozenset(p) for p in (
    ("2503.18064", "2503.20808"), ("2503.21055", "2506.00101"), ("2504.03948", "2505.22858"),
    ("2504.12673", "2512.08943"), ("2506.08150", "2601.20735"), ("2507.12759", "2510.09354"),
    ("2509.21801", "2601.11002"), ("2601.22563", "2410.09771"), ("2604.05547", "2605.20190")))


def load(path: Path) -> dict[str, MatchInput]:
    out = {}
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        for row in csv.DictReader(f):
            authors = [a.strip() for a in (row["authors"] or "").split(",") if a.strip()]
            year = int(row["year"]) if (row.get("year") or "").strip().isdigit() else None
            out[row["id"]] = MatchInput(title=row["title"] or "", authors=authors, year=year)
    return out


def truth(path: Path) -> set[tuple[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return {(r[0].strip(), r[1].strip()) for r in csv.reader(f) if len(r) >= 2}


def prf(pred: set[tuple[str, str]], gold: set[tuple[str, str]]) -> tuple[float, float, float]:
    tp = len(pred & gold)
    p = tp / len(pred) if pred else 0.0
    r = tp / len(gold) if gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def ours(a: dict[str, MatchInput], b: dict[str, MatchInput]) -> tuple[set[tuple[str, str]], int]:
    index: dict[str, list[str]] = defaultdict(list)
    for bid, rec in b.items():
        for k in block_keys(rec.title):
            index[k].append(bid)
    scored: list[tuple[float, str, str]] = []
    compared = 0
    for aid, rec in a.items():
        cands = {bid for k in block_keys(rec.title) for bid in index.get(k, ())}
        for bid in cands:
            compared += 1
            s = match_score(rec, b[bid])
            if s >= 0.5:
                scored.append((s, aid, bid))
    # One-to-one: best-scoring pairs first, each record used once.
    scored.sort(reverse=True)
    used_a, used_b, pairs = set(), set(), set()
    for _, aid, bid in scored:
        if aid not in used_a and bid not in used_b:
            pairs.add((aid, bid))
            used_a.add(aid)
            used_b.add(bid)
    return pairs, compared


def baseline(a: dict[str, MatchInput], b: dict[str, MatchInput]) -> set[tuple[str, str]]:
    by_key: dict[str, list[str]] = defaultdict(list)
    for bid, rec in b.items():
        by_key[title_key(rec.title)].append(bid)
    return {(aid, bid) for aid, rec in a.items() for bid in by_key.get(title_key(rec.title), ())}


def read_arxiv(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def to_papers(records: list[dict], with_ids: bool) -> list[Paper]:
    seen = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    out = []
    for i, r in enumerate(records):
        kw = {"id": r["id"]} if with_ids else {}
        out.append(Paper(title=r["title"], abstract=r.get("abstract") or "", authors=r.get("authors") or [],
                         categories=r.get("categories") or [], published=r.get("published"),
                         sources=[Provenance(source="arxiv" if with_ids else "listing",
                                             ref=f"{'arxiv' if with_ids else 'listing'}:{i + 1}",
                                             seen_at=seen)], **kw))
    return out


def timed_import(papers: list[Paper], db: Path) -> tuple[list[str], float, int]:
    store = SQLiteStore(db)
    t0 = time.perf_counter()
    stats = store.upsert_papers(papers)
    secs = time.perf_counter() - t0
    n = store.count_papers()
    store.close()
    return stats.ids, secs, n


def distinct(path: Path) -> tuple[int, float]:
    """(false merges, id-less / with-ids import time) on papers known to be distinct."""
    records = read_arxiv(path)
    with_ids, idless = to_papers(records, True), to_papers(records, False)
    with tempfile.TemporaryDirectory() as tmp:
        _, t_ids, n_ids = timed_import(with_ids, Path(tmp) / "ids.db")
        stored, t_idless, n_idless = timed_import(idless, Path(tmp) / "idless.db")
    groups: dict[str, list[int]] = defaultdict(list)
    for i, sid in enumerate(stored):
        groups[sid].append(i)
    false_merges, reuploads = [], 0
    for members in groups.values():
        for j in members[1:]:
            pair = frozenset({records[members[0]]["id"], records[j]["id"]})
            if pair in KNOWN_REUPLOADS:
                reuploads += 1
            else:
                false_merges.append((members[0], j))
    print(f"distinct arXiv papers: {len(records)}; with ids: {n_ids} stored in {t_ids:.1f}s "
          f"({len(records) / t_ids:.0f}/s); ids hidden: {n_idless} stored in {t_idless:.1f}s "
          f"({len(records) / t_idless:.0f}/s)")
    print(f"  merges: {len(false_merges) + reuploads} ({reuploads} of the {len(KNOWN_REUPLOADS)} known "
          f"re-uploads, {len(false_merges)} false)")
    for a, b in false_merges:
        print(f"  FALSE MERGE {records[a]['id']} {records[a]['title'][:70]!r}\n"
              f"           <- {records[b]['id']} {records[b]['title'][:70]!r}")
    ratio = t_idless / t_ids if t_ids else float("inf")
    print(f"  id-less import time / with-ids import time: {ratio:.2f}x")
    return len(false_merges), ratio


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("path", type=Path, help="folder with tableA.csv, tableB.csv, match.csv")
    ap.add_argument("--distinct", type=Path, help="arxiv-papers.jsonl.gz: distinct papers imported without ids")
    args = ap.parse_args(argv)
    if args.distinct and not args.distinct.is_file():
        print(f"error: {args.distinct}: no such file; pass arxiv-papers.jsonl.gz", file=sys.stderr)
        return 2
    for name in ("tableA.csv", "tableB.csv", "match.csv"):
        if not (args.path / name).is_file():
            print(f"error: {args.path / name} not found; pass the dblp-acm folder", file=sys.stderr)
            return 2
    a, b = load(args.path / "tableA.csv"), load(args.path / "tableB.csv")
    gold = truth(args.path / "match.csv")
    t0 = time.perf_counter()
    pred, compared = ours(a, b)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    base = baseline(a, b)
    t_base = time.perf_counter() - t0
    p, r, f = prf(pred, gold)
    bp, br, bf = prf(base, gold)
    print(f"records: A={len(a)} B={len(b)} true pairs={len(gold)}; all pairs={len(a) * len(b):,}, "
          f"compared after blocking={compared:,} ({compared / (len(a) * len(b)):.3%})")
    print(f"{'':22}{'precision':>10}{'recall':>10}{'f1':>10}{'seconds':>10}")
    print(f"{'papersift matcher':22}{p:10.4f}{r:10.4f}{f:10.4f}{t_ours:10.2f}")
    print(f"{'baseline exact title':22}{bp:10.4f}{br:10.4f}{bf:10.4f}{t_base:10.2f}")
    print(f"ratio f1 ours/baseline: {f / bf if bf else float('inf'):.3f}")
    last = f"dedup precision={p:.4f} recall={r:.4f} f1={f:.4f}"
    if args.distinct:
        n_false, ratio = distinct(args.distinct)
        last += f" distinct_false_merges={n_false} idless_import_ratio={ratio:.2f}"
    print(last)
    return 0


if __name__ == "__main__":
    sys.exit(main())
