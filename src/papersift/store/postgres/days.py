"""HF Daily Papers days in PostgreSQL: membership that merges and never shrinks."""

from __future__ import annotations

import datetime as dt

from ...model import Paper
from ..base import DayStats
from ..rows import now
from .core import PostgresBase


class DaysMixin(PostgresBase):
    def record_day(self, day: dt.date, paper_ids: list[str], source: str) -> DayStats:
        """Record that HF listed these papers on `day`. Days merge, never shrink; a paper
        that appears on a new day is marked as moved on its old one."""
        stats = DayStats()
        d = day.isoformat()
        ts = now()
        with self._tx() as c:
            # Listings of one day are written one writer at a time: two collectors of the
            # same day would otherwise both see a paper as new on it.
            c.execute("SELECT pg_advisory_xact_lock(hashtext('papersift-day:' || %s))", (d,))
            existing = {r[0] for r in c.execute(
                "SELECT paper_id FROM day_papers WHERE day = %s", (d,)).fetchall()}
            for rank, pid in enumerate(paper_ids):
                if pid in existing:
                    stats.kept += 1
                    c.execute("UPDATE day_papers SET moved_to = NULL WHERE day = %s AND "
                              "paper_id = %s AND moved_to IS NOT NULL", (d, pid))
                    continue
                for (other,) in c.execute(
                        "UPDATE day_papers SET moved_to = %s WHERE paper_id = %s AND day <> %s "
                        "AND moved_to IS NULL RETURNING day", (d, pid, d)).fetchall():
                    stats.moved.append((pid, other))
                c.execute("INSERT INTO day_papers (day, paper_id, source, rank, first_seen) "
                          "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                          (d, pid, source, rank, ts))
                existing.add(pid)
                stats.added += 1
        return stats

    def days(self) -> list[tuple[dt.date, int]]:
        rows = self._all(
            "SELECT day, sum(n) FROM (SELECT day, count(*) AS n FROM papers WHERE day IS NOT NULL "
            "GROUP BY day UNION ALL SELECT dp.day, count(*) FROM day_papers dp WHERE NOT EXISTS "
            "(SELECT 1 FROM papers p WHERE p.id = dp.paper_id AND p.day = dp.day) GROUP BY dp.day) "
            "x GROUP BY day ORDER BY day")
        return [(dt.date.fromisoformat(d), int(n)) for d, n in rows]

    def papers_for_day(self, day: dt.date) -> list[Paper]:
        d = day.isoformat()
        return self._fetch("p.day = %s OR p.id IN (SELECT paper_id FROM day_papers WHERE day = %s) "
                           "ORDER BY coalesce(p.upvotes, 0) DESC, p.id", (d, d))

    def moved_papers(self, day: dt.date) -> dict[str, str]:
        """paper id -> the day HF moved it to, for papers that left `day`."""
        return dict(self._all("SELECT paper_id, moved_to FROM day_papers WHERE day = %s AND "
                              "moved_to IS NOT NULL", (day.isoformat(),)))

    def papers_between(self, start: dt.date, end: dt.date) -> list[Paper]:
        return self._fetch("p.day BETWEEN %s AND %s ORDER BY coalesce(p.upvotes, 0) DESC, p.id",
                           (start.isoformat(), end.isoformat()))
