"""Enrichments, their failures, daily readings and the LLM cache in SQLite."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from ...model import Enrichment, Reading
from ..rows import now
from .core import SQLiteBase, id_batches


class EnrichmentsMixin(SQLiteBase):
    def save_enrichment(self, e: Enrichment) -> None:
        with self._tx():
            self.conn.execute(
                "INSERT OR REPLACE INTO enrichments (paper_id, method, model, prompt_version, "
                "input_hash, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (e.paper_id, e.method, e.model, e.prompt_version, e.input_hash,
                 e.model_dump_json(), e.created_at.isoformat()))
            self.conn.execute("DELETE FROM enrich_failures WHERE paper_id = ?", (e.paper_id,))

    def get_enrichment(self, paper_id: str) -> Enrichment | None:
        return self.get_enrichments([paper_id]).get(paper_id)

    def get_enrichments(self, ids: Iterable[str]) -> dict[str, Enrichment]:
        out: dict[str, Enrichment] = {}
        for part, marks in id_batches(ids):
            for pid, data in self.conn.execute(
                    f"SELECT paper_id, data FROM enrichments WHERE paper_id IN ({marks})", part):
                out[pid] = Enrichment.model_validate_json(data)
        return out

    def record_failure(self, paper_id: str, reason: str) -> None:
        with self._tx():
            self.conn.execute(
                "INSERT INTO enrich_failures (paper_id, reason, at) VALUES (?, ?, ?) "
                "ON CONFLICT(paper_id) DO UPDATE SET reason = excluded.reason, "
                "attempts = attempts + 1, at = excluded.at", (paper_id, reason, now()))

    def failures(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT paper_id, reason FROM enrich_failures").fetchall())

    def save_reading(self, r: Reading) -> None:
        with self._tx():
            self.conn.execute("INSERT OR REPLACE INTO readings (day, data) VALUES (?, ?)",
                              (r.day.isoformat(), r.model_dump_json()))

    def get_reading(self, day: dt.date) -> Reading | None:
        row = self.conn.execute("SELECT data FROM readings WHERE day = ?",
                                (day.isoformat(),)).fetchone()
        return Reading.model_validate_json(row[0]) if row else None

    # -- key-value cache ------------------------------------------------------------------

    def cache_get(self, key: str) -> Any | None:
        row = self.conn.execute("SELECT value FROM llm_cache WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def cache_put(self, key: str, value: Any) -> None:
        with self._tx():
            self.conn.execute("INSERT OR REPLACE INTO llm_cache (key, value, created_at) "
                              "VALUES (?, ?, ?)", (key, json.dumps(value, ensure_ascii=False), now()))
