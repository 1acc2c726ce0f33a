"""The embedded default store: one SQLite file with FTS5 and float32 vectors.

SQLite specifics live here and nowhere else. Every write is a transaction; the full-text
index is kept in sync by triggers inside the same transaction (see schema.py).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..dedup import same_paper, title_keys
from ..ids import normalize_text, title_key, try_arxiv_id
from ..model import PAPER_FIELDS, Enrichment, Paper, Reading, RunRecord, trusted_paper
from .base import DayStats, UpsertStats
from .merge import merge_papers, paper_row_equal
from .schema import MIGRATIONS
from .sqlite_bulk import NEW_PAGE_SIZE, BulkWrites, insert_rows, restore_fts_merging

_JSON_FIELDS = frozenset({"authors", "affiliations", "categories", "ai_keywords", "links"})
_DATE_FIELDS = frozenset({"published", "updated", "hf_date"})
_COLUMNS = ("id",) + PAPER_FIELDS + ("num_authors",)
_CONVERTED = _JSON_FIELDS | _DATE_FIELDS
_CHUNK = 20000  # papers per transaction (fewer, larger FTS segments: less merging)
# prepare_papers() output per paper: (title key, new-row values, paper_sources rows).
Prepared = tuple[str, list[Any], list[tuple[str, str, str, str]]]

try:  # orjson: same JSON text as json.dumps(ensure_ascii=False), minus spaces, 5x faster.
    import orjson

    def _dumps(v: Any) -> str:
        return orjson.dumps(v).decode()

    _loads = orjson.loads
except ImportError:  # pragma: no cover
    def _dumps(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False)

    _loads = json.loads


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _to_db(name: str, v: Any) -> Any:
    if name in _JSON_FIELDS:
        return _dumps(v)
    if name in _DATE_FIELDS:
        return v.isoformat() if v else None
    return v


def _from_db(name: str, v: Any) -> Any:
    if name in _JSON_FIELDS:
        return _loads(v)
    if name in _DATE_FIELDS:
        return dt.date.fromisoformat(v) if v else None
    return v


def _empty(v: Any) -> bool:
    return v is None or v == "" or v == [] or v == {}


class SQLiteStore:
    """Store backed by one SQLite file. Safe to share across threads (one lock)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._seen_lock = threading.Lock()  # seen_records' own read connection
        self._seen_conn: sqlite3.Connection | None = None
        self.conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30,
                                    isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        if self.conn.execute("PRAGMA page_count").fetchone()[0] == 0:
            # A new file: 16 KiB pages (must be set before WAL mode fixes the size). Imports
            # write mostly FTS5 segment blobs and kilobyte-sized rows; with 4 KiB pages the
            # first import of 89k papers wrote 321 MB, with 16 KiB 275 MB and its writer
            # spent ~1 s less (paired runs, bench/ingest.py). Existing stores keep theirs.
            self.conn.execute(f"PRAGMA page_size={NEW_PAGE_SIZE}")
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.execute("PRAGMA cache_size=-65536")
        self._migrate()
        restore_fts_merging(self.conn, self._lock)  # an import killed midway left it off

    # -- plumbing ---------------------------------------------------------------------

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise RuntimeError(
                f"{self.path}: database schema v{version} is newer than this papersift "
                f"(knows v{len(MIGRATIONS)}); upgrade papersift"
            )
        for i, sql in enumerate(MIGRATIONS[version:], start=version + 1):
            with self._tx():
                for stmt in _split_sql(sql):
                    self.conn.execute(stmt)
                self.conn.execute(f"PRAGMA user_version={i}")

    def _tx(self) -> _Transaction:
        return _Transaction(self.conn, self._lock)

    def bulk_writes(self) -> BulkWrites:
        """Context for a bulk import: page cache, FTS merging and checkpoints set for speed."""
        return BulkWrites(self.path, self.conn, self._lock)

    def close(self) -> None:
        with self._seen_lock:
            if self._seen_conn is not None:
                self._seen_conn.close()
                self._seen_conn = None
        self.conn.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- papers -----------------------------------------------------------------------

    def _row_to_paper(self, row: sqlite3.Row) -> Paper:
        data = {name: _from_db(name, row[name]) for name in _COLUMNS}
        data["sources"] = []
        # Rows were validated on the way in: skip re-validation (hot path for search/site).
        return trusted_paper(data)

    def _paper_values(self, p: Paper) -> list[Any]:
        d = p.__dict__  # hot path of bulk imports: plain attribute reads
        return [_to_db(n, d[n]) if n in _CONVERTED else d[n] for n in _COLUMNS]

    def _new_row(self, p: Paper, tk: str) -> list[Any]:
        """Column values of `p` as a new row, except created_at/changed_at."""
        return self._paper_values(p) + [tk, p.content_hash(), _day(p)]

    def prepare_papers(self, papers: Iterable[Paper]) -> list[Prepared]:
        """What storing each paper as a new row needs, computed without the database.

        A bulk importer calls this on its reader thread: the writer thread then spends its
        time in SQLite, which runs without the GIL, instead of in this Python.
        """
        out = []
        for p in papers:
            tk = title_key(p.title)
            out.append((tk, self._new_row(p, tk), _source_rows(p.id, p)))
        return out

    def upsert_papers(self, papers: Iterable[Paper],
                      prepared: Iterable[Prepared | None] | None = None) -> UpsertStats:
        """Insert new papers, merge known ones. Idempotent: same input, no change.

        `prepared`, when given, is prepare_papers() of the same (unchanged) papers, in order.
        """
        stats = UpsertStats()
        chunk: list[Paper] = []
        prep: list[Prepared | None] = []
        preps = iter(prepared) if prepared is not None else None
        for p in papers:
            chunk.append(p)
            prep.append(next(preps) if preps is not None else None)
            if len(chunk) >= _CHUNK:
                stats.add(self._upsert_chunk(chunk, prep))
                chunk, prep = [], []
        if chunk:
            stats.add(self._upsert_chunk(chunk, prep))
        return stats

    def _fetch(self, where: str, params: list[Any]) -> list[Paper]:
        rows = self.conn.execute(f"SELECT * FROM papers WHERE {where}", params).fetchall()
        return [self._row_to_paper(r) for r in rows]

    def _upsert_chunk(self, chunk: list[Paper], prep: list[Prepared | None]) -> UpsertStats:
        stats = UpsertStats()
        with self._tx():
            # One normalisation per title: the exact key and the near-duplicate blocking keys.
            # Blocking keys matter only where a near-duplicate can exist: papers without an
            # arXiv id, and arXiv papers while some stored or incoming paper lacks one.
            need_blocks = any(not p.arxiv_id for p in chunk) or self.conn.execute(
                "SELECT 1 FROM title_blocks LIMIT 1").fetchone() is not None
            keys = [title_keys(p.title) if need_blocks else (r[0] if r else title_key(p.title), [])
                    for p, r in zip(chunk, prep, strict=True)]
            key_of = {id(p): k[0] for p, k in zip(chunk, keys, strict=True)}
            # Keyed by object: a merged paper is a new object and gets its row computed below.
            prep_of = {id(p): r for p, r in zip(chunk, prep, strict=True) if r is not None}
            ids = list({p.id for p in chunk})
            alias = dict(self.conn.execute(
                f"SELECT alias, paper_id FROM aliases WHERE alias IN ({_qs(ids)})", ids
            ).fetchall())
            wanted = list({alias.get(k, k) for k in ids})
            known: dict[str, Paper] = {p.id: p for p in self._fetch(f"id IN ({_qs(wanted)})", wanted)}
            missing = [i for i, p in enumerate(chunk) if alias.get(p.id, p.id) not in known]
            by_title: dict[str, list[str]] = {}  # exact title key -> paper ids
            by_block: dict[str, list[str]] = {}  # blocking key -> ids of papers without arXiv id
            if missing:
                tks = list({keys[i][0] for i in missing})
                for p in self._fetch(f"title_key IN ({_qs(tks)})", tks):
                    known.setdefault(p.id, p)
                    by_title.setdefault(title_key(p.title), []).append(p.id)
                bks = list({b for i in missing for b in keys[i][1]})
                rows = self.conn.execute(
                    f"SELECT key, paper_id FROM title_blocks WHERE key IN ({_qs(bks)})", bks).fetchall()
                need = list({pid for _, pid in rows if pid not in known})
                if need:
                    for p in self._fetch(f"id IN ({_qs(need)})", need):
                        known.setdefault(p.id, p)
                for k, pid in rows:
                    by_block.setdefault(k, []).append(pid)
            original = dict(known)  # what is in the database now, by id
            renames: dict[str, str] = {}  # old id -> new id
            source_rows: list[tuple[str, str, str, str]] = []
            block_rows: list[tuple[str, str]] = []
            for p, (tk, bks) in zip(chunk, keys, strict=True):
                target = alias.get(p.id, p.id)
                target = renames.get(target, target)
                old = known.get(target)
                # An arXiv paper with no title or blocking-key candidate has no duplicate:
                # _find_duplicate would say so, at a call per paper of a bulk import.
                if old is None and (not p.arxiv_id or tk in by_title
                                    or any(b in by_block for b in bks)):
                    old = self._find_duplicate(p, tk, bks, known, original, renames, by_title,
                                               by_block)
                    if old is not None:
                        stats.merged += 1
                if old is None:
                    known[p.id] = p
                    by_title.setdefault(tk, []).append(p.id)
                    if not p.arxiv_id:
                        for b in bks:
                            by_block.setdefault(b, []).append(p.id)
                            block_rows.append((b, p.id))
                    stats.ids.append(p.id)
                    r = prep_of.get(id(p))
                    source_rows.extend(r[2] if r is not None else _source_rows(p.id, p))
                    continue
                if not p.arxiv_id and not old.arxiv_id:
                    block_rows.extend((b, old.id) for b in bks)  # the variant title finds it too
                if not _adds_anything(old, p):
                    stats.ids.append(old.id)
                    source_rows.extend(_source_rows(old.id, p))
                    if p.id != old.id:
                        alias[p.id] = old.id
                    continue
                merged = merge_papers(old, p)
                if merged.id != old.id:  # a listing-only paper just gained its arXiv id
                    renames[old.id] = merged.id
                    known.pop(old.id, None)
                    if p.id != merged.id and p.id != old.id:
                        alias[p.id] = merged.id
                elif p.id != old.id:
                    alias[p.id] = old.id
                known[merged.id] = merged
                stats.ids.append(merged.id)
                source_rows.extend(_source_rows(merged.id, p))
            now = _now()
            moved: set[str] = set()  # stored rows re-keyed to their arXiv id: updates, not new
            for old_id, new_id in renames.items():
                if old_id in original:
                    self._rename(old_id, new_id)  # the row is deleted: re-inserted below
                    original.pop(old_id)
                    moved.add(new_id)
                alias[old_id] = new_id
                source_rows = [(new_id if r[0] == old_id else r[0], *r[1:]) for r in source_rows]
            inserts, updates = [], []
            for pid, paper in known.items():
                before = original.get(pid)
                if before is None:
                    r = prep_of.get(id(paper))
                    row = r[1] if r is not None else self._new_row(
                        paper, key_of.get(id(paper)) or title_key(paper.title))
                    inserts.append((*row, now, now))
                elif before is not paper and not paper_row_equal(before, paper):
                    updates.append(self._paper_values(paper)[1:] + [
                        title_key(paper.title), paper.content_hash(), _day(paper), now, pid])
            cols = _COLUMNS + ("title_key", "content_hash", "day", "created_at", "changed_at")
            # New rows get rowids above the current maximum: index exactly those, set-based,
            # in this transaction (migration 5 replaced the per-row insert trigger).
            top = self.conn.execute("SELECT coalesce(max(rowid), 0) FROM papers").fetchone()[0]
            insert_rows(self.conn, f"INSERT INTO papers ({', '.join(cols)})", inserts)
            if inserts:
                self.conn.execute(
                    "INSERT INTO papers_fts (rowid, title, abstract, authors) "
                    "SELECT rowid, title, abstract, authors FROM papers WHERE rowid > ?", (top,))
            sets = ", ".join(f"{c} = ?" for c in _COLUMNS[1:] + ("title_key", "content_hash", "day", "changed_at"))
            self.conn.executemany(f"UPDATE papers SET {sets} WHERE id = ?", updates)
            insert_rows(self.conn, "INSERT OR REPLACE INTO aliases (alias, paper_id)",
                        [(a, t) for a, t in alias.items() if a != t])
            insert_rows(self.conn, "INSERT OR IGNORE INTO paper_sources "
                        "(paper_id, source, ref, first_seen)", source_rows)
            # Blocking keys are kept only for papers without an arXiv id (the ones a
            # near-duplicate can still merge into); a paper renamed to its arXiv id drops them.
            insert_rows(self.conn, "INSERT OR IGNORE INTO title_blocks (key, paper_id)",
                        [(b, pid) for b, pid in block_rows
                         if renames.get(pid, pid) == pid and pid in known])
            stats.inserted += len(inserts) - len(moved)
            stats.updated += len(updates) + len(moved)
        stats.unchanged = max(0, len(set(stats.ids)) - stats.inserted - stats.updated)
        return stats

    def _find_duplicate(self, p: Paper, tk: str, bks: list[str], known: dict[str, Paper],
                        original: dict[str, Paper], renames: dict[str, str],
                        by_title: dict[str, list[str]],
                        by_block: dict[str, list[str]]) -> Paper | None:
        """A stored (or earlier in this chunk) paper that `p` duplicates, via blocking."""
        seen: set[str] = set()
        cands = [*by_title.get(tk, ()), *(pid for b in bks for pid in by_block.get(b, ()))]
        for cid in cands:
            cid = renames.get(cid, cid)
            cand = known.get(cid)
            if cid in seen or cand is None:
                continue
            seen.add(cid)
            if not (p.arxiv_id and cand.arxiv_id) and same_paper(cand, p):
                return cand
        if p.arxiv_id:
            return None
        # A paper without arXiv id may duplicate an arXiv paper whose title was edited:
        # ask the full-text index for titles sharing the first or last words.
        words = normalize_text(p.title).split()
        phrases = {" ".join(words[:4]), " ".join(words[-4:])} - {""}
        if not phrases:
            return None
        match = " OR ".join(f'title : "{ph}"' for ph in sorted(phrases))
        try:
            rows = self.conn.execute(
                "SELECT p.id FROM papers_fts JOIN papers p ON p.rowid = papers_fts.rowid "
                "WHERE papers_fts MATCH ? LIMIT 20", (match,)).fetchall()
        except sqlite3.OperationalError:
            return None
        ids = [r[0] for r in rows if r[0] not in seen]
        for cand in [known.get(i) or q for i in ids for q in self._fetch("id = ?", [i])]:
            if same_paper(cand, p):
                if cand.id not in known:  # fetched from the database just now
                    known[cand.id] = original[cand.id] = cand
                return known[cand.id]
        return None

    def _rename(self, old_id: str, new_id: str) -> None:
        """Move a listing-only paper (ps- key) to its arXiv id, with everything hung on it."""
        self.conn.execute("DELETE FROM papers WHERE id = ?", (old_id,))
        self.conn.execute("DELETE FROM title_blocks WHERE paper_id = ?", (old_id,))
        for table, col in (("paper_sources", "paper_id"), ("day_papers", "paper_id"),
                           ("enrichments", "paper_id"), ("enrich_failures", "paper_id"),
                           ("vectors", "paper_id"), ("aliases", "paper_id")):
            self.conn.execute(f"UPDATE OR IGNORE {table} SET {col} = ? WHERE {col} = ?",
                              (new_id, old_id))

    def resolve_id(self, text: str) -> str | None:
        """The stored id for any pasted form (arXiv URL, versioned id, alias, ps- key)."""
        text = text.strip()
        candidates = [text]
        norm = try_arxiv_id(text)
        if norm:
            candidates.insert(0, norm)
        for c in candidates:
            row = self.conn.execute("SELECT id FROM papers WHERE id = ?", (c,)).fetchone()
            if row:
                return row[0]
            row = self.conn.execute("SELECT paper_id FROM aliases WHERE alias = ?", (c,)).fetchone()
            if row:
                return row[0]
        return None

    def get_paper(self, paper_id: str) -> Paper | None:
        pid = self.resolve_id(paper_id)
        if pid is None:
            return None
        paper = self._fetch("id = ?", [pid])[0]
        return paper

    def get_papers(self, ids: Iterable[str]) -> dict[str, Paper]:
        ids = list(ids)
        out: dict[str, Paper] = {}
        for i in range(0, len(ids), 900):
            part = ids[i:i + 900]
            for p in self._fetch(f"id IN ({_qs(part)})", part):
                out[p.id] = p
        return out

    def paper_sources(self, paper_id: str) -> list[dict[str, str]]:
        rows = self.conn.execute(
            "SELECT source, ref, first_seen FROM paper_sources WHERE paper_id = ? "
            "ORDER BY first_seen, source", (paper_id,)).fetchall()
        return [dict(r) for r in rows]

    def iter_papers(self, batch: int = 2000) -> Iterator[Paper]:
        last = 0
        while True:
            rows = self.conn.execute(
                "SELECT rowid AS r, * FROM papers WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (last, batch)).fetchall()
            if not rows:
                return
            for r in rows:
                yield self._row_to_paper(r)
            last = rows[-1]["r"]

    def count_papers(self) -> int:
        return self.conn.execute("SELECT count(*) FROM papers").fetchone()[0]

    def changed_since(self, since: str) -> list[str]:
        """Ids of papers whose stored row changed at or after an ISO timestamp."""
        return [r[0] for r in self.conn.execute(
            "SELECT id FROM papers WHERE changed_at >= ?", (since,))]

    # -- days -------------------------------------------------------------------------

    def record_day(self, day: dt.date, paper_ids: list[str], source: str) -> DayStats:
        """Record that HF listed these papers on `day`. Days merge, never shrink; a paper
        that appears on a new day is marked as moved on its old one."""
        stats = DayStats()
        d = day.isoformat()
        now = _now()
        with self._tx():
            existing = {r[0] for r in self.conn.execute(
                "SELECT paper_id FROM day_papers WHERE day = ?", (d,))}
            for rank, pid in enumerate(paper_ids):
                if pid in existing:
                    stats.kept += 1
                    self.conn.execute("UPDATE day_papers SET moved_to = NULL "
                                      "WHERE day = ? AND paper_id = ?", (d, pid))
                    continue
                for (other,) in self.conn.execute(
                        "SELECT day FROM day_papers WHERE paper_id = ? AND day != ? "
                        "AND moved_to IS NULL", (pid, d)).fetchall():
                    self.conn.execute("UPDATE day_papers SET moved_to = ? WHERE day = ? "
                                      "AND paper_id = ?", (d, other, pid))
                    stats.moved.append((pid, other))
                self.conn.execute(
                    "INSERT INTO day_papers (day, paper_id, source, rank, first_seen) "
                    "VALUES (?, ?, ?, ?, ?)", (d, pid, source, rank, now))
                stats.added += 1
        return stats

    def days(self) -> list[tuple[dt.date, int]]:
        # Same counts as a UNION of (day, id) pairs, but papers are counted on the day index
        # and only listings not already counted there are added (20x faster at 89k papers).
        rows = self.conn.execute(
            "SELECT day, sum(n) FROM (SELECT day, count(*) AS n FROM papers WHERE day IS NOT NULL "
            "GROUP BY day UNION ALL SELECT dp.day, count(*) FROM day_papers dp WHERE NOT EXISTS "
            "(SELECT 1 FROM papers p WHERE p.id = dp.paper_id AND p.day = dp.day) GROUP BY dp.day) "
            "GROUP BY day ORDER BY day").fetchall()
        return [(dt.date.fromisoformat(d), n) for d, n in rows]

    def papers_for_day(self, day: dt.date) -> list[Paper]:
        d = day.isoformat()
        return self._fetch(
            "day = ? OR id IN (SELECT paper_id FROM day_papers WHERE day = ?) "
            "ORDER BY coalesce(upvotes, 0) DESC, id", [d, d])

    def moved_papers(self, day: dt.date) -> dict[str, str]:
        """paper id -> the day HF moved it to, for papers that left `day`."""
        return dict(self.conn.execute(
            "SELECT paper_id, moved_to FROM day_papers WHERE day = ? AND moved_to IS NOT NULL",
            (day.isoformat(),)).fetchall())

    def papers_between(self, start: dt.date, end: dt.date) -> list[Paper]:
        return self._fetch("day BETWEEN ? AND ? ORDER BY coalesce(upvotes, 0) DESC, id",
                           [start.isoformat(), end.isoformat()])

    # -- full-text --------------------------------------------------------------------

    def lexical_search(self, match: str, limit: int,
                       weights: tuple[float, float, float] = (4.0, 1.0, 2.0)) -> list[tuple[str, float]]:
        """BM25 over (title, abstract, authors) for an FTS5 MATCH expression built by
        search/engine.py. Scores are returned positive (higher is better)."""
        w = ", ".join(str(float(x)) for x in weights)
        rows = self.conn.execute(
            f"SELECT p.id, -bm25(papers_fts, {w}) AS s FROM papers_fts "
            "JOIN papers p ON p.rowid = papers_fts.rowid WHERE papers_fts MATCH ? "
            "ORDER BY bm25(papers_fts, " + w + ") LIMIT ?", (match, limit)).fetchall()
        return [(r[0], r[1]) for r in rows]

    # -- vectors ----------------------------------------------------------------------

    def put_vectors(self, model: str, items: list[tuple[str, str, np.ndarray]]) -> None:
        with self._tx():
            self.conn.executemany(
                "INSERT OR REPLACE INTO vectors (paper_id, model, text_hash, vec) VALUES (?, ?, ?, ?)",
                [(pid, model, h, np.asarray(v, dtype=np.float32).tobytes()) for pid, h, v in items])

    def load_vectors(self, model: str) -> tuple[list[str], np.ndarray]:
        rows = self.conn.execute(
            "SELECT paper_id, vec FROM vectors WHERE model = ? ORDER BY paper_id", (model,)).fetchall()
        if not rows:
            return [], np.zeros((0, 0), dtype=np.float32)
        ids = [r[0] for r in rows]
        mat = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
        return ids, mat

    def vector_hashes(self, model: str) -> dict[str, str]:
        return dict(self.conn.execute(
            "SELECT paper_id, text_hash FROM vectors WHERE model = ?", (model,)).fetchall())

    # -- enrichment -------------------------------------------------------------------

    def save_enrichment(self, e: Enrichment) -> None:
        with self._tx():
            self.conn.execute(
                "INSERT OR REPLACE INTO enrichments (paper_id, method, model, prompt_version, "
                "input_hash, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (e.paper_id, e.method, e.model, e.prompt_version, e.input_hash,
                 e.model_dump_json(), e.created_at.isoformat()))
            self.conn.execute("DELETE FROM enrich_failures WHERE paper_id = ?", (e.paper_id,))

    def get_enrichment(self, paper_id: str) -> Enrichment | None:
        return self.get_enrichments([paper_id]).get(paper_id)

    def get_enrichments(self, ids: Iterable[str]) -> dict[str, Enrichment]:
        ids = list(ids)
        out: dict[str, Enrichment] = {}
        for i in range(0, len(ids), 900):
            part = ids[i:i + 900]
            for pid, data in self.conn.execute(
                    f"SELECT paper_id, data FROM enrichments WHERE paper_id IN ({_qs(part)})", part):
                out[pid] = Enrichment.model_validate_json(data)
        return out

    def enrichment_methods(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT paper_id, method FROM enrichments").fetchall())

    def record_failure(self, paper_id: str, reason: str) -> None:
        with self._tx():
            self.conn.execute(
                "INSERT INTO enrich_failures (paper_id, reason, at) VALUES (?, ?, ?) "
                "ON CONFLICT(paper_id) DO UPDATE SET reason = excluded.reason, "
                "attempts = attempts + 1, at = excluded.at", (paper_id, reason, _now()))

    def failures(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT paper_id, reason FROM enrich_failures").fetchall())

    def cache_get(self, key: str) -> Any | None:
        row = self.conn.execute("SELECT value FROM llm_cache WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def cache_put(self, key: str, value: Any) -> None:
        with self._tx():
            self.conn.execute("INSERT OR REPLACE INTO llm_cache (key, value, created_at) "
                              "VALUES (?, ?, ?)", (key, json.dumps(value, ensure_ascii=False), _now()))

    def save_reading(self, r: Reading) -> None:
        with self._tx():
            self.conn.execute("INSERT OR REPLACE INTO readings (day, data) VALUES (?, ?)",
                              (r.day.isoformat(), r.model_dump_json()))

    def get_reading(self, day: dt.date) -> Reading | None:
        row = self.conn.execute("SELECT data FROM readings WHERE day = ?",
                                (day.isoformat(),)).fetchone()
        return Reading.model_validate_json(row[0]) if row else None

    # -- import fingerprints (ingest.py) ----------------------------------------------

    def seen_records(self, fps: list[int]) -> set[int]:
        """Those of `fps` (fingerprints of raw archive records) imported before (committed).

        An import's reader thread asks this while the writer holds its transaction: through
        the writer's connection (and lock) it would wait for every chunk's write, and parsing
        would never overlap with SQLite. A second connection reads the last commit instead
        (WAL: readers never wait for the writer).
        """
        out: set[int] = set()
        with self._seen_lock:
            if self._seen_conn is None:
                self._seen_conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30,
                                                  isolation_level=None)
            for i in range(0, len(fps), 5000):
                part = fps[i:i + 5000]
                out.update(r[0] for r in self._seen_conn.execute(
                    f"SELECT fp FROM import_seen WHERE fp IN ({_qs(part)})", part))
        return out

    def mark_records(self, fps: Iterable[int]) -> None:
        """Remember raw records that are now stored (a re-import skips them)."""
        with self._tx():
            # In key order: the b-tree is then filled page by page, not at random places.
            insert_rows(self.conn, "INSERT OR IGNORE INTO import_seen (fp)",
                        [(f,) for f in sorted(set(fps))])

    # -- runs and meta ----------------------------------------------------------------

    def start_run(self, kind: str, params: dict[str, Any]) -> int:
        with self._tx():
            cur = self.conn.execute("INSERT INTO runs (kind, started_at, params) VALUES (?, ?, ?)",
                                    (kind, _now(), json.dumps(params, default=str)))
            return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, counts: dict[str, Any], errors: list[str],
                   status: str = "ok") -> None:
        with self._tx():
            self.conn.execute(
                "UPDATE runs SET finished_at = ?, counts = ?, errors = ?, status = ? WHERE id = ?",
                (_now(), json.dumps(counts, default=str), json.dumps(errors[:1000]), status, run_id))

    def recent_runs(self, limit: int = 20) -> list[RunRecord]:
        rows = self.conn.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [RunRecord(id=r["id"], kind=r["kind"], started_at=r["started_at"],
                          finished_at=r["finished_at"], status=r["status"],
                          params=json.loads(r["params"]), counts=json.loads(r["counts"]),
                          errors=json.loads(r["errors"])) for r in rows]

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._tx():
            self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


    # -- publishing (site/ and api/ read these) ---------------------------------------

    def paper_times(self, ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        """paper id -> (created_at, changed_at) as stored: 'date added' and 'data updated'."""
        ids = list(ids)
        out: dict[str, tuple[str, str]] = {}
        for i in range(0, len(ids), 900):
            part = ids[i:i + 900]
            for pid, c, ch in self.conn.execute(
                    f"SELECT id, created_at, changed_at FROM papers WHERE id IN ({_qs(part)})", part):
                out[pid] = (c, ch)
        return out

    def day_members(self) -> list[tuple[str, str, str | None]]:
        """Every HF day listing as (day, paper_id, moved_to)."""
        return [tuple(r) for r in self.conn.execute(
            "SELECT day, paper_id, moved_to FROM day_papers ORDER BY day, rank")]

    def touched_since(self, since: str) -> set[str]:
        """Ids whose row, enrichment or day listing changed at or after an ISO timestamp."""
        rows = self.conn.execute(
            "SELECT id FROM papers WHERE changed_at >= ?1 "
            "UNION SELECT paper_id FROM enrichments WHERE created_at >= ?1 "
            "UNION SELECT paper_id FROM day_papers WHERE first_seen >= ?1", (since,))
        return {r[0] for r in rows}

    def tag_members(self, tags: Iterable[str] | None = None,
                    limit: int | None = None) -> dict[str, list[str]]:
        """tag -> ids of enriched papers carrying it, newest day first, at most `limit` each."""
        where, params = "", []
        if tags is not None:
            tags = list(tags)
            if not tags:
                return {}
            where, params = f"WHERE j.value IN ({_qs(tags)})", tags
        sql = ("SELECT j.value AS tag, e.paper_id AS pid, ROW_NUMBER() OVER (PARTITION BY j.value "
               "ORDER BY p.day DESC, coalesce(p.upvotes, 0) DESC, p.id) AS n "
               "FROM enrichments e, json_each(e.data, '$.tags') j "
               f"JOIN papers p ON p.id = e.paper_id {where}")
        if limit is not None:
            sql = f"SELECT tag, pid, n FROM ({sql}) WHERE n <= {int(limit)}"
        out: dict[str, list[str]] = {}
        for tag, pid, _ in self.conn.execute(sql + " ORDER BY 1, 3", params):
            out.setdefault(tag, []).append(pid)
        return out

    def tag_counts(self) -> dict[str, int]:
        """tag -> number of enriched papers carrying it."""
        return dict(self.conn.execute(
            "SELECT j.value, count(*) FROM enrichments e, json_each(e.data, '$.tags') j "
            "GROUP BY j.value").fetchall())

    def top_between(self, start: dt.date, end: dt.date, limit: int) -> list[Paper]:
        """The most upvoted papers whose day falls in [start, end], each once."""
        return self._fetch("day BETWEEN ? AND ? ORDER BY coalesce(upvotes, 0) DESC, "
                           "published DESC, id LIMIT ?", [start.isoformat(), end.isoformat(), limit])

    def reading_hashes(self) -> dict[str, str]:
        """day -> digest of its stored reading (tells a build which reading pages changed)."""
        import hashlib
        return {d: hashlib.sha1(data.encode("utf-8")).hexdigest()[:12]
                for d, data in self.conn.execute("SELECT day, data FROM readings")}

    # Columns publish_rows() returns, in order (site/data.py turns them into cards).
    PUBLISH_COLUMNS = ("id", "arxiv_id", "title", "abstract", "authors", "affiliations",
                       "published", "hf_date", "upvotes", "github_repo", "github_stars",
                       "project_page", "organization", "categories", "ai_summary", "links",
                       "num_authors", "created_at", "changed_at", "enrichment", "enriched_at")

    def publish_rows(self, ids: Iterable[str] | None = None,
                     batch: int = 5000) -> Iterator[tuple[Any, ...]]:
        """Raw rows for the site build (PUBLISH_COLUMNS, JSON fields as stored text):
        papers joined with their enrichment, no model validation (rows were validated on
        the way in). All papers in insertion order when `ids` is None."""
        cols = ("p.id, p.arxiv_id, p.title, p.abstract, p.authors, p.affiliations, p.published, "
                "p.hf_date, p.upvotes, p.github_repo, p.github_stars, p.project_page, "
                "p.organization, p.categories, p.ai_summary, p.links, p.num_authors, "
                "p.created_at, p.changed_at, e.data, e.created_at")
        base = f"SELECT {cols} FROM papers p LEFT JOIN enrichments e ON e.paper_id = p.id"
        cur = self.conn.cursor()
        cur.row_factory = None  # plain tuples: sqlite3.Row costs more than the query here
        if ids is None:
            last = 0
            while True:
                rows = cur.execute(f"SELECT p.rowid, {cols} FROM papers p LEFT JOIN enrichments e "
                                   "ON e.paper_id = p.id WHERE p.rowid > ? ORDER BY p.rowid LIMIT ?",
                                   (last, batch)).fetchall()
                if not rows:
                    return
                last = rows[-1][0]
                for r in rows:
                    yield r[1:]
        ids = list(ids)
        for i in range(0, len(ids), 900):
            part = ids[i:i + 900]
            yield from cur.execute(f"{base} WHERE p.id IN ({_qs(part)})", part).fetchall()

    # -- search (search/engine.py reads these) ----------------------------------------

    def _search_where(self, filters: dict[str, Any] | None) -> tuple[str, list[Any]]:
        """SQL condition on `papers p` for search filters (each list matches any of its items):
        date_from/date_to (ISO, on the paper's day), min_upvotes, sources, categories, tags
        (all of them when tag_mode is "all")."""
        conds, params = ["1"], []
        f = filters or {}
        if f.get("date_from"):
            conds.append("p.day >= ?")
            params.append(str(f["date_from"]))
        if f.get("date_to"):
            conds.append("p.day <= ?")
            params.append(str(f["date_to"]))
        if f.get("min_upvotes") is not None:
            conds.append("coalesce(p.upvotes, 0) >= ?")
            params.append(int(f["min_upvotes"]))
        tags_sql = ("p.id IN (SELECT e.paper_id FROM enrichments e, json_each(e.data, '$.tags') t "
                    "WHERE t.value IN ({}))")
        groups = [("sources", "p.id IN (SELECT paper_id FROM paper_sources WHERE source IN ({}))"),
                  ("categories", "EXISTS (SELECT 1 FROM json_each(p.categories) c WHERE c.value IN ({}))")]
        for key, sql in groups:
            values = list(f.get(key) or [])
            if values:
                conds.append(sql.format(_qs(values)))
                params.extend(values)
        tags = list(f.get("tags") or [])
        # tag_mode "all": one condition per tag; otherwise any of them.
        for part in ([[t] for t in tags] if f.get("tag_mode") == "all" else [tags] if tags else []):
            conds.append(tags_sql.format(_qs(part)))
            params.extend(part)
        return " AND ".join(conds), params

    def search_filter_ids(self, filters: dict[str, Any] | None) -> set[str]:
        where, params = self._search_where(filters)
        return {r[0] for r in self.conn.execute(f"SELECT p.id FROM papers p WHERE {where}", params)}

    def lexical_match_ids(self, match: str, filters: dict[str, Any] | None = None) -> set[str]:
        """Ids of every paper matching an FTS5 expression (no ranking: the cheap way to
        apply phrase and author: constraints; search ranks the set in memory)."""
        where, params = self._search_where(filters)
        return {r[0] for r in self.conn.execute(
            "SELECT p.id FROM papers_fts JOIN papers p ON p.rowid = papers_fts.rowid "
            f"WHERE papers_fts MATCH ? AND {where}", [match, *params])}

    def browse_ids(self, filters: dict[str, Any] | None, order: str, limit: int,
                   offset: int = 0) -> tuple[list[str], int]:
        """Filtered paper ids without a query, newest ('date') or most upvoted first, + total."""
        where, params = self._search_where(filters)
        by = ("coalesce(p.upvotes, 0) DESC, p.day DESC" if order == "upvotes"
              else "p.day DESC, coalesce(p.upvotes, 0) DESC")
        ids = [r[0] for r in self.conn.execute(
            f"SELECT p.id FROM papers p WHERE {where} ORDER BY {by}, p.id LIMIT ? OFFSET ?",
            [*params, limit, offset])]
        total = self.conn.execute(f"SELECT count(*) FROM papers p WHERE {where}", params).fetchone()[0]
        return ids, total

    def search_facets(self) -> Iterator[tuple[str, str | None, int | None, list[str]]]:
        """(id, day, upvotes, tags) of every paper: what search filters and sorts on."""
        cur = self.conn.execute("SELECT p.id, p.day, p.upvotes, json_extract(e.data, '$.tags') "
                                "FROM papers p LEFT JOIN enrichments e ON e.paper_id = p.id")
        for pid, day, upvotes, tags in cur:
            yield pid, day, upvotes, (json.loads(tags) if tags else [])

    def enrichments_version(self) -> str:
        """Moves on every enrichment insert, update or delete (triggers of migration 8)."""
        return self.get_meta("enrichments_version") or "0"

    def title_keys(self, ids: Iterable[str]) -> dict[str, str]:
        """paper id -> normalised title key (search collapses results sharing one)."""
        ids = list(ids)
        out: dict[str, str] = {}
        for i in range(0, len(ids), 900):
            part = ids[i:i + 900]
            out.update(self.conn.execute(
                f"SELECT id, title_key FROM papers WHERE id IN ({_qs(part)})", part).fetchall())
        return out

    def search_texts(self, batch: int = 5000, with_authors: bool = False) -> Iterator[tuple[str, ...]]:
        """(id, title, abstract[, authors text]) of every paper, cheaply (what the search
        indexes are computed from)."""
        last = 0
        while True:
            rows = self.conn.execute(
                "SELECT rowid, id, title, abstract, authors FROM papers WHERE rowid > ? "
                "ORDER BY rowid LIMIT ?", (last, batch)).fetchall()
            if not rows:
                return
            for r in rows:
                yield (r[1], r[2], r[3], r[4]) if with_authors else (r[1], r[2], r[3])
            last = rows[-1][0]

    def papers_version(self) -> str:
        """Changes whenever a paper is added, edited or renamed (cheap: two index lookups)."""
        # Two statements: SQLite answers a lone max() from the index, two in one need a scan.
        rowid = self.conn.execute("SELECT max(rowid) FROM papers").fetchone()[0]
        changed = self.conn.execute("SELECT max(changed_at) FROM papers").fetchone()[0]
        return f"{rowid or 0}:{changed or ''}"

    def delete_vectors(self, model: str, ids: Iterable[str]) -> None:
        ids = list(ids)
        with self._tx():
            for i in range(0, len(ids), 900):
                part = ids[i:i + 900]
                self.conn.execute(f"DELETE FROM vectors WHERE model = ? AND paper_id IN ({_qs(part)})",
                                  [model, *part])


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT/ROLLBACK under the store lock; nestable (inner is a no-op)."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.RLock):
        self.conn, self.lock, self.outer = conn, lock, False

    def __enter__(self) -> None:
        self.lock.acquire()
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN IMMEDIATE")
            self.outer = True

    def __exit__(self, exc_type: object, *_: object) -> None:
        try:
            if self.outer:
                self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.lock.release()


def _adds_anything(old: Paper, new: Paper) -> bool:
    """Cheap pre-check: does `new` carry any value `old` lacks or differs on?"""
    for name in PAPER_FIELDS:
        nv = getattr(new, name)
        if not _empty(nv) and nv != getattr(old, name):
            return True
    return bool(new.num_authors and new.num_authors != old.num_authors)


def _source_rows(paper_id: str, p: Paper) -> list[tuple[str, str, str, str]]:
    return [(paper_id, s.source, s.ref, s.seen_at.isoformat(timespec="seconds")) for s in p.sources]


def _day(p: Paper) -> str | None:
    d = p.hf_date or p.published
    return d.isoformat() if d else None


def _qs(items: Iterable[Any]) -> str:
    return ", ".join("?" for _ in items)


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (triggers hold ';' inside BEGIN ... END)."""
    out, buf = [], []
    for line in script.splitlines():
        buf.append(line)
        joined = "\n".join(buf).strip()
        if joined.endswith(";") and sqlite3.complete_statement(joined):
            out.append(joined)
            buf = []
    if "\n".join(buf).strip():
        out.append("\n".join(buf).strip())
    return out
