"""Papers in SQLite: the upsert primitives and plan application (the decisions are in
store/upsert.py), and the paper reads."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator

from ...ids import title_key, try_arxiv_id
from ...model import Paper
from ..base import TX_CHUNK, UpsertStats
from ..rows import COLUMNS, ROW_COLUMNS, day_of, new_row, now, paper_values
from ..upsert import Prepared, UpsertPlan, plan_upsert, source_rows
from .bulk import insert_rows
from .core import SQLiteBase, id_batches, qs

_UPDATE_SET = ", ".join(f"{c} = ?" for c in COLUMNS[1:] + ("title_key", "content_hash", "day", "changed_at"))


class PapersMixin(SQLiteBase):
    def prepare_papers(self, papers: Iterable[Paper]) -> list[Prepared]:
        """What storing each paper as a new row needs, computed without the database.

        A bulk importer calls this on its reader thread: the writer thread then spends its
        time in SQLite, which runs without the GIL, instead of in this Python.
        """
        out = []
        for p in papers:
            tk = title_key(p.title)
            out.append((tk, new_row(p, tk), source_rows(p.id, p)))
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
            if len(chunk) >= TX_CHUNK:
                stats.add(self._upsert_chunk(chunk, prep))
                chunk, prep = [], []
        if chunk:
            stats.add(self._upsert_chunk(chunk, prep))
        return stats

    def _upsert_chunk(self, chunk: list[Paper], prep: list[Prepared | None]) -> UpsertStats:
        with self._tx():
            plan = plan_upsert(self, chunk, prep)
            self._apply(plan)
        return plan.stats

    # -- what store/upsert.py reads (inside the chunk's transaction) --------------------

    def has_blocking_keys(self) -> bool:
        return self.conn.execute("SELECT 1 FROM title_blocks LIMIT 1").fetchone() is not None

    def has_arxiv_papers(self) -> bool:
        return self.conn.execute("SELECT 1 FROM papers WHERE arxiv_id IS NOT NULL LIMIT 1").fetchone() is not None

    def aliases_of(self, ids: list[str]) -> dict[str, str]:
        return dict(self.conn.execute(
            f"SELECT alias, paper_id FROM aliases WHERE alias IN ({qs(ids)})", ids).fetchall())

    def papers_by_id(self, ids: list[str]) -> list[Paper]:
        return self._fetch(f"id IN ({qs(ids)})", ids)

    def papers_by_title_key(self, keys: list[str]) -> list[Paper]:
        return self._fetch(f"title_key IN ({qs(keys)})", keys)

    def block_members(self, keys: list[str]) -> list[tuple[str, str]]:
        return [(k, pid) for k, pid in self.conn.execute(
            f"SELECT key, paper_id FROM title_blocks WHERE key IN ({qs(keys)})", keys).fetchall()]

    def title_phrase_ids(self, phrases: list[str]) -> list[str]:
        match = " OR ".join(f'title : "{ph}"' for ph in phrases)
        try:
            rows = self.conn.execute(
                "SELECT p.id FROM papers_fts JOIN papers p ON p.rowid = papers_fts.rowid "
                "WHERE papers_fts MATCH ? LIMIT 20", (match,)).fetchall()
        except sqlite3.OperationalError:
            return []
        return [r[0] for r in rows]

    # -- writing a plan -------------------------------------------------------------------

    def _apply(self, plan: UpsertPlan) -> None:
        ts = now()
        created: dict[str, str] = {}  # new id -> created_at of a renamed row
        for old_id, new_id in plan.renames:
            created[new_id] = self._rename(old_id, new_id) or ts
        inserts = []
        for paper, r, tk in plan.inserts:
            row = r[1] if r is not None else new_row(paper, tk or title_key(paper.title))
            inserts.append((*row, created.get(paper.id, ts) if created else ts, ts))
        updates = [paper_values(p)[1:] + [title_key(p.title), p.content_hash(), day_of(p), ts, p.id]
                   for p in plan.updates]
        # New rows get rowids above the current maximum: index exactly those, set-based,
        # in this transaction (migration 5 replaced the per-row insert trigger).
        top = self.conn.execute("SELECT coalesce(max(rowid), 0) FROM papers").fetchone()[0]
        insert_rows(self.conn, f"INSERT INTO papers ({', '.join(ROW_COLUMNS)})", inserts)
        if inserts:
            self.conn.execute(
                "INSERT INTO papers_fts (rowid, title, abstract, authors) "
                "SELECT rowid, title, abstract, authors FROM papers WHERE rowid > ?", (top,))
        self.conn.executemany(f"UPDATE papers SET {_UPDATE_SET} WHERE id = ?", updates)
        insert_rows(self.conn, "INSERT OR REPLACE INTO aliases (alias, paper_id)", plan.aliases)
        insert_rows(self.conn, "INSERT OR IGNORE INTO paper_sources "
                    "(paper_id, source, ref, first_seen)", plan.sources)
        insert_rows(self.conn, "INSERT OR IGNORE INTO title_blocks (key, paper_id)", plan.blocks)

    def _rename(self, old_id: str, new_id: str) -> str | None:
        """Move a listing-only paper (ps- key) to its arXiv id, with everything hung on it.
        The row is deleted (the plan re-inserts it); returns its created_at."""
        row = self.conn.execute("DELETE FROM papers WHERE id = ? RETURNING created_at",
                                (old_id,)).fetchone()
        self.conn.execute("DELETE FROM title_blocks WHERE paper_id = ?", (old_id,))
        for table, col in (("paper_sources", "paper_id"), ("day_papers", "paper_id"),
                           ("enrichments", "paper_id"), ("enrich_failures", "paper_id"),
                           ("vectors", "paper_id"), ("aliases", "paper_id"),
                           ("paper_images", "paper_id")):
            self.conn.execute(f"UPDATE OR IGNORE {table} SET {col} = ? WHERE {col} = ?",
                              (new_id, old_id))
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
            row = self.conn.execute("SELECT id FROM papers WHERE id = ?", (c,)).fetchone()
            if row:
                return str(row[0])
            row = self.conn.execute("SELECT paper_id FROM aliases WHERE alias = ?", (c,)).fetchone()
            if row:
                return str(row[0])
        return None

    def get_paper(self, paper_id: str) -> Paper | None:
        pid = self.resolve_id(paper_id)
        if pid is None:
            return None
        return self._fetch("id = ?", [pid])[0]

    def get_papers(self, ids: Iterable[str]) -> dict[str, Paper]:
        return {p.id: p for p in self._fetch_ids(list(ids))}

    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for part, marks in id_batches(ids):
            out.update(r[0] for r in self.conn.execute(
                f"SELECT id FROM papers WHERE id IN ({marks})", part))
        return out

    def paper_sources(self, paper_id: str) -> list[dict[str, str]]:
        """Provenance of one paper (source, ref, first_seen), oldest first."""
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
        return int(self.conn.execute("SELECT count(*) FROM papers").fetchone()[0])
