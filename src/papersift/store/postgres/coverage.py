"""Coverage in PostgreSQL: the sources' own counts per period, and per-day summaries of what
the stages did (papersift status)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..base import CoverageRow, DaySummary
from ..rows import now
from .core import PostgresBase


class CoverageMixin(PostgresBase):
    def record_coverage(self, source: str, period: str, expected: int | None, collected: int,
                        errors: int, run_id: int | None) -> None:
        with self._tx() as c:
            c.execute("INSERT INTO coverage (source, period, expected, collected, errors, run_id, "
                      "at) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (source, period) DO "
                      "UPDATE SET expected = excluded.expected, collected = excluded.collected, "
                      "errors = excluded.errors, run_id = excluded.run_id, at = excluded.at",
                      (source, period, expected, collected, errors, run_id, now()))

    def coverage(self, source: str | None = None) -> list[CoverageRow]:
        where, params = ("WHERE source = %s", [source]) if source else ("", [])
        rows = self._all("SELECT source, period, expected, collected, errors, run_id, at "
                         f"FROM coverage {where} ORDER BY source, period", params)
        return [CoverageRow(*r) for r in rows]

    def day_summaries(self, since: dt.date | None = None, until: dt.date | None = None,
                      vector_model: str | None = None) -> list[DaySummary]:
        lo = since.isoformat() if since else "0000"
        hi = until.isoformat() if until else "9999"
        # A day's papers: dated on it, or listed on it by HF and not moved away since.
        members = ("WITH m(day, id) AS (SELECT day, id FROM papers WHERE day BETWEEN %(lo)s AND "
                   "%(hi)s UNION SELECT day, paper_id FROM day_papers WHERE moved_to IS NULL AND "
                   "day BETWEEN %(lo)s AND %(hi)s) ")
        p: dict[str, Any] = {"lo": lo, "hi": hi, "model": vector_model}
        out: dict[str, DaySummary] = {}
        for d, n in self._all(members + "SELECT day, count(*) FROM m GROUP BY day", p):
            out[d] = DaySummary(dt.date.fromisoformat(d), int(n))
        for d, method, n in self._all(members + "SELECT m.day, e.method, count(*) FROM m JOIN "
                                      "enrichments e ON e.paper_id = m.id GROUP BY 1, 2", p):
            out[d].enriched[method] = int(n)
        for d, reason, n in self._all(members + "SELECT m.day, f.reason, count(*) FROM m JOIN "
                                      "enrich_failures f ON f.paper_id = m.id GROUP BY 1, 2", p):
            out[d].failed[reason] = int(n)
        for d, n in self._all(members + "SELECT m.day, count(DISTINCT i.paper_id) FROM m JOIN "
                              "paper_images i ON i.paper_id = m.id AND i.file <> '' GROUP BY 1", p):
            out[d].images = int(n)
        for d, status, n in self._all("SELECT day, status, count(*) FROM digest_sends WHERE day "
                                      "BETWEEN %(lo)s AND %(hi)s GROUP BY 1, 2", p):
            if d in out:
                if status == "sent":
                    out[d].sent += int(n)
                else:
                    out[d].send_failed += int(n)
        if vector_model:
            for d, n in self._all(members + "SELECT m.day, count(*) FROM m JOIN vectors v ON "
                                  "v.paper_id = m.id AND v.model = %(model)s GROUP BY 1", p):
                out[d].indexed = int(n)
        return [out[k] for k in sorted(out)]
