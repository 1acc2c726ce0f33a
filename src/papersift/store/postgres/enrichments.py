"""Enrichments, their failures, daily readings and the LLM cache in PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from ...model import Enrichment, Reading
from ..rows import now
from .core import PostgresBase


class EnrichmentsMixin(PostgresBase):
    def save_enrichment(self, e: Enrichment) -> None:
        with self._tx() as c:
            c.execute(
                "INSERT INTO enrichments (paper_id, method, model, prompt_version, input_hash, "
                "data, created_at, tags) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (paper_id) DO UPDATE SET method = excluded.method, "
                "model = excluded.model, prompt_version = excluded.prompt_version, "
                "input_hash = excluded.input_hash, data = excluded.data, "
                "created_at = excluded.created_at, tags = excluded.tags",
                (e.paper_id, e.method, e.model, e.prompt_version, e.input_hash,
                 e.model_dump_json(), e.created_at.isoformat(), list(e.tags)))
            c.execute("DELETE FROM enrich_failures WHERE paper_id = %s", (e.paper_id,))

    def get_enrichment(self, paper_id: str) -> Enrichment | None:
        return self.get_enrichments([paper_id]).get(paper_id)

    def get_enrichments(self, ids: Iterable[str]) -> dict[str, Enrichment]:
        ids = list(ids)
        if not ids:
            return {}
        return {pid: Enrichment.model_validate_json(data) for pid, data in self._all(
            "SELECT paper_id, data FROM enrichments WHERE paper_id = ANY(%s)", (ids,))}

    def record_failure(self, paper_id: str, reason: str) -> None:
        with self._tx() as c:
            c.execute("INSERT INTO enrich_failures (paper_id, reason, at) VALUES (%s, %s, %s) "
                      "ON CONFLICT (paper_id) DO UPDATE SET reason = excluded.reason, "
                      "attempts = enrich_failures.attempts + 1, at = excluded.at",
                      (paper_id, reason, now()))

    def failures(self) -> dict[str, str]:
        return dict(self._all("SELECT paper_id, reason FROM enrich_failures"))

    def save_reading(self, r: Reading) -> None:
        with self._tx() as c:
            c.execute("INSERT INTO readings (day, data) VALUES (%s, %s) ON CONFLICT (day) "
                      "DO UPDATE SET data = excluded.data", (r.day.isoformat(), r.model_dump_json()))

    def get_reading(self, day: dt.date) -> Reading | None:
        row = self._one("SELECT data FROM readings WHERE day = %s", (day.isoformat(),))
        return Reading.model_validate_json(row[0]) if row else None

    # -- key-value cache ------------------------------------------------------------------

    def cache_get(self, key: str) -> Any | None:
        row = self._one("SELECT value FROM llm_cache WHERE key = %s", (key,))
        return json.loads(row[0]) if row else None

    def cache_put(self, key: str, value: Any) -> None:
        with self._tx() as c:
            c.execute("INSERT INTO llm_cache (key, value, created_at) VALUES (%s, %s, %s) "
                      "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
                      "created_at = excluded.created_at",
                      (key, json.dumps(value, ensure_ascii=False), now()))
