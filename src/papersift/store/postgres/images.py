"""The papers' image metadata in PostgreSQL (the files themselves live in the data dir)."""

from __future__ import annotations

from collections.abc import Iterable

from ..base import ImageRecord
from ..rows import now
from .bulk import insert_many, last_per_key
from .core import PostgresBase

_COLS = [("paper_id", "text"), ("kind", "text"), ("file", "text"), ("bytes", "bigint"),
         ("width", "bigint"), ("height", "bigint"), ("hash", "text"), ("source_hash", "text"),
         ("source_url", "text"), ("caption", "text"), ("failure", "text"), ("retry", "boolean"),
         ("updated_at", "text")]
_NAMES = ", ".join(c for c, _ in _COLS)
_REPLACE = ("ON CONFLICT (paper_id, kind) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c, _ in _COLS[2:]))


class ImagesMixin(PostgresBase):
    def save_images(self, records: Iterable[ImageRecord]) -> None:
        at = now()
        rows = [(r.paper_id, r.kind, r.file, r.bytes, r.width, r.height, r.hash, r.source_hash,
                 r.source_url, r.caption, r.failure, bool(r.retry), at) for r in records]
        if not rows:
            return
        with self._tx() as c:
            insert_many(c, "paper_images", _COLS, last_per_key(rows, 2), _REPLACE)

    def get_images(self, ids: Iterable[str] | None = None) -> dict[str, dict[str, ImageRecord]]:
        if ids is None:
            rows = self._all(f"SELECT {_NAMES} FROM paper_images")
        else:
            want = list(ids)
            rows = self._all(f"SELECT {_NAMES} FROM paper_images WHERE paper_id = ANY(%s)",
                             (want,)) if want else []
        out: dict[str, dict[str, ImageRecord]] = {}
        for (pid, kind, file, size, w, h, hsh, src, url, cap, fail, retry, at) in rows:
            out.setdefault(pid, {})[kind] = ImageRecord(
                pid, kind, file, size, w, h, hsh, src, url, cap, fail, bool(retry), at)
        return out
