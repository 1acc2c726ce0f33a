"""Embedding vectors in PostgreSQL: pgvector values per (model, paper), with an HNSW index
(cosine) per model.

The column has no dimension (models differ), so each model's index is a partial index on
the vector cast to that model's dimension, made when the model's first vectors are stored
(pgvector's way to index mixed dimensions). Vectors of another dimension under the same
model drop its index: a model whose vectors disagree is not searched by index.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import numpy as np

from .core import PostgresBase

HNSW_MAX_DIMS = 2000  # pgvector indexes `vector` values of at most this many dimensions


def as_array(v: Any) -> np.ndarray:
    """A vector as read: pgvector's binary loader gives a Vector, the text loader an array."""
    return np.asarray(v.to_numpy() if hasattr(v, "to_numpy") else v, dtype=np.float32)


def _matrix(rows: list[tuple[Any, ...]]) -> tuple[list[str], np.ndarray]:
    if not rows:
        return [], np.zeros((0, 0), dtype=np.float32)
    return [r[0] for r in rows], np.vstack([as_array(r[1]) for r in rows])


def index_name(model: str) -> str:
    return "vectors_hnsw_" + hashlib.sha1(model.encode("utf-8")).hexdigest()[:12]


class VectorsMixin(PostgresBase):
    def put_vectors(self, model: str, items: list[tuple[str, str, np.ndarray]]) -> None:
        if not items:
            return
        # The last vector of a paper wins, as with SQLite's INSERT OR REPLACE.
        last = {pid: (pid, model, h, np.asarray(v, dtype=np.float32)) for pid, h, v in items}
        rows = list(last.values())
        dims = {len(r[3]) for r in rows}
        with self._tx() as c:
            self._index_for(c, model, dims)
            with c.cursor() as cur:
                cur.execute("CREATE TEMP TABLE IF NOT EXISTS vectors_in (paper_id text, "
                            "model text, text_hash text, vec vector) ON COMMIT DELETE ROWS")
                with cur.copy("COPY vectors_in (paper_id, model, text_hash, vec) FROM STDIN "
                              "WITH (FORMAT BINARY)") as cp:
                    cp.set_types(["text", "text", "text", "vector"])
                    for r in rows:
                        cp.write_row(r)
                cur.execute("INSERT INTO vectors (paper_id, model, text_hash, vec) SELECT paper_id, "
                            "model, text_hash, vec FROM vectors_in ON CONFLICT (model, paper_id) "
                            "DO UPDATE SET text_hash = excluded.text_hash, vec = excluded.vec")
                cur.execute("TRUNCATE vectors_in")

    def _index_for(self, c: Any, model: str, dims: set[int]) -> None:
        """Make sure `model` has its HNSW index (or none, when its dimensions disagree)."""
        c.execute("SELECT pg_advisory_xact_lock(hashtext('papersift-vectors:' || %s))", (model,))
        row = c.execute("SELECT dims FROM vector_indexes WHERE model = %s", (model,)).fetchone()
        have = row[0] if row else None
        want = next(iter(dims)) if len(dims) == 1 else -1
        if have is not None and (have == want or have == -1):
            return
        name = index_name(model)
        if have is not None:  # another dimension: no index for this model any more
            c.execute(f"DROP INDEX IF EXISTS {name}")
            want = -1
        index = None
        if 0 < want <= HNSW_MAX_DIMS:
            from psycopg import sql

            c.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON vectors USING hnsw "
                              "((vec::vector({})) vector_cosine_ops) WHERE model = {}").format(
                sql.Identifier(name), sql.Literal(want), sql.Literal(model)))
            index = name
        c.execute("INSERT INTO vector_indexes (model, dims, index_name) VALUES (%s, %s, %s) "
                  "ON CONFLICT (model) DO UPDATE SET dims = excluded.dims, "
                  "index_name = excluded.index_name", (model, want, index))

    def load_vectors(self, model: str) -> tuple[list[str], np.ndarray]:
        return _matrix(self._vec_rows("SELECT paper_id, vec FROM vectors WHERE model = %s "
                                      "ORDER BY paper_id", (model,)))

    def get_vectors(self, model: str, ids: Iterable[str]) -> tuple[list[str], np.ndarray]:
        want = sorted(set(ids))
        if not want:
            return _matrix([])
        return _matrix(self._vec_rows("SELECT paper_id, vec FROM vectors WHERE model = %s AND "
                                      "paper_id = ANY(%s) ORDER BY paper_id", (model, want)))

    def _vec_rows(self, query: str, params: Any) -> list[tuple[Any, ...]]:
        with self._conn() as c, c.cursor(binary=True) as cur:
            # binary: vectors arrive as float32 arrays, not text to parse
            return list(cur.execute(query, params).fetchall())

    def vector_hashes(self, model: str) -> dict[str, str]:
        return dict(self._all("SELECT paper_id, text_hash FROM vectors WHERE model = %s", (model,)))

    def delete_vectors(self, model: str, ids: Iterable[str]) -> None:
        ids = list(ids)
        if not ids:
            return
        with self._tx() as c:
            c.execute("DELETE FROM vectors WHERE model = %s AND paper_id = ANY(%s)", (model, ids))

    def vectors_for(self, model: str, ids: Iterable[str]) -> dict[str, np.ndarray]:
        ids = list(ids)
        if not ids:
            return {}
        rows = self._vec_rows("SELECT paper_id, vec FROM vectors WHERE model = %s AND "
                              "paper_id = ANY(%s)", (model, ids))
        return {pid: as_array(v) for pid, v in rows}
