"""What search/ reads from PostgreSQL: filters, full-text matches, browsing, facets, versions.

A parsed query (LexicalQuery) becomes tsquery calls here and nowhere else. Every word the
user typed goes in as a bound parameter of phraseto_tsquery/plainto_tsquery, which read
text, never query syntax.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Literal, overload

from ..base import LexicalQuery, SearchFilters
from .core import PostgresBase

# Only p.* columns and indexed side tables: a filter never scans JSON text of enrichments.
_TAGS_ANY = "p.id IN (SELECT e.paper_id FROM enrichments e WHERE e.tags && %s::text[])"
_TAGS_ALL = "p.id IN (SELECT e.paper_id FROM enrichments e WHERE e.tags @> %s::text[])"
_SOURCES = "p.id IN (SELECT paper_id FROM paper_sources WHERE source = ANY(%s))"
_CATEGORIES = "p.categories::jsonb ?| %s::text[]"


def tsquery_where(q: LexicalQuery) -> tuple[str, list[Any]] | None:
    """SQL condition on `paper_fts f` joined with `papers p` for a parsed query, or None when there is nothing to match.

    Phrases and author terms must match; free words are OR-ed, and only filter when there
    is nothing required (as in SQLite's fts5_match: there they add to the score)."""
    required: list[str] = []
    params: list[Any] = []
    for ph in q.phrases:
        required.append("f.tsv @@ phraseto_tsquery('papersift', %s)")
        params.append(" ".join(ph))
    for a in q.authors:
        # Words AND-ed, not a phrase ("Hinton, Geoffrey" as often as "Geoffrey Hinton"), and
        # in the authors only: the index finds candidates, the authors text confirms.
        required.append("(f.tsv @@ plainto_tsquery('simple', %s) AND "
                        "to_tsvector('simple', p.authors) @@ plainto_tsquery('simple', %s))")
        params += [" ".join(a)] * 2
    if required:
        return " AND ".join(required), params
    if not q.terms:
        return None
    # A free word is a phrase of its tokens (FTS5 reads a quoted token the same way).
    ors = " || ".join("phraseto_tsquery('papersift', %s)" for _ in q.terms)
    return f"f.tsv @@ ({ors})", list(q.terms)


def search_where(filters: SearchFilters | None) -> tuple[str, list[Any]]:
    """SQL condition on `papers p` for search filters."""
    conds: list[str] = ["true"]
    params: list[Any] = []
    f = filters or SearchFilters()
    if f.date_from:
        conds.append("p.day >= %s")
        params.append(f.date_from.isoformat())
    if f.date_to:
        conds.append("p.day <= %s")
        params.append(f.date_to.isoformat())
    if f.min_upvotes is not None:
        conds.append("coalesce(p.upvotes, 0) >= %s")
        params.append(int(f.min_upvotes))
    if f.sources:
        conds.append(_SOURCES)
        params.append(list(f.sources))
    if f.categories:
        conds.append(_CATEGORIES)
        params.append(list(f.categories))
    if f.tags:
        conds.append(_TAGS_ALL if f.tag_mode == "all" else _TAGS_ANY)
        params.append(list(f.tags))
    return " AND ".join(conds), params


class SearchMixin(PostgresBase):
    def search_filter_ids(self, filters: SearchFilters | None) -> set[str]:
        where, params = search_where(filters)
        return {r[0] for r in self._all(f"SELECT p.id FROM papers p WHERE {where}", params)}

    def lexical_match_ids(self, query: LexicalQuery,
                          filters: SearchFilters | None = None) -> set[str]:
        """Ids of every paper matching the query (no ranking: search ranks the set)."""
        match = tsquery_where(query)
        if match is None:
            return set()
        cond, qparams = match
        where, params = search_where(filters)
        return {r[0] for r in self._all(f"SELECT p.id FROM paper_fts f JOIN papers p ON "
                                        f"p.id = f.paper_id WHERE {cond} AND {where}",
                                        [*qparams, *params])}

    def browse_ids(self, filters: SearchFilters | None, order: Literal["date", "upvotes"],
                   limit: int, offset: int = 0) -> tuple[list[str], int]:
        """Filtered paper ids without a query, newest ('date') or most upvoted first, + total."""
        where, params = search_where(filters)
        # NULLS LAST/FIRST as SQLite sorts NULL: lowest.
        by = ("coalesce(p.upvotes, 0) DESC, p.day DESC NULLS LAST" if order == "upvotes"
              else "p.day DESC NULLS LAST, coalesce(p.upvotes, 0) DESC")
        ids = [r[0] for r in self._all(
            f"SELECT p.id FROM papers p WHERE {where} ORDER BY {by}, p.id LIMIT %s OFFSET %s",
            [*params, limit, offset])]
        row = self._one(f"SELECT count(*) FROM papers p WHERE {where}", params)
        return ids, int(row[0]) if row else 0

    def search_facets(self) -> Iterator[tuple[str, str | None, int | None, list[str]]]:
        """(id, day, upvotes, tags) of every paper: what search filters and sorts on."""
        for pid, day, upvotes, tags in self._all(
                "SELECT p.id, p.day, p.upvotes, e.tags FROM papers p "
                "LEFT JOIN enrichments e ON e.paper_id = p.id ORDER BY p.seq"):
            yield pid, day, upvotes, list(tags or [])

    def enrichments_version(self) -> str:
        """Moves on every enrichment insert, update or delete (the trigger of migration 1)."""
        row = self._one("SELECT CASE WHEN is_called THEN last_value ELSE 0 END "
                        "FROM enrichments_version")
        return str(row[0]) if row else "0"

    def title_keys(self, ids: Iterable[str]) -> dict[str, str]:
        """paper id -> normalised title key (search collapses results sharing one)."""
        ids = list(ids)
        if not ids:
            return {}
        return dict(self._all("SELECT id, title_key FROM papers WHERE id = ANY(%s)", (ids,)))

    @overload
    def search_texts(self, batch: int = 5000,
                     with_authors: Literal[False] = False) -> Iterator[tuple[str, str, str]]: ...
    @overload
    def search_texts(self, batch: int = 5000, *,
                     with_authors: Literal[True]) -> Iterator[tuple[str, str, str, str]]: ...

    def search_texts(self, batch: int = 5000, with_authors: bool = False) -> Iterator[tuple[str, ...]]:
        """(id, title, abstract[, authors text]) of every paper, in insertion order."""
        last = 0
        while True:
            rows = self._all("SELECT seq, id, title, abstract, authors FROM papers WHERE seq > %s "
                             "ORDER BY seq LIMIT %s", (last, batch))
            if not rows:
                return
            for r in rows:
                yield (r[1], r[2], r[3], r[4]) if with_authors else (r[1], r[2], r[3])
            last = rows[-1][0]

    def papers_version(self) -> str:
        """Changes whenever a paper is added, edited or renamed (two index lookups)."""
        row = self._one("SELECT (SELECT max(seq) FROM papers), (SELECT max(changed_at) FROM papers)")
        seq, changed = row if row else (None, None)
        return f"{seq or 0}:{changed or ''}"

