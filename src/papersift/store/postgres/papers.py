"""Papers in PostgreSQL: the upsert primitives and plan application (the decisions are in
store/upsert.py, shared with SQLite), and the paper reads."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ...ids import title_key, try_arxiv_id
from ...model import Paper
from ..base import TX_CHUNK, UpsertStats
from ..rows import COLUMNS, ROW_COLUMNS, day_of, new_row, now, paper_values
from ..upsert import Prepared, UpsertPlan, plan_upsert, source_rows
from .bulk import BULK_SETTINGS, BulkState, copy_rows, insert_many, update_papers
from .core import PAPER_SELECT, UPSERT_KEY, PostgresBase, row_to_paper
from .fts import index_ids

# Papers per write transaction of a bulk import: its full-text helpers start on a chunk
# when it commits, so the import ends at most this many papers after its writer (a plan
# still reads the store a few times per chunk, not per paper).
BULK_CHUNK = 5000
_UPDATE_COLUMNS = COLUMNS[1:] + ("title_key", "content_hash", "day", "changed_at")
# Tables whose rows hang on a paper id: a rename moves them (ON CONFLICT: a row already
# under the new id wins, as SQLite's UPDATE OR IGNORE keeps it).
_HUNG = (("paper_sources", "paper_id"), ("day_papers", "paper_id"), ("enrichments", "paper_id"),
         ("enrich_failures", "paper_id"), ("vectors", "paper_id"), ("aliases", "paper_id"),
         ("paper_images", "paper_id"))


class PapersMixin(PostgresBase):
    _bulk: BulkState

    def prepare_papers(self, papers: Iterable[Paper]) -> list[Prepared]:
        """What storing each paper as a new row needs, computed without the database (an
        importer calls it on its reader thread; the writer is left with the SQL)."""
        out = []
        for p in papers:
            tk = title_key(p.title)
            out.append((tk, new_row(p, tk), source_rows(p.id, p)))
        return out

    def upsert_papers(self, papers: Iterable[Paper],
                      prepared: Iterable[Prepared | None] | None = None) -> UpsertStats:
        """Insert new papers, merge known ones. Idempotent: same input, no change."""
        stats = UpsertStats()
        chunk: list[Paper] = []
        prep: list[Prepared | None] = []
        preps = iter(prepared) if prepared is not None else None
        size = BULK_CHUNK if self._bulk.depth else TX_CHUNK
        for p in papers:
            chunk.append(p)
            prep.append(next(preps) if preps is not None else None)
            if len(chunk) >= size:
                stats.add(self._upsert_chunk(chunk, prep))
                chunk, prep = [], []
        if chunk:
            stats.add(self._upsert_chunk(chunk, prep))
        return stats

    def _upsert_chunk(self, chunk: list[Paper], prep: list[Prepared | None]) -> UpsertStats:
        owned = getattr(self._local, "conn", None) is None  # not inside a caller's transaction
        while True:
            try:
                with self._tx() as conn:
                    if self._bulk.depth:
                        for stmt in BULK_SETTINGS:
                            conn.execute(stmt)
                    # Writers of other processes plan one chunk at a time: a plan reads what
                    # is stored, and two concurrent plans could each miss the other's paper.
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (UPSERT_KEY,))
                    plan = plan_upsert(self, chunk, prep)
                    if owned and plan.inserts and self._bulk.wants_helpers():
                        raise _HelpersFirst
                    self._apply(conn, plan)
                return plan.stats
            except _HelpersFirst:
                # The first new papers of a bulk import: its full-text helpers start now,
                # with this chunk rolled back and planned again after. Started inside the
                # transaction, they waited for a lock another import's index build held
                # while that build waited for this transaction: a deadlock through this
                # process, which the server cannot see (it hung the 4-importer race test).
                self._bulk.ensure_helpers()

    # -- what store/upsert.py reads (inside the chunk's transaction) --------------------

    def has_blocking_keys(self) -> bool:
        return self._one("SELECT 1 FROM title_blocks LIMIT 1") is not None

    def has_arxiv_papers(self) -> bool:
        return self._one("SELECT 1 FROM papers WHERE arxiv_id IS NOT NULL LIMIT 1") is not None

    def aliases_of(self, ids: list[str]) -> dict[str, str]:
        return dict(self._all("SELECT alias, paper_id FROM aliases WHERE alias = ANY(%s)", (ids,)))

    def papers_by_id(self, ids: list[str]) -> list[Paper]:
        return self._fetch_ids(ids)

    def papers_by_title_key(self, keys: list[str]) -> list[Paper]:
        return self._fetch("p.title_key = ANY(%s)", (keys,)) if keys else []

    def block_members(self, keys: list[str]) -> list[tuple[str, str]]:
        if not keys:
            return []
        return [(k, pid) for k, pid in self._all(
            "SELECT key, paper_id FROM title_blocks WHERE key = ANY(%s)", (keys,))]

    def title_phrase_ids(self, phrases: list[str]) -> list[str]:
        if not phrases:
            return []
        # The titles' own index (papers_title_tsv): always in step, bulk import or not.
        q = " || ".join("phraseto_tsquery('papersift', %s)" for _ in phrases)
        rows = self._all(f"WITH q AS MATERIALIZED (SELECT ({q}) AS q) SELECT p.id FROM papers p, q "
                         "WHERE to_tsvector('papersift', p.title) @@ q.q ORDER BY p.seq LIMIT 20",
                         phrases)
        return [r[0] for r in rows]

    # -- writing a plan -------------------------------------------------------------------

    def _apply(self, conn: Any, plan: UpsertPlan) -> None:
        ts = now()
        created: dict[str, str] = {}  # new id -> created_at of a renamed row
        for old_id, new_id in plan.renames:
            created[new_id] = self._rename(conn, old_id, new_id) or ts
        inserts = []
        for paper, r, tk in plan.inserts:
            row = r[1] if r is not None else new_row(paper, tk or title_key(paper.title))
            inserts.append((*row, created.get(paper.id, ts) if created else ts, ts))
        copy_rows(conn, "papers", ROW_COLUMNS, inserts)
        update_papers(conn, [paper_values(p)[1:] + [title_key(p.title), p.content_hash(),
                                                    day_of(p), ts, p.id] for p in plan.updates],
                      _UPDATE_COLUMNS)
        # Full text in this transaction, except new rows of a bulk import (fts.py helpers).
        fresh = [paper.id for paper, _, _ in plan.inserts]
        if fresh and self._bulk.helpers is not None:
            fresh = []
        index_ids(conn, fresh + [p.id for p in plan.updates])
        insert_many(conn, "aliases", [("alias", "text"), ("paper_id", "text")], plan.aliases,
                    "ON CONFLICT (alias) DO UPDATE SET paper_id = excluded.paper_id")
        insert_many(conn, "paper_sources", [("paper_id", "text"), ("source", "text"),
                                            ("ref", "text"), ("first_seen", "text")], plan.sources)
        insert_many(conn, "title_blocks", [("key", "text"), ("paper_id", "text")], plan.blocks)

    def _rename(self, conn: Any, old_id: str, new_id: str) -> str | None:
        """Move a listing-only paper (ps- key) to its arXiv id, with everything hung on it.
        The row is deleted (the plan re-inserts it); returns its created_at."""
        c = conn  # the chunk's transaction connection
        row = c.execute("DELETE FROM papers WHERE id = %s RETURNING created_at",
                        (old_id,)).fetchone()
        c.execute("DELETE FROM title_blocks WHERE paper_id = %s", (old_id,))
        c.execute("DELETE FROM paper_fts WHERE paper_id = %s", (old_id,))
        for table, col in _HUNG:
            # UPDATE OR IGNORE: rows whose new key is taken stay under the old id.
            c.execute(f"UPDATE {table} t SET {col} = %s WHERE {col} = %s AND NOT EXISTS ("
                      f"SELECT 1 FROM {table} o WHERE o.{col} = %s AND "
                      + _same_key(table) + ")", (new_id, old_id, new_id))
        return row[0] if row else None

    # -- reads ----------------------------------------------------------------------------

    def resolve_id(self, text: str) -> str | None:
        """The stored id for any pasted form (arXiv URL, versioned id, alias, ps- key)."""
        text = text.strip()
        candidates = [text]
        norm = try_arxiv_id(text)
        if norm:
            candidates.insert(0, norm)
        for c in candidates:
            row = self._one("SELECT id FROM papers WHERE id = %s UNION ALL "
                            "SELECT paper_id FROM aliases WHERE alias = %s LIMIT 1", (c, c))
            if row:
                return str(row[0])
        return None

    def get_paper(self, paper_id: str) -> Paper | None:
        pid = self.resolve_id(paper_id)
        if pid is None:
            return None
        got = self._fetch("p.id = %s", (pid,))
        return got[0] if got else None

    def get_papers(self, ids: Iterable[str]) -> dict[str, Paper]:
        return {p.id: p for p in self._fetch_ids(list(ids))}

    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        ids = list(ids)
        if not ids:
            return set()
        return {r[0] for r in self._all("SELECT id FROM papers WHERE id = ANY(%s)", (ids,))}

    def paper_sources(self, paper_id: str) -> list[dict[str, str]]:
        """Provenance of one paper (source, ref, first_seen), oldest first."""
        rows = self._all("SELECT source, ref, first_seen FROM paper_sources WHERE paper_id = %s "
                         "ORDER BY first_seen, source", (paper_id,))
        return [{"source": s, "ref": r, "first_seen": f} for s, r, f in rows]

    def iter_papers(self, batch: int = 2000) -> Iterator[Paper]:
        # Keyset pages, each its own statement: no connection or snapshot is held while
        # the caller works on a page.
        last = 0
        while True:
            rows = self._all(f"SELECT p.seq, {PAPER_SELECT} FROM papers p WHERE p.seq > %s "
                             "ORDER BY p.seq LIMIT %s", (last, batch))
            if not rows:
                return
            for r in rows:
                yield row_to_paper(r[1:])
            last = rows[-1][0]

    def count_papers(self) -> int:
        row = self._one("SELECT count(*) FROM papers")
        return int(row[0]) if row else 0


def _same_key(table: str) -> str:
    """The rest of `table`'s key, equal between rows t and o (for a rename's conflict test)."""
    rest = {"paper_sources": ("source", "ref"), "day_papers": ("day",), "vectors": ("model",),
            "aliases": ("alias",), "paper_images": ("kind",)}.get(table, ())
    return " AND ".join([f"o.{c} = t.{c}" for c in rest] or ["true"])


class _HelpersFirst(Exception):
    """Raised inside a chunk's transaction to roll it back and start the helpers first."""
