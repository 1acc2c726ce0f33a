"""What site/ reads from SQLite to build the static site."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

from ...model import Paper
from .core import SQLiteBase, id_batches, qs

_PUBLISH_SELECT = (  # base.PUBLISH_COLUMNS, in order
    "p.id, p.arxiv_id, p.title, p.abstract, p.authors, p.affiliations, p.published, "
    "p.hf_date, p.upvotes, p.github_repo, p.github_stars, p.project_page, "
    "p.organization, p.categories, p.ai_summary, p.links, p.num_authors, "
    "p.created_at, p.changed_at, e.data, e.created_at, l.hf_models, l.hf_datasets, l.hf_spaces")
_PUBLISH_FROM = ("papers p LEFT JOIN enrichments e ON e.paper_id = p.id "
                 "LEFT JOIN paper_links l ON l.paper_id = p.id")


class PublishMixin(SQLiteBase):
    def day_members(self) -> list[tuple[str, str, str | None]]:
        """Every HF day listing as (day, paper_id, moved_to)."""
        return [(r[0], r[1], r[2]) for r in self.conn.execute(
            "SELECT day, paper_id, moved_to FROM day_papers ORDER BY day, rank")]

    def touched_since(self, since: str) -> set[str]:
        """Ids whose row, enrichment, day listing or images changed at or after an ISO timestamp."""
        rows = self.conn.execute(
            "SELECT id FROM papers WHERE changed_at >= ?1 "
            "UNION SELECT paper_id FROM enrichments WHERE created_at >= ?1 "
            "UNION SELECT paper_id FROM day_papers WHERE first_seen >= ?1 "
            "UNION SELECT paper_id FROM paper_images WHERE updated_at >= ?1", (since,))
        return {r[0] for r in rows}

    def tag_members(self, tags: Iterable[str] | None = None,
                    limit: int | None = None) -> dict[str, list[str]]:
        """tag -> ids of enriched papers carrying it, newest day first, at most `limit` each."""
        where, params = "", []
        if tags is not None:
            params = list(tags)
            if not params:
                return {}
            where = f"WHERE j.value IN ({qs(params)})"
        sql = ("SELECT j.value AS tag, e.paper_id AS pid, ROW_NUMBER() OVER (PARTITION BY j.value "
               "ORDER BY p.day DESC, coalesce(p.upvotes, 0) DESC, p.id) AS n "
               "FROM enrichments e, json_each(e.data, '$.tags') j "
               f"JOIN papers p ON p.id = e.paper_id {where}")
        if limit is not None:
            sql = f"SELECT tag, pid, n FROM ({sql}) WHERE n <= {int(limit)}"
        out: dict[str, list[str]] = {}
        for tag, pid, _ in self.conn.execute(sql + " ORDER BY 1, 3", params):
            out.setdefault(tag, []).append(pid)
        return out

    def tag_counts(self) -> dict[str, int]:
        """tag -> number of enriched papers carrying it."""
        return dict(self.conn.execute(
            "SELECT j.value, count(*) FROM enrichments e, json_each(e.data, '$.tags') j "
            "GROUP BY j.value").fetchall())

    def top_between(self, start: dt.date, end: dt.date, limit: int) -> list[Paper]:
        """The most upvoted papers whose day falls in [start, end], each once."""
        return self._fetch("day BETWEEN ? AND ? ORDER BY coalesce(upvotes, 0) DESC, "
                           "published DESC, id LIMIT ?", [start.isoformat(), end.isoformat(), limit])

    def reading_hashes(self) -> dict[str, str]:
        """day -> digest of its stored reading (tells a build which reading pages changed)."""
        return {d: hashlib.sha1(data.encode("utf-8")).hexdigest()[:12]
                for d, data in self.conn.execute("SELECT day, data FROM readings")}

    def publish_rows(self, ids: Iterable[str] | None = None,
                     batch: int = 5000) -> Iterator[tuple[Any, ...]]:
        """Raw rows for the site build (base.PUBLISH_COLUMNS, JSON fields as stored text):
        papers joined with their enrichment, no model validation (rows were validated on
        the way in). All papers in insertion order when `ids` is None."""
        cols = _PUBLISH_SELECT
        base = f"SELECT {cols} FROM {_PUBLISH_FROM}"
        cur = self.conn.cursor()
        cur.row_factory = None  # plain tuples: sqlite3.Row costs more than the query here
        if ids is None:
            last = 0
            while True:
                rows = cur.execute(f"SELECT p.rowid, {cols} FROM {_PUBLISH_FROM} "
                                   "WHERE p.rowid > ? ORDER BY p.rowid LIMIT ?",
                                   (last, batch)).fetchall()
                if not rows:
                    return
                last = rows[-1][0]
                for r in rows:
                    yield r[1:]
        for part, marks in id_batches(ids):
            yield from cur.execute(f"{base} WHERE p.id IN ({marks})", part).fetchall()
