"""HF Daily Papers days in SQLite: membership that merges and never shrinks."""

from __future__ import annotations

import datetime as dt

from ...model import Paper
from ..base import DayStats
from ..rows import now
from .core import SQLiteBase


class DaysMixin(SQLiteBase):
    def record_day(self, day: dt.date, paper_ids: list[str], source: str) -> DayStats:
        """Record that HF listed these papers on `day`. Days merge, never shrink; a paper
        that appears on a new day is marked as moved on its old one."""
        stats = DayStats()
        d = day.isoformat()
        ts = now()
        with self._tx():
            existing = {r[0] for r in self.conn.execute(
                "SELECT paper_id FROM day_papers WHERE day = ?", (d,))}
            for rank, pid in enumerate(paper_ids):
                if pid in existing:
                    stats.kept += 1
                    self.conn.execute("UPDATE day_papers SET moved_to = NULL "
                                      "WHERE day = ? AND paper_id = ?", (d, pid))
                    continue
                for (other,) in self.conn.execute(
                        "SELECT day FROM day_papers WHERE paper_id = ? AND day != ? "
                        "AND moved_to IS NULL", (pid, d)).fetchall():
                    self.conn.execute("UPDATE day_papers SET moved_to = ? WHERE day = ? "
                                      "AND paper_id = ?", (d, other, pid))
                    stats.moved.append((pid, other))
                self.conn.execute(
                    "INSERT INTO day_papers (day, paper_id, source, rank, first_seen) "
                    "VALUES (?, ?, ?, ?, ?)", (d, pid, source, rank, ts))
                stats.added += 1
        return stats

    def days(self) -> list[tuple[dt.date, int]]:
        # Same counts as a UNION of (day, id) pairs, but papers are counted on the day index
        # and only listings not already counted there are added (20x faster at 89k papers).
        rows = self.conn.execute(
            "SELECT day, sum(n) FROM (SELECT day, count(*) AS n FROM papers WHERE day IS NOT NULL "
            "GROUP BY day UNION ALL SELECT dp.day, count(*) FROM day_papers dp WHERE NOT EXISTS "
            "(SELECT 1 FROM papers p WHERE p.id = dp.paper_id AND p.day = dp.day) GROUP BY dp.day) "
            "GROUP BY day ORDER BY day").fetchall()
        return [(dt.date.fromisoformat(d), n) for d, n in rows]

    def papers_for_day(self, day: dt.date) -> list[Paper]:
        d = day.isoformat()
        return self._fetch(
            "day = ? OR id IN (SELECT paper_id FROM day_papers WHERE day = ?) "
            "ORDER BY coalesce(upvotes, 0) DESC, id", [d, d])

    def moved_papers(self, day: dt.date) -> dict[str, str]:
        """paper id -> the day HF moved it to, for papers that left `day`."""
        return dict(self.conn.execute(
            "SELECT paper_id, moved_to FROM day_papers WHERE day = ? AND moved_to IS NOT NULL",
            (day.isoformat(),)).fetchall())

    def papers_between(self, start: dt.date, end: dt.date) -> list[Paper]:
        return self._fetch("day BETWEEN ? AND ? ORDER BY coalesce(upvotes, 0) DESC, id",
                           [start.isoformat(), end.isoformat()])
