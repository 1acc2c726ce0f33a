"""The papers' image metadata in SQLite (the files themselves live in the data dir)."""

from __future__ import annotations

from collections.abc import Iterable

from ..base import ImageRecord
from ..rows import now
from .core import SQLiteBase, id_batches, qs

_COLS = ("paper_id, kind, file, bytes, width, height, hash, source_hash, source_url, caption, "
         "failure, retry, updated_at")


class ImagesMixin(SQLiteBase):
    def save_images(self, records: Iterable[ImageRecord]) -> None:
        at = now()
        rows = [(r.paper_id, r.kind, r.file, r.bytes, r.width, r.height, r.hash, r.source_hash,
                 r.source_url, r.caption, r.failure, int(r.retry), at) for r in records]
        if not rows:
            return
        with self._tx():
            self.conn.executemany(f"INSERT OR REPLACE INTO paper_images ({_COLS}) "
                                  f"VALUES ({qs(range(13))})", rows)

    def get_images(self, ids: Iterable[str] | None = None) -> dict[str, dict[str, ImageRecord]]:
        cur = self.conn.cursor()
        cur.row_factory = None
        if ids is None:
            rows = cur.execute(f"SELECT {_COLS} FROM paper_images").fetchall()
        else:
            rows = []
            for part, marks in id_batches(ids):
                rows += cur.execute(f"SELECT {_COLS} FROM paper_images WHERE paper_id IN ({marks})",
                                    part).fetchall()
        out: dict[str, dict[str, ImageRecord]] = {}
        for (pid, kind, file, size, w, h, hsh, src, url, cap, fail, retry, at) in rows:
            out.setdefault(pid, {})[kind] = ImageRecord(
                pid, kind, file, size, w, h, hsh, src, url, cap, fail, bool(retry), at)
        return out
