"""Embedding vectors in SQLite: float32 blobs per (model, paper)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .core import SQLiteBase, id_batches


class VectorsMixin(SQLiteBase):
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

    def get_vectors(self, model: str, ids: Iterable[str]) -> tuple[list[str], np.ndarray]:
        rows: list[Any] = []
        for part, marks in id_batches(sorted(set(ids))):
            rows += self.conn.execute(
                f"SELECT paper_id, vec FROM vectors WHERE model = ? AND paper_id IN ({marks})",
                [model, *part]).fetchall()
        if not rows:
            return [], np.zeros((0, 0), dtype=np.float32)
        rows.sort(key=lambda r: r[0])
        mat = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
        return [r[0] for r in rows], mat

    def vector_hashes(self, model: str) -> dict[str, str]:
        return dict(self.conn.execute(
            "SELECT paper_id, text_hash FROM vectors WHERE model = ?", (model,)).fetchall())

    def delete_vectors(self, model: str, ids: Iterable[str]) -> None:
        with self._tx():
            for part, marks in id_batches(ids):
                self.conn.execute(f"DELETE FROM vectors WHERE model = ? AND paper_id IN ({marks})",
                                  [model, *part])
