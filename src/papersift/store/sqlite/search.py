"""What search/ reads from SQLite: filters, FTS5 matches, browsing, facets, versions.

A parsed query (LexicalQuery) becomes FTS5 syntax here and nowhere else."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, Literal, overload

from ..base import LexicalQuery, SearchFilters
from .core import SQLiteBase, id_batches, qs

_TAGS_SQL = ("p.id IN (SELECT e.paper_id FROM enrichments e, json_each(e.data, '$.tags') t "
             "WHERE t.value IN ({}))")
_SOURCES_SQL = "p.id IN (SELECT paper_id FROM paper_sources WHERE source IN ({}))"
_CATEGORIES_SQL = "EXISTS (SELECT 1 FROM json_each(p.categories) c WHERE c.value IN ({}))"


def _quote(tok: str) -> str:
    # An FTS5 string: whatever it holds is a token to match, never syntax.
    return '"' + tok.replace('"', '""') + '"'


def fts5_match(q: LexicalQuery, require_all: bool = False) -> str | None:
    """The FTS5 MATCH expression for a parsed query, or None when there is nothing to match.

    Phrases and author terms must match; free words are OR-ed (require_all=True ANDs them)."""
    required: list[str] = [_quote(" ".join(p)) for p in q.phrases]
    for a in q.authors:
        # Tokens AND-ed, not a phrase: listings write "Hinton, Geoffrey" as often as
        # "Geoffrey Hinton".
        required.append("authors : (" + " AND ".join(_quote(t) for t in a) + ")")
    free = [_quote(t) for t in q.terms]
    if require_all or not required:
        parts = required + free
        op = " AND " if (require_all or not free) else " OR "
        if not free:
            op = " AND "
        return op.join(parts) or None
    if not free:
        return " AND ".join(required)
    # FTS5 has no "should" clause: OR-ing the free words with a required part keeps the
    # group always true for papers that pass the required parts, while the words still add
    # to their BM25 score when present.
    return " AND ".join(required) + " AND (" + " OR ".join(free + required[:1]) + ")"


def search_where(filters: SearchFilters | None) -> tuple[str, list[Any]]:
    """SQL condition on `papers p` for search filters."""
    conds: list[str] = ["1"]
    params: list[Any] = []
    f = filters or SearchFilters()
    if f.date_from:
        conds.append("p.day >= ?")
        params.append(f.date_from.isoformat())
    if f.date_to:
        conds.append("p.day <= ?")
        params.append(f.date_to.isoformat())
    if f.min_upvotes is not None:
        conds.append("coalesce(p.upvotes, 0) >= ?")
        params.append(int(f.min_upvotes))
    for values, sql in ((list(f.sources), _SOURCES_SQL), (list(f.categories), _CATEGORIES_SQL)):
        if values:
            conds.append(sql.format(qs(values)))
            params.extend(values)
    tags = list(f.tags)
    # tag_mode "all": one condition per tag; otherwise any of them.
    for part in ([[t] for t in tags] if f.tag_mode == "all" else [tags] if tags else []):
        conds.append(_TAGS_SQL.format(qs(part)))
        params.extend(part)
    return " AND ".join(conds), params


class SearchMixin(SQLiteBase):
    def search_filter_ids(self, filters: SearchFilters | None) -> set[str]:
        where, params = search_where(filters)
        return {r[0] for r in self.conn.execute(f"SELECT p.id FROM papers p WHERE {where}", params)}

    def lexical_match_ids(self, query: LexicalQuery,
                          filters: SearchFilters | None = None) -> set[str]:
        """Ids of every paper matching the query (no ranking: the cheap way to apply phrase
        and author: constraints; search ranks the set in memory)."""
        match = fts5_match(query)
        if match is None:
            return set()
        where, params = search_where(filters)
        return {r[0] for r in self.conn.execute(
            "SELECT p.id FROM papers_fts JOIN papers p ON p.rowid = papers_fts.rowid "
            f"WHERE papers_fts MATCH ? AND {where}", [match, *params])}

    def lexical_search(self, match: str, limit: int,
                       weights: tuple[float, float, float] = (4.0, 1.0, 2.0)) -> list[tuple[str, float]]:
        """BM25 over (title, abstract, authors) for an FTS5 MATCH expression, scores positive
        (higher is better). SQLite only and not part of any protocol: search ranks in memory
        (search/lexical.py); tests keep this as the reference that ranking is checked
        against, and use it to prove that fts5_match() output is valid FTS5."""
        w = ", ".join(str(float(x)) for x in weights)
        rows = self.conn.execute(
            f"SELECT p.id, -bm25(papers_fts, {w}) AS s FROM papers_fts "
            "JOIN papers p ON p.rowid = papers_fts.rowid WHERE papers_fts MATCH ? "
            "ORDER BY bm25(papers_fts, " + w + ") LIMIT ?", (match, limit)).fetchall()
        return [(r[0], r[1]) for r in rows]

    def browse_ids(self, filters: SearchFilters | None, order: Literal["date", "upvotes"],
                   limit: int, offset: int = 0) -> tuple[list[str], int]:
        """Filtered paper ids without a query, newest ('date') or most upvoted first, + total."""
        where, params = search_where(filters)
        by = ("coalesce(p.upvotes, 0) DESC, p.day DESC" if order == "upvotes"
              else "p.day DESC, coalesce(p.upvotes, 0) DESC")
        ids = [r[0] for r in self.conn.execute(
            f"SELECT p.id FROM papers p WHERE {where} ORDER BY {by}, p.id LIMIT ? OFFSET ?",
            [*params, limit, offset])]
        total = self.conn.execute(f"SELECT count(*) FROM papers p WHERE {where}", params).fetchone()[0]
        return ids, total

    def search_facets(self) -> Iterator[tuple[str, str | None, int | None, list[str]]]:
        """(id, day, upvotes, tags) of every paper: what search filters and sorts on."""
        cur = self.conn.execute("SELECT p.id, p.day, p.upvotes, json_extract(e.data, '$.tags') "
                                "FROM papers p LEFT JOIN enrichments e ON e.paper_id = p.id")
        for pid, day, upvotes, tags in cur:
            yield pid, day, upvotes, (json.loads(tags) if tags else [])

    def enrichments_version(self) -> str:
        """Moves on every enrichment insert, update or delete (triggers of migration 8)."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'enrichments_version'").fetchone()
        return (row[0] if row else None) or "0"

    def title_keys(self, ids: Iterable[str]) -> dict[str, str]:
        """paper id -> normalised title key (search collapses results sharing one)."""
        out: dict[str, str] = {}
        for part, marks in id_batches(ids):
            out.update(self.conn.execute(
                f"SELECT id, title_key FROM papers WHERE id IN ({marks})", part).fetchall())
        return out

    @overload
    def search_texts(self, batch: int = 5000,
                     with_authors: Literal[False] = False) -> Iterator[tuple[str, str, str]]: ...
    @overload
    def search_texts(self, batch: int = 5000, *,
                     with_authors: Literal[True]) -> Iterator[tuple[str, str, str, str]]: ...

    def search_texts(self, batch: int = 5000, with_authors: bool = False) -> Iterator[tuple[str, ...]]:
        """(id, title, abstract[, authors text]) of every paper, cheaply (what the search
        indexes are computed from)."""
        last = 0
        while True:
            rows = self.conn.execute(
                "SELECT rowid, id, title, abstract, authors FROM papers WHERE rowid > ? "
                "ORDER BY rowid LIMIT ?", (last, batch)).fetchall()
            if not rows:
                return
            for r in rows:
                yield (r[1], r[2], r[3], r[4]) if with_authors else (r[1], r[2], r[3])
            last = rows[-1][0]

    def papers_version(self) -> str:
        """Changes whenever a paper is added, edited or renamed (cheap: two index lookups)."""
        # Two statements: SQLite answers a lone max() from the index, two in one need a scan.
        rowid = self.conn.execute("SELECT max(rowid) FROM papers").fetchone()[0]
        changed = self.conn.execute("SELECT max(changed_at) FROM papers").fetchone()[0]
        return f"{rowid or 0}:{changed or ''}"
