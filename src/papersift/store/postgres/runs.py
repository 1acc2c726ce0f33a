"""The run log, meta values and the import ledger in PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ...model import RunRecord
from ..rows import now
from .core import PostgresBase


class RunsMixin(PostgresBase):
    def start_run(self, kind: str, params: dict[str, Any]) -> int:
        with self._tx() as c:
            row = c.execute("INSERT INTO runs (kind, started_at, params) VALUES (%s, %s, %s) "
                            "RETURNING id", (kind, now(), json.dumps(params, default=str))).fetchone()
            return int(row[0])

    def finish_run(self, run_id: int, counts: dict[str, Any], errors: list[str],
                   status: str = "ok") -> None:
        with self._tx() as c:
            c.execute("UPDATE runs SET finished_at = %s, counts = %s, errors = %s, status = %s "
                      "WHERE id = %s", (now(), json.dumps(counts, default=str),
                                        json.dumps(errors[:1000]), status, run_id))

    def recent_runs(self, limit: int = 20) -> list[RunRecord]:
        rows = self._all("SELECT id, kind, started_at, finished_at, status, params, counts, errors "
                         "FROM runs ORDER BY id DESC LIMIT %s", (limit,))
        return [RunRecord(id=r[0], kind=r[1], started_at=r[2], finished_at=r[3], status=r[4],
                          params=json.loads(r[5]), counts=json.loads(r[6]),
                          errors=json.loads(r[7])) for r in rows]

    def get_meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = %s", (key,))
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as c:
            c.execute("INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT (key) "
                      "DO UPDATE SET value = excluded.value", (key, value))

    # -- import fingerprints (ingest.py) --------------------------------------------------

    def seen_records(self, fps: list[int]) -> set[int]:
        """Those of `fps` (fingerprints of raw archive records) imported before (committed).
        Asked from an import's reader thread: a pooled connection, never the writer's."""
        if not fps:
            return set()
        with self.pool.connection() as c, c.cursor(binary=True) as cur:
            # Binary both ways and one array back: this runs once per 2,000 records of a
            # re-import, whose time is mostly these calls.
            row = cur.execute("SELECT array_agg(fp) FROM import_seen WHERE fp = ANY(%b::bigint[])",
                              (fps,)).fetchone()
            return set(row[0]) if row and row[0] else set()

    def mark_records(self, fps: Iterable[int]) -> None:
        """Remember raw records that are now stored (a re-import skips them)."""
        with self._tx() as c:
            c.execute("INSERT INTO import_seen (fp) SELECT unnest(%s::bigint[]) ORDER BY 1 "
                      "ON CONFLICT DO NOTHING", (sorted(set(fps)),))
