"""The run log, meta values and the import ledger in SQLite."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from ...model import RunRecord
from ..rows import now
from .bulk import insert_rows
from .core import SQLiteBase, qs


class RunsMixin(SQLiteBase):
    def start_run(self, kind: str, params: dict[str, Any]) -> int:
        with self._tx():
            cur = self.conn.execute("INSERT INTO runs (kind, started_at, params) VALUES (?, ?, ?)",
                                    (kind, now(), json.dumps(params, default=str)))
            return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, counts: dict[str, Any], errors: list[str],
                   status: str = "ok") -> None:
        with self._tx():
            self.conn.execute(
                "UPDATE runs SET finished_at = ?, counts = ?, errors = ?, status = ? WHERE id = ?",
                (now(), json.dumps(counts, default=str), json.dumps(errors[:1000]), status, run_id))

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

    # -- import fingerprints (ingest.py) --------------------------------------------------

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
                    f"SELECT fp FROM import_seen WHERE fp IN ({qs(part)})", part))
        return out

    def mark_records(self, fps: Iterable[int]) -> None:
        """Remember raw records that are now stored (a re-import skips them)."""
        with self._tx():
            # In key order: the b-tree is then filled page by page, not at random places.
            insert_rows(self.conn, "INSERT OR IGNORE INTO import_seen (fp)",
                        [(f,) for f in sorted(set(fps))])
