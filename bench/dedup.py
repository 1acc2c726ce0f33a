"""Score papersift's duplicate matcher on the DBLP-ACM entity-resolution benchmark.

    python bench/dedup.py ../shared/data/dedup/dblp-acm

Pairs tableA (DBLP) with tableB (ACM) using the product's own functions (papersift.dedup:
block_keys for blocking, match_score for the decision), keeps each record's best match
(the tables are one-to-one), and prints precision/recall/F1 next to a naive baseline
(exact normalised-title equality), with the ratio. Last line:
`dedup precision=P recall=R f1=F`.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import defaultdict
from pathlib import Path

from papersift.dedup import MatchInput, block_keys, match_score
from papersift.ids import title_key


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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("path", type=Path, help="folder with tableA.csv, tableB.csv, match.csv")
    args = ap.parse_args(argv)
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
    print(f"dedup precision={p:.4f} recall={r:.4f} f1={f:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
