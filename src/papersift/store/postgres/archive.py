"""Archive rows in and out of PostgreSQL (store/base.py ArchiveStore).

The same rows as SQLite's (store/rows.py): papers are restored with their own
created_at/changed_at and their derived columns recomputed (title key, content hash, day,
the full-text row), blocking keys written when near-duplicates can exist; the
enrichments' tag arrays are filled from their JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

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
from .bulk import copy_rows, insert_many
from .core import PostgresBase
from .fts import index_ids
from .vectors import as_array

# SQL types of the non-text columns of the archive tables.
_TYPES = {"rank": "bigint", "attempts": "bigint", "id": "bigint", "expected": "bigint",
          "collected": "bigint", "errors": "bigint", "run_id": "bigint", "hf_models": "bigint",
          "hf_datasets": "bigint", "hf_spaces": "bigint", "parts": "bigint", "fp": "bigint",
          "bytes": "bigint", "width": "bigint", "height": "bigint", "retry": "boolean"}


def _typed(table: str, cols: tuple[str, ...]) -> list[tuple[str, str]]:
    if table == "coverage":  # coverage.errors is a count, runs.errors JSON text
        return [(c, _TYPES.get(c, "text")) for c in cols]
    return [(c, "text" if c == "errors" else _TYPES.get(c, "text")) for c in cols]


class ArchiveMixin(PostgresBase):
    def archive_rows(self, table: str, batch: int = 5000) -> Iterator[dict[str, Any]]:
        cols = archive_columns(table)

        def fetch(sql: str, params: list[Any]) -> list[dict[str, Any]]:
            if table != "vectors":
                return [dict(zip(cols, r, strict=True)) for r in self._all(sql, params)]
            return [{**d, "vec": as_array(d["vec"]).tobytes()}
                    for d in (dict(zip(cols, r, strict=True)) for r in self._vector_page(sql, params))]

        return archive_pages(table, batch, "%s", fetch)

    def _vector_page(self, sql: str, params: list[Any]) -> list[Any]:
        with self._conn() as c, c.cursor(binary=True) as cur:  # vectors come back as binary
            return list(cur.execute(sql, params).fetchall())

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
        with self._tx() as c:
            if table == "papers":
                return self._restore_papers(c, chunk)
            if table == "vectors":
                return self._restore_vectors(c, chunk)
            cols = ARCHIVE_COLUMNS[table]
            json_cols = ARCHIVE_JSON.get(table, frozenset())
            values = [[dumps(r.get(c)) if c in json_cols else r.get(c) for c in cols] for r in chunk]
            typed = _typed(table, cols)
            if table == "enrichments":  # the tag array beside the JSON
                typed.append(("tags", "text"))
                values = [[*v, list((r.get("data") or {}).get("tags") or [])]
                          for v, r in zip(values, chunk, strict=True)]
                return _insert_tags(c, typed, values)
            n = insert_many(c, table, typed, values)
            if table == "runs":  # restored ids must not be handed out again
                c.execute("SELECT setval(pg_get_serial_sequence('runs', 'id'), "
                          "greatest((SELECT max(id) FROM runs), 1))")
            return n

    def _restore_vectors(self, c: Any, chunk: list[dict[str, Any]]) -> int:
        have = {(m, p) for m, p in c.execute(
            "SELECT model, paper_id FROM vectors WHERE (model, paper_id) IN "
            "(SELECT * FROM unnest(%s::text[], %s::text[]))",
            ([r["model"] for r in chunk], [r["paper_id"] for r in chunk])).fetchall()}
        by_model: dict[str, list[tuple[str, str, np.ndarray]]] = {}
        for r in chunk:
            if (r["model"], r["paper_id"]) not in have:
                vec = np.frombuffer(r["vec"], dtype=np.float32) if isinstance(
                    r["vec"], bytes | bytearray | memoryview) else np.asarray(r["vec"], np.float32)
                by_model.setdefault(r["model"], []).append((r["paper_id"], r["text_hash"], vec))
        for model, items in by_model.items():
            self.put_vectors(model, items)  # type: ignore[attr-defined]
        return sum(len(v) for v in by_model.values())

    def _restore_papers(self, c: Any, chunk: list[dict[str, Any]]) -> int:
        ids = [r["id"] for r in chunk]
        have = {r[0] for r in c.execute("SELECT id FROM papers WHERE id = ANY(%s)", (ids,)).fetchall()}
        new = [r for r in chunk if r["id"] not in have]
        if not new:
            return 0
        # Values the caller validated (archive/ builds each row from a validated Paper).
        papers = [trusted_paper({**{col: r.get(col) for col in COLUMNS}, "sources": []}) for r in new]
        need_blocks = (any(not p.arxiv_id for p in papers)
                       or c.execute("SELECT 1 FROM title_blocks LIMIT 1").fetchone() is not None)
        values, blocks = [], []
        for p, r in zip(papers, new, strict=True):
            tk, bks = title_keys(p.title)
            values.append((*new_row(p, tk), r["created_at"], r["changed_at"]))
            blocks += [(b, p.id) for b in bks] if need_blocks else []
        copy_rows(c, "papers", ROW_COLUMNS, values)
        index_ids(c, [p.id for p in papers])
        insert_many(c, "title_blocks", [("key", "text"), ("paper_id", "text")], blocks)
        return len(new)


def _insert_tags(c: Any, typed: list[tuple[str, str]], values: list[list[Any]]) -> int:
    """Enrichments with their tag arrays (a text[] per row: not an unnest() column)."""
    names = ", ".join(n for n, _ in typed)
    marks = ", ".join("%s" for _ in typed)
    before = c.execute("SELECT count(*) FROM enrichments").fetchone()[0]
    with c.cursor() as cur:
        cur.executemany(f"INSERT INTO enrichments ({names}) VALUES ({marks}) "
                        "ON CONFLICT DO NOTHING", values)
    return int(c.execute("SELECT count(*) FROM enrichments").fetchone()[0] - before)
