"""Import throughput: papersift's importer vs a naive baseline, on a real archive.

    python bench/ingest.py ../shared/data/arxiv/arxiv-papers.jsonl.gz [--profile out.prof]

1. imports the file into a fresh temporary store (parse + validate + upsert + FTS) and
   prints `ingest papers=N seconds=S papers_per_s=R`;
2. imports the same file again (nothing changes) and prints its seconds;
3. baseline, side by side: the same records parsed with json and written with one INSERT (plus
   its full-text row) and one COMMIT per paper into the same schema, as a simple importer
   would; on a sample of --baseline-n papers, scaled to N; and the parse-only floor.
The last line is the first import's `ingest ...` line.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from papersift.ids import title_key
from papersift.ingest import import_paths
from papersift.store import SQLiteStore


def ours(path: Path, store_path: Path) -> tuple[int, float, float]:
    store = SQLiteStore(store_path)
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    s1 = import_paths(store, [path])
    first = time.perf_counter() - t0
    # Two cores shared with other work: the figure means little without the load beside it.
    print(f"  first import: load average (1 min) {load0:.2f} before, {os.getloadavg()[0]:.2f} after")
    if s1.errors:
        print(f"  ({len(s1.errors)} bad records, e.g. {s1.errors[0]})")
    t0 = time.perf_counter()
    s2 = import_paths(store, [path])
    second = time.perf_counter() - t0
    c2 = s2.counts()
    print(f"  re-import: inserted={c2['inserted']} updated={c2['updated']} unchanged={c2['unchanged']}")
    n = store.count_papers()
    store.close()
    return n, first, second


def baseline(path: Path, store_path: Path, limit: int) -> tuple[int, float]:
    """One INSERT + COMMIT per paper (stdlib json, no batching)."""
    SQLiteStore(store_path).close()  # same schema, triggers and indexes
    conn = sqlite3.connect(store_path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    opener = gzip.open if path.suffix == ".gz" else open
    n = 0
    t0 = time.perf_counter()
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            conn.execute("BEGIN")
            cur = conn.execute(
                "INSERT OR REPLACE INTO papers (id, arxiv_id, title, abstract, authors, categories, "
                "published, title_key, content_hash, created_at, changed_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', '', '')",
                (r["id"], r["id"], r["title"], r.get("abstract") or r.get("summary") or "",
                 json.dumps(r.get("authors") or []), json.dumps(r.get("categories") or []),
                 r.get("published"), title_key(r["title"])))
            # what a per-row trigger would do: keep the full-text index in sync
            conn.execute("INSERT INTO papers_fts (rowid, title, abstract, authors) "
                         "SELECT rowid, title, abstract, authors FROM papers WHERE rowid = ?",
                         (cur.lastrowid,))
            conn.execute("COMMIT")
            n += 1
            if n >= limit:
                break
    secs = time.perf_counter() - t0
    conn.close()
    return n, secs


def parse_only(path: Path) -> tuple[int, float]:
    """The floor: decompress and json.loads every line, store nothing."""
    opener = gzip.open if path.suffix == ".gz" else open
    t0 = time.perf_counter()
    with opener(path, "rb") as f:
        n = sum(1 for line in f if line.strip() and json.loads(line))
    return n, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("path", type=Path, help="a daily-arXiv JSONL(.gz), e.g. arxiv-papers.jsonl.gz")
    ap.add_argument("--baseline-n", type=int, default=5000, help="papers the baseline imports")
    ap.add_argument("--profile", type=Path, help="write a cProfile of our first import here")
    args = ap.parse_args(argv)
    if not args.path.is_file():
        print(f"error: {args.path}: no such file", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
        n, first, second = ours(args.path, Path(tmp) / "ours.db")
        if args.profile:
            prof.disable()
            prof.dump_stats(args.profile)
        bn, bsecs = baseline(args.path, Path(tmp) / "base.db", args.baseline_n)
    total, parse_secs = parse_only(args.path)
    base_rate = bn / bsecs if bsecs else float("inf")
    base_scaled = total / base_rate
    print(f"{'':28}{'papers':>9}{'seconds':>10}{'papers/s':>11}")
    print(f"{'papersift import':28}{n:9d}{first:10.2f}{n / first:11.0f}")
    print(f"{'papersift re-import':28}{n:9d}{second:10.2f}{n / second:11.0f}")
    print(f"{'baseline (1 INSERT+COMMIT)':28}{bn:9d}{bsecs:10.2f}{base_rate:11.0f}"
          f"   -> {total} papers in ~{base_scaled:.1f} s")
    print(f"{'parse only (json.loads)':28}{total:9d}{parse_secs:10.2f}{total / parse_secs:11.0f}")
    print(f"ratio import speed ours/baseline: {(n / first) / base_rate:.2f}x")
    print(f"reimport seconds={second:.2f}")
    print(f"ingest papers={n} seconds={first:.2f} papers_per_s={n / first:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
