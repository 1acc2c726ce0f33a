"""Impact-ordered postings: for every lexeme of paper_fts, all its papers in order of the
BM25 term part each holds, so that ranking a query on a big table reads the front of a few
byte strings instead of the tsvector of every paper holding a common word (impact_query.py
ranks with them; docs/scale.md).

A row of lexeme_impacts is (lexeme, df, seqs, imps): `seqs` (papers.seq, int4) and `imps`
(float4), both big-endian byte strings, the papers in descending impact (then seq), where
the impact is the saturated term frequency tf * (k1 + 1) / (tf + k1 * (1 - b + b * length /
average length)) without the idf (which moves with every paper added, so the query applies
it). The columns are stored uncompressed (STORAGE EXTERNAL), so a query reads a prefix
(substring) without the rest: the impact of the last entry read bounds every paper not read.

Prefixes reads them for a query, through a process's PostingsCache. The postings are
built whole (build_impacts) from the papers up to a watermark seq; papers
stored after it (the delta) are ranked from their own tsvectors until refresh_impacts
(`papersift index`, the index workers) merges them in (merge_impacts), which rewrites only
the rows of the new papers' lexemes. Every score of this path uses the build's average
length (the merge keeps it); past REBUILD_GROWTH the postings are built again. A text edited
after its paper was listed keeps its old impacts until the next build.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from typing import Any

import numpy as np

from ..base import BM25Params
from .core import PostgresBase

try:
    from psycopg import sql
except ImportError:  # pragma: no cover - the `postgres` extra is not installed
    sql = None  # type: ignore[assignment]

BUILD_KEY = 0x70617065_72730006  # advisory lock: one build or merge at a time
# Growth of the papers since the postings were built whole beyond which refresh_impacts
# builds them again instead of merging (merges keep the build's average length).
REBUILD_GROWTH = 0.25
FORMAT = 2  # of the rows; a store holding another is built again
CACHE_ENTRIES = 8_000_000  # postings entries a process keeps decoded (16 bytes each)
SEQ, IMP = np.dtype(">i4"), np.dtype(">f4")


def weighted_tf(col: str, params: BM25Params) -> str:
    """SQL: the weighted term frequency of one unnest(tsvector) row, from its weights
    column `col` (title positions carry weight A, abstract B, authors C: the same sum
    ts_rank_cd makes of a one-word query, rank_weights in ranking.py)."""
    title, abstract, authors = (float(w) for w in params.weights)
    return (f"({title!r} * cardinality(array_positions({col}, 'A')) + "
            f"{abstract!r} * cardinality(array_positions({col}, 'B')) + "
            f"{authors!r} * cardinality(array_positions({col}, 'C')))")


def params_key(params: BM25Params) -> list[float]:
    return [float(params.k1), float(params.b), *(float(w) for w in params.weights)]


def saturation(params: BM25Params, avg: float) -> tuple[float, float, float]:
    """(a, c, d) of BM25's saturated term frequency as SQL computes it, tf * a / (tf + c +
    d * length): a = k1 + 1, c = k1 (1 - b), d = k1 b / average length."""
    k1, b = float(params.k1), float(params.b)
    return k1 + 1, k1 * (1 - b), k1 * b / (avg or 1.0)


def postings_sql(params: BM25Params, avg: float) -> tuple[str, dict[str, float]]:
    """SQL: (lexeme, seq, imp) of every lexeme of the papers with %(lo)s < seq <= %(hi)s."""
    a, c, d = saturation(params, avg)
    return ("SELECT u.lexeme, p.seq, (t.tf * %(a)s / (t.tf + %(c)s + %(d)s * f.doc_len))::real "
            "AS imp FROM papers p JOIN paper_fts f ON f.paper_id = p.id CROSS JOIN LATERAL "
            f"unnest(f.tsv) u CROSS JOIN LATERAL (SELECT {weighted_tf('u.weights', params)} AS tf) t "
            "WHERE p.seq > %(lo)s AND p.seq <= %(hi)s AND t.tf > 0", {"a": a, "c": c, "d": d})


def _watermark(conn: Any) -> int:
    """The largest seq below which every paper has its full text: a paper whose row a
    bulk import's helper has not written yet must not fall below the watermark unlisted."""
    row = conn.execute("SELECT coalesce((SELECT min(p.seq) - 1 FROM papers p WHERE NOT EXISTS "
                       "(SELECT 1 FROM paper_fts f WHERE f.paper_id = p.id)), "
                       "(SELECT max(seq) FROM papers), 0)").fetchone()
    return int(row[0])


def _describe(conn: Any, meta: dict[str, Any]) -> None:
    # The postings' facts go with their table (a comment), so they swap in with it and never
    # describe another table (papersift migrate copies meta rows, not this).
    conn.execute(sql.SQL("COMMENT ON TABLE lexeme_impacts IS {}").format(sql.Literal(json.dumps(meta))))


META_SQL = "SELECT obj_description(to_regclass('lexeme_impacts'), 'pg_class')"


def parse_meta(row: tuple[Any, ...] | None) -> dict[str, Any] | None:
    """The postings' facts from META_SQL's row (None: no postings, or of another FORMAT)."""
    meta = json.loads(row[0]) if row and row[0] else None
    return meta if meta and meta.get("format") == FORMAT else None


def read_meta(conn: Any) -> dict[str, Any] | None:
    return parse_meta(conn.execute(META_SQL).fetchone())


def build_impacts(conn: Any, params: BM25Params) -> dict[str, Any]:
    """Build every lexeme's postings into a new table and swap it in (readers keep the old
    one until the swap commits); returns their facts (the table's comment). conn: a
    connection outside any transaction; the work is one REPEATABLE READ transaction, so
    the watermark, the average and the postings are of one snapshot."""
    conn.execute("SELECT pg_advisory_lock(%s)", (BUILD_KEY,))
    try:
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            conn.execute("SET LOCAL work_mem = '512MB'")
            mark = _watermark(conn)
            if mark > 2**31 - 1:
                raise ValueError("papers.seq past int4: the impact postings cannot list them")
            n, avg = conn.execute(
                "SELECT count(*), coalesce(avg(f.doc_len), 0) FROM paper_fts f JOIN papers p "
                "ON p.id = f.paper_id WHERE p.seq <= %s", (mark,)).fetchone()
            avg = float(avg) or 1.0
            postings, args = postings_sql(params, avg)
            conn.execute("DROP TABLE IF EXISTS lexeme_impacts_next")
            conn.execute("CREATE TABLE lexeme_impacts_next (lexeme text NOT NULL, df integer NOT NULL, "
                         "seqs bytea NOT NULL, imps bytea NOT NULL)")
            conn.execute("ALTER TABLE lexeme_impacts_next ALTER COLUMN seqs SET STORAGE EXTERNAL, "
                         "ALTER COLUMN imps SET STORAGE EXTERNAL")
            conn.execute(
                "INSERT INTO lexeme_impacts_next (lexeme, df, seqs, imps) SELECT lexeme, count(*)::int, "
                "string_agg(int4send(seq::int4), ''::bytea ORDER BY imp DESC, seq), "
                "string_agg(float4send(imp), ''::bytea ORDER BY imp DESC, seq) "
                f"FROM ({postings}) a GROUP BY lexeme", {**args, "lo": 0, "hi": mark})
            conn.execute("CREATE UNIQUE INDEX lexeme_impacts_next_key ON lexeme_impacts_next (lexeme)")
            conn.execute("DROP TABLE IF EXISTS lexeme_impacts")
            conn.execute("ALTER TABLE lexeme_impacts_next RENAME TO lexeme_impacts")
            conn.execute("ALTER INDEX lexeme_impacts_next_key RENAME TO lexeme_impacts_key")
            meta = {"seq": mark, "avg": avg, "params": params_key(params), "papers": int(n),
                    "built_papers": int(n), "format": FORMAT, "built": time.time()}
            _describe(conn, meta)
        return meta
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (BUILD_KEY,))


def merge_impacts(conn: Any, params: BM25Params) -> dict[str, Any] | None:
    """Merge the papers stored since the watermark into the postings, with the build's
    average length: each row of a lexeme the new papers hold is rewritten with their
    entries in impact order. Returns the new facts (None: no postings to merge into)."""
    conn.execute("SELECT pg_advisory_lock(%s)", (BUILD_KEY,))
    try:
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            meta = read_meta(conn)
            if meta is None:
                return None
            mark = _watermark(conn)
            if mark <= meta["seq"]:
                return meta
            postings, args = postings_sql(params, float(meta["avg"]))
            rows = conn.execute(f"SELECT lexeme, seq, imp FROM ({postings}) a",
                                {**args, "lo": int(meta["seq"]), "hi": mark}).fetchall()
            new: dict[str, list[tuple[int, float]]] = {}
            for lx, seq, imp in rows:
                new.setdefault(lx, []).append((int(seq), float(imp)))
            old = {r[0]: r[1:] for r in conn.execute(
                "SELECT lexeme, df, seqs, imps FROM lexeme_impacts WHERE lexeme = ANY(%s)",
                [list(new)]).fetchall()}
            out = []
            for lx, add in new.items():
                df, s0, i0 = old.get(lx, (0, b"", b""))
                seqs = np.concatenate([np.frombuffer(s0, SEQ), np.array([a for a, _ in add], SEQ)])
                imps = np.concatenate([np.frombuffer(i0, IMP), np.array([b for _, b in add], IMP)])
                order = np.lexsort((seqs, -imps.astype(np.float64)))
                out.append((lx, int(df) + len(add), seqs[order].astype(SEQ).tobytes(),
                            imps[order].astype(IMP).tobytes()))
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO lexeme_impacts (lexeme, df, seqs, imps) VALUES (%s, %s, %s, %s) "
                                "ON CONFLICT (lexeme) DO UPDATE SET df = excluded.df, seqs = excluded.seqs, "
                                "imps = excluded.imps", out)
            added = conn.execute("SELECT count(*) FROM papers WHERE seq > %s AND seq <= %s",
                                 (meta["seq"], mark)).fetchone()[0]
            meta = {**meta, "seq": mark, "papers": int(meta["papers"]) + int(added), "merged": time.time()}
            _describe(conn, meta)
        return meta
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (BUILD_KEY,))


class PostingsCache:
    """The fronts of the postings a process has read, by (lexeme, the postings' build and
    watermark), least recently used out past `entries`: the common words' postings are
    read by most queries, and a replica then reads them from the database once."""

    def __init__(self, entries: int = CACHE_ENTRIES):
        self.entries = entries
        self._rows: OrderedDict[tuple[str, str], tuple[int, np.ndarray, np.ndarray]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> tuple[int, np.ndarray, np.ndarray] | None:
        with self._lock:
            got = self._rows.get(key)
            if got is not None:
                self._rows.move_to_end(key)
            return got

    def put(self, key: tuple[str, str], row: tuple[int, np.ndarray, np.ndarray]) -> None:
        with self._lock:
            old = self._rows.pop(key, None)
            self._size += len(row[1]) - (len(old[1]) if old else 0)
            self._rows[key] = row
            while self._size > self.entries and len(self._rows) > 1:
                _, gone = self._rows.popitem(last=False)
                self._size -= len(gone[1])


class Prefixes:
    """What a query has read of each lexeme's postings (through the store's cache)."""

    def __init__(self, db: PostgresBase, lexemes: list[str], cache: PostingsCache, stamp: str):
        self.db = db
        self.df: dict[str, int] = {}
        self.seqs: dict[str, np.ndarray] = {}
        self.imps: dict[str, np.ndarray] = {}
        self.want = list(dict.fromkeys(lexemes))
        self.cache, self.stamp = cache, stamp

    def read(self, more: dict[str, int]) -> None:
        """Read up to `more[lx]` further entries of each lexeme's postings."""
        todo = []
        for lx, n in more.items():
            if n <= 0:
                continue
            target = len(self.seqs.get(lx, ())) + n
            got = self.cache.get((lx, self.stamp))
            have = 0 if got is None else len(got[1])
            if got is not None and have >= min(target, got[0]):
                self._take(lx, got, target)
            else:
                todo.append((lx, have, target - have))
        if not todo:
            return
        rows = self.db._all(
            "SELECT l.lexeme, l.df, substring(l.seqs from q.a * 4 + 1 for q.n * 4), "
            "substring(l.imps from q.a * 4 + 1 for q.n * 4) FROM lexeme_impacts l JOIN "
            "unnest(%s::text[], %s::int[], %s::int[]) AS q(lx, a, n) ON l.lexeme = q.lx",
            [[t[0] for t in todo], [t[1] for t in todo], [t[2] for t in todo]])
        fetched = {r[0]: r[1:] for r in rows}
        for lx, start, n in todo:
            df, s, i = fetched.get(lx, (0, b"", b""))
            s_new = np.frombuffer(s, SEQ).astype(np.int64)
            i_new = np.frombuffer(i, IMP).astype(np.float64)
            if start:
                old = self.cache.get((lx, self.stamp))
                if old is None or len(old[1]) < start:  # evicted meanwhile: read it whole
                    self.cache.put((lx, self.stamp), (int(df), np.zeros(0, np.int64), np.zeros(0)))
                    self.read({lx: start + n - len(self.seqs.get(lx, ()))})
                    continue
                s_new = np.concatenate([old[1][:start], s_new])
                i_new = np.concatenate([old[2][:start], i_new])
            row = (int(df), s_new, i_new)
            self.cache.put((lx, self.stamp), row)
            self._take(lx, row, start + n)

    def _take(self, lx: str, row: tuple[int, np.ndarray, np.ndarray], target: int) -> None:
        self.df[lx] = row[0]
        self.seqs[lx], self.imps[lx] = row[1][:target], row[2][:target]

    def floor(self, lx: str) -> float:
        """What a paper not read of lx's postings can hold of it (0 once all are read)."""
        n = len(self.seqs[lx])
        return 0.0 if n >= self.df[lx] else float(self.imps[lx][-1])

    def total(self) -> int:
        return sum(len(v) for v in self.seqs.values())
