"""What site/ reads from PostgreSQL to build the static site."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

from ...model import Paper
from .core import PostgresBase

_PUBLISH_SELECT = (  # base.PUBLISH_COLUMNS, in order
    "p.id, p.arxiv_id, p.title, p.abstract, p.authors, p.affiliations, p.published, "
    "p.hf_date, p.upvotes, p.github_repo, p.github_stars, p.project_page, "
    "p.organization, p.categories, p.ai_summary, p.links, p.num_authors, "
    "p.created_at, p.changed_at, e.data, e.created_at, l.hf_models, l.hf_datasets, l.hf_spaces")
_PUBLISH_FROM = ("papers p LEFT JOIN enrichments e ON e.paper_id = p.id "
                 "LEFT JOIN paper_links l ON l.paper_id = p.id")


class PublishMixin(PostgresBase):
    def day_members(self) -> list[tuple[str, str, str | None]]:
        """Every HF day listing as (day, paper_id, moved_to)."""
        return [(r[0], r[1], r[2]) for r in self._all(
            "SELECT day, paper_id, moved_to FROM day_papers ORDER BY day, rank NULLS FIRST")]

    def touched_since(self, since: str) -> set[str]:
        """Ids whose row, enrichment, day listing or images changed at or after an ISO timestamp."""
        return {r[0] for r in self._all(
            "SELECT id FROM papers WHERE changed_at >= %(s)s "
            "UNION SELECT paper_id FROM enrichments WHERE created_at >= %(s)s "
            "UNION SELECT paper_id FROM day_papers WHERE first_seen >= %(s)s "
            "UNION SELECT paper_id FROM paper_images WHERE updated_at >= %(s)s", {"s": since})}

    def tag_members(self, tags: Iterable[str] | None = None,
                    limit: int | None = None) -> dict[str, list[str]]:
        """tag -> ids of enriched papers carrying it, newest day first, at most `limit` each."""
        where, params = "", []
        if tags is not None:
            want = list(tags)
            if not want:
                return {}
            where, params = "WHERE e.tags && %s::text[] AND j.tag = ANY(%s::text[])", [want, want]
        q = ("SELECT j.tag, e.paper_id AS pid, row_number() OVER (PARTITION BY j.tag "
             "ORDER BY p.day DESC NULLS LAST, coalesce(p.upvotes, 0) DESC, p.id) AS n "
             "FROM enrichments e CROSS JOIN LATERAL unnest(e.tags) AS j(tag) "
             f"JOIN papers p ON p.id = e.paper_id {where}")
        if limit is not None:
            q = f"SELECT tag, pid, n FROM ({q}) x WHERE n <= {int(limit)}"
        out: dict[str, list[str]] = {}
        for tag, pid, _ in self._all(f'{q} ORDER BY tag COLLATE "C", n', params):
            out.setdefault(tag, []).append(pid)
        return out

    def tag_counts(self) -> dict[str, int]:
        """tag -> number of enriched papers carrying it."""
        return {t: int(n) for t, n in self._all(
            "SELECT j.tag, count(*) FROM enrichments e CROSS JOIN LATERAL unnest(e.tags) AS j(tag) "
            "GROUP BY j.tag")}

    def top_between(self, start: dt.date, end: dt.date, limit: int) -> list[Paper]:
        """The most upvoted papers whose day falls in [start, end], each once."""
        return self._fetch("p.day BETWEEN %s AND %s ORDER BY coalesce(p.upvotes, 0) DESC, "
                           "p.published DESC NULLS LAST, p.id LIMIT %s",
                           (start.isoformat(), end.isoformat(), limit))

    def reading_hashes(self) -> dict[str, str]:
        """day -> digest of its stored reading (tells a build which reading pages changed)."""
        return {d: hashlib.sha1(data.encode("utf-8")).hexdigest()[:12]
                for d, data in self._all("SELECT day, data FROM readings")}

    def publish_rows(self, ids: Iterable[str] | None = None,
                     batch: int = 5000) -> Iterator[tuple[Any, ...]]:
        """Raw rows for the site build (base.PUBLISH_COLUMNS, JSON fields as stored text),
        no model validation. All papers in insertion order when `ids` is None."""
        if ids is None:
            last = 0
            while True:
                rows = self._all(f"SELECT p.seq, {_PUBLISH_SELECT} FROM {_PUBLISH_FROM} "
                                 "WHERE p.seq > %s ORDER BY p.seq LIMIT %s", (last, batch))
                if not rows:
                    return
                last = rows[-1][0]
                for r in rows:
                    yield tuple(r[1:])
        want = list(ids)
        for i in range(0, len(want), batch):
            yield from self._all(f"SELECT {_PUBLISH_SELECT} FROM {_PUBLISH_FROM} "
                                 "WHERE p.id = ANY(%s)", (want[i:i + batch],))
