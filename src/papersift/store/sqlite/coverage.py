"""Coverage in SQLite: the sources' own counts per period, and per-day summaries of what the
stages did (papersift status)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..base import CoverageRow, DaySummary
from ..rows import now
from .core import SQLiteBase


class CoverageMixin(SQLiteBase):
    def record_coverage(self, source: str, period: str, expected: int | None, collected: int,
                        errors: int, run_id: int | None) -> None:
        with self._tx():
            self.conn.execute(
                "INSERT OR REPLACE INTO coverage (source, period, expected, collected, errors, "
                "run_id, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (source, period, expected, collected, errors, run_id, now()))

    def coverage(self, source: str | None = None) -> list[CoverageRow]:
        where, params = ("WHERE source = ?", [source]) if source else ("", [])
        rows = self.conn.execute(f"SELECT * FROM coverage {where} ORDER BY source, period",
                                 params).fetchall()
        return [CoverageRow(r["source"], r["period"], r["expected"], r["collected"],
                            r["errors"], r["run_id"], r["at"]) for r in rows]

    def day_summaries(self, since: dt.date | None = None, until: dt.date | None = None,
                      vector_model: str | None = None) -> list[DaySummary]:
        lo = since.isoformat() if since else "0000"
        hi = until.isoformat() if until else "9999"
        # A day's papers: dated on it, or listed on it by HF and not moved away since.
        members = ("WITH m(day, id) AS (SELECT day, id FROM papers WHERE day BETWEEN ?1 AND ?2 "
                   "UNION SELECT day, paper_id FROM day_papers WHERE moved_to IS NULL AND "
                   "day BETWEEN ?1 AND ?2) ")
        out: dict[str, DaySummary] = {}
        for d, n in self.conn.execute(members + "SELECT day, count(*) FROM m GROUP BY day",
                                      (lo, hi)):
            out[d] = DaySummary(dt.date.fromisoformat(d), n)

        def grouped(sql: str, *extra: Any) -> list[tuple[str, str, int]]:
            return self.conn.execute(members + sql, (lo, hi, *extra)).fetchall()

        for d, method, n in grouped("SELECT m.day, e.method, count(*) FROM m JOIN enrichments e "
                                    "ON e.paper_id = m.id GROUP BY 1, 2"):
            out[d].enriched[method] = n
        for d, reason, n in grouped("SELECT m.day, f.reason, count(*) FROM m JOIN enrich_failures f "
                                    "ON f.paper_id = m.id GROUP BY 1, 2"):
            out[d].failed[reason] = n
        for d, n in self.conn.execute(
                members + "SELECT m.day, count(DISTINCT i.paper_id) FROM m JOIN paper_images i "
                "ON i.paper_id = m.id AND i.file != '' GROUP BY 1", (lo, hi)):
            out[d].images = n
        for d, status, n in self.conn.execute(
                "SELECT day, status, count(*) FROM digest_sends WHERE day BETWEEN ? AND ? "
                "GROUP BY 1, 2", (lo, hi)):
            if d in out:
                if status == "sent":
                    out[d].sent += n
                else:
                    out[d].send_failed += n
        if vector_model:
            for d, n in self.conn.execute(
                    members + "SELECT m.day, count(*) FROM m JOIN vectors v ON v.paper_id = m.id "
                    "AND v.model = ?3 GROUP BY 1", (lo, hi, vector_model)):
                out[d].indexed = n
        return [out[k] for k in sorted(out)]
