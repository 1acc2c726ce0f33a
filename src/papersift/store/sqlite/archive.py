"""Archive rows in and out of SQLite (store/base.py ArchiveStore).

Papers are restored with their own created_at/changed_at and their derived columns (title
key, content hash, day, author count) recomputed, then indexed in the same transaction like
an upsert: full text for the new rows, blocking keys when near-duplicates can exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ...dedup import title_keys
from ...model import trusted_paper
from ..base import TX_CHUNK
from ..rows import (
    ARCHIVE_COLUMNS,
    ARCHIVE_JSON,
    COLUMNS,
    ROW_COLUMNS,
    archive_columns,
    archive_keys,
    archive_pages,
    dumps,
    new_row,
)
from .bulk import insert_rows
from .core import SQLiteBase


class ArchiveMixin(SQLiteBase):
    def archive_rows(self, table: str, batch: int = 5000) -> Iterator[dict[str, Any]]:
        cols = archive_columns(table)
        return archive_pages(table, batch, "?", lambda sql, params: [
            dict(zip(cols, r, strict=True)) for r in self.conn.execute(sql, params).fetchall()])

    def restore_rows(self, table: str, rows: Iterable[dict[str, Any]]) -> int:
        archive_keys(table)
        added = 0
        chunk: list[dict[str, Any]] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= TX_CHUNK:
                added += self._restore_chunk(table, chunk)
                chunk = []
        if chunk:
            added += self._restore_chunk(table, chunk)
        return added

    def _restore_chunk(self, table: str, chunk: list[dict[str, Any]]) -> int:
        with self._tx():
            if table == "papers":
                return self._restore_papers(chunk)
            cols = ARCHIVE_COLUMNS[table]
            json_cols = ARCHIVE_JSON.get(table, frozenset())
            values = [[dumps(r.get(c)) if c in json_cols else r.get(c) for c in cols]
                      for r in chunk]
            count = f"SELECT count(*) FROM {table}"
            before = self.conn.execute(count).fetchone()[0]
            insert_rows(self.conn, f"INSERT OR IGNORE INTO {table} ({', '.join(cols)})", values)
            return int(self.conn.execute(count).fetchone()[0] - before)

    def _restore_papers(self, chunk: list[dict[str, Any]]) -> int:
        ids = [r["id"] for r in chunk]
        have = self.existing_ids(ids)  # type: ignore[attr-defined]
        new = [r for r in chunk if r["id"] not in have]
        if not new:
            return 0
        # Values the caller validated (archive.py builds each row from a validated Paper).
        papers = [trusted_paper({**{c: r.get(c) for c in COLUMNS}, "sources": []})
                  for r in new]
        need_blocks = (any(not p.arxiv_id for p in papers)
                       or self.conn.execute("SELECT 1 FROM title_blocks LIMIT 1").fetchone())
        values, blocks = [], []
        for p, r in zip(papers, new, strict=True):
            tk, bks = title_keys(p.title)
            values.append((*new_row(p, tk), r["created_at"], r["changed_at"]))
            blocks += [(b, p.id) for b in bks] if need_blocks else []
        top = self.conn.execute("SELECT coalesce(max(rowid), 0) FROM papers").fetchone()[0]
        insert_rows(self.conn, f"INSERT INTO papers ({', '.join(ROW_COLUMNS)})", values)
        self.conn.execute(
            "INSERT INTO papers_fts (rowid, title, abstract, authors) "
            "SELECT rowid, title, abstract, authors FROM papers WHERE rowid > ?", (top,))
        insert_rows(self.conn, "INSERT OR IGNORE INTO title_blocks (key, paper_id)", blocks)
        return len(new)
