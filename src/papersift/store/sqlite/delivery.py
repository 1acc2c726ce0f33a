"""What profiles and digests need from SQLite: library lookups, a few papers' vectors and
the digest send log."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable

import numpy as np

from ..base import SendRecord
from ..rows import now
from .core import SQLiteBase, id_batches


class DeliveryMixin(SQLiteBase):
    def ids_by_doi(self, dois: Iterable[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for part, marks in id_batches(sorted({d.strip().lower() for d in dois if d.strip()})):
            out.update((r[0], r[1]) for r in self.conn.execute(
                f"SELECT lower(doi), id FROM papers WHERE lower(doi) IN ({marks}) AND doi IS NOT NULL "
                "ORDER BY id", part))
        return out

    def ids_by_title_key(self, keys: Iterable[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for part, marks in id_batches(sorted({k for k in keys if k})):
            # Several papers may share a title key: the smallest id wins, every time.
            out.update((r[0], r[1]) for r in self.conn.execute(
                f"SELECT title_key, min(id) FROM papers WHERE title_key IN ({marks}) "
                "GROUP BY title_key", part))
        return out

    def vectors_for(self, model: str, ids: Iterable[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for part, marks in id_batches(ids):
            for pid, blob in self.conn.execute(
                    f"SELECT paper_id, vec FROM vectors WHERE model = ? AND paper_id IN ({marks})",
                    [model, *part]):
                out[pid] = np.frombuffer(blob, dtype=np.float32)
        return out

    # -- the digest send log ---------------------------------------------------------------

    def sends_for(self, day: dt.date) -> dict[tuple[str, str], SendRecord]:
        rows = self.conn.execute(
            "SELECT profile, day, channel, status, attempts, parts, reason, at FROM digest_sends "
            "WHERE day = ?", (day.isoformat(),)).fetchall()
        return {(r["profile"], r["channel"]): _record(r) for r in rows}

    def record_send(self, rec: SendRecord) -> None:
        with self._tx():
            self.conn.execute(
                "INSERT OR REPLACE INTO digest_sends (profile, day, channel, status, attempts, "
                "parts, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (rec.profile, rec.day.isoformat(), rec.channel, rec.status, rec.attempts,
                 rec.parts, rec.reason, rec.at or now()))

    def recent_sends(self, limit: int = 50) -> list[SendRecord]:
        rows = self.conn.execute(
            "SELECT profile, day, channel, status, attempts, parts, reason, at FROM digest_sends "
            "ORDER BY at DESC, day DESC, profile, channel LIMIT ?", (limit,)).fetchall()
        return [_record(r) for r in rows]


def _record(r: sqlite3.Row) -> SendRecord:
    return SendRecord(profile=r["profile"], day=dt.date.fromisoformat(r["day"]), channel=r["channel"],
                      status="sent" if r["status"] == "sent" else "failed", attempts=r["attempts"],
                      parts=r["parts"], reason=r["reason"], at=r["at"])
