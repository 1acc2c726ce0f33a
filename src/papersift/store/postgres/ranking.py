"""Ranked search in the database: full-text rank over paper_fts and nearest vectors by the
model's HNSW index, so API replicas answer from what is committed (no in-memory index to
rebuild: a paper is searchable on every replica as soon as its transaction commits).

search/pg_engine.py fuses, filters further, collapses and highlights with the engine's own
code; only the two candidate lists and the few lookups those need come from here. Every
query word is a bound parameter of plainto/phraseto_tsquery, which read text, not syntax.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..base import LexicalQuery, SearchFilters
from .core import PostgresBase
from .search import search_where, tsquery_where

# ts_rank_cd weights in {D, C, B, A} order: title (A) above abstract (B) above authors (C).
RANK_WEIGHTS = "{0.1, 0.2, 0.4, 1.0}"
# 1: divide by 1 + log(document length) (a long abstract does not win by repeating words);
# 32: rank / (rank + 1), bounded, as fusion's min-max scaling prefers.
RANK_NORMALIZATION = 1 | 32
EF_SEARCH_MIN = 40  # pgvector's default; raised to the candidate depth


def _rank_words(q: LexicalQuery) -> list[str]:
    """Every word the query has (terms, phrase and author words): what ranks the matching
    set, as BM25 does over all the query's words in the SQLite path."""
    return list(dict.fromkeys([*q.terms, *(w for ph in q.phrases for w in ph),
                               *(w for a in q.authors for w in a)]))


# One word as a tsquery: stemmed for title and abstract, as typed for the authors.
_WORD_Q = "(plainto_tsquery('papersift', %s) || plainto_tsquery('simple', %s))"
IDF_TTL = 300.0  # seconds a word's document frequency is reused (it moves slowly)


class RankingMixin(PostgresBase):
    def lexical_ranked(self, query: LexicalQuery, filters: SearchFilters | None, k: int
                       ) -> tuple[list[tuple[str, float]], int]:
        """The best k matching papers by ts_rank_cd (score, then id) and how many match."""
        match = tsquery_where(query)
        if match is None or k <= 0:
            return [], 0
        cond, mparams = match
        words = _rank_words(query)[:32]  # a long query ranks on its first 32 distinct words
        idf = self._idf(words)
        # ts_rank_cd alone has no inverse document frequency: a common word would weigh as
        # much as a rare one. Each word's rank (term frequency by field weight, length
        # normalised, saturating) is scaled by its BM25 idf, as BM25 sums per-word scores.
        rank = " + ".join(f"%s * ts_rank_cd('{RANK_WEIGHTS}', tsv, {_WORD_Q}, {RANK_NORMALIZATION})"
                          for _ in words) or "0"
        rparams = [v for w in words for v in (idf[w], w, w)]
        where, fparams = search_where(filters)
        rows = self._all(
            f"WITH m AS (SELECT f.paper_id, f.tsv FROM paper_fts f JOIN papers p ON p.id = f.paper_id "
            f"WHERE {cond} AND {where}) "
            f"SELECT paper_id, {rank} AS r, count(*) OVER () FROM m ORDER BY r DESC, paper_id LIMIT %s",
            [*mparams, *fparams, *rparams, k])
        return [(r[0], float(r[1])) for r in rows], int(rows[0][2]) if rows else 0

    def _idf(self, words: list[str]) -> dict[str, float]:
        """BM25's idf of each word, ln(1 + (N - df + 0.5) / (df + 0.5)), from counts on the
        GIN index, cached per store for IDF_TTL seconds."""
        cache: dict[str, tuple[float, float]] = self.__dict__.setdefault("_idf_cache", {})
        now = time.monotonic()
        todo = [w for w in words if w not in cache or now - cache[w][0] > IDF_TTL]
        if todo:
            counts = ", ".join(f"(SELECT count(*) FROM paper_fts WHERE tsv @@ {_WORD_Q})" for _ in todo)
            row = self._one(f"SELECT (SELECT count(*) FROM paper_fts), {counts}",
                            [v for w in todo for v in (w, w)])
            n = float(row[0]) if row else 0.0
            if len(cache) > 50_000:  # a bound, not an LRU: clearing now and then is enough
                cache.clear()
            for w, df in zip(todo, (row or ())[1:], strict=False):
                cache[w] = (now, math.log(1.0 + (n - float(df) + 0.5) / (float(df) + 0.5)))
        return {w: cache[w][1] if w in cache else 0.0 for w in words}

    def vector_dims(self, model: str) -> int | None:
        """The dimension of the model's indexed vectors (None: no usable index)."""
        row = self._one("SELECT dims FROM vector_indexes WHERE model = %s", (model,))
        return int(row[0]) if row and row[0] and row[0] > 0 else None

    def vector_count(self, model: str) -> int:
        row = self._one("SELECT count(*) FROM vectors WHERE model = %s", (model,))
        return int(row[0]) if row else 0

    def nearest(self, model: str, vec: np.ndarray, k: int, filters: SearchFilters | None = None,
                min_score: float = -1.0) -> list[tuple[str, float]]:
        """The k papers whose vectors are nearest `vec` by cosine, as (id, similarity)."""
        dims = self.vector_dims(model)
        if dims is None or k <= 0 or len(vec) != dims:
            return []
        where, fparams = search_where(filters)
        q = np.asarray(vec, dtype=np.float32)
        with self._tx() as c:
            # SET LOCAL: the setting ends with this transaction, not with the pooled connection.
            # An iterative scan goes on past ef_search when filters drop candidates (pgvector
            # >= 0.8; older servers do not know the setting and keep ef_search's bound).
            c.execute(f"SET LOCAL hnsw.ef_search = {max(EF_SEARCH_MIN, min(int(k), 1000))}")
            if filters is not None and self._iterative_scan(c):
                c.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
            rows = c.execute(
                f"SELECT v.paper_id, 1 - (v.vec::vector({dims}) <=> %s::vector({dims})) AS s "
                f"FROM vectors v JOIN papers p ON p.id = v.paper_id WHERE v.model = %s AND {where} "
                f"ORDER BY v.vec::vector({dims}) <=> %s::vector({dims}) LIMIT %s",
                [q, model, *fparams, q, k]).fetchall()
        out = [(r[0], float(r[1])) for r in rows if float(r[1]) >= min_score]
        # relaxed_order may return near-ties out of order: the ranking is by similarity.
        return sorted(out, key=lambda x: (-x[1], x[0]))

    def _iterative_scan(self, c: Any) -> bool:
        """Whether the database's pgvector has hnsw.iterative_scan (0.8+; asked once per
        store). By version, not pg_settings: the setting is listed only once the library is
        loaded in that session, which a fresh pooled connection has not done yet."""
        known = getattr(self, "_has_iterative_scan", None)
        if known is None:
            row = c.execute("SELECT string_to_array(extversion, '.')::int[] >= '{0,8}' "
                            "FROM pg_extension WHERE extname = 'vector'").fetchone()
            known = self._has_iterative_scan = bool(row and row[0])
        return bool(known)

    def vector_scores(self, model: str, vec: np.ndarray, ids: Iterable[str]) -> dict[str, float]:
        """Cosine similarity of `vec` to each of `ids` that has a vector."""
        ids = list(ids)
        if not ids:
            return {}
        q = np.asarray(vec, dtype=np.float32)
        rows = self._all("SELECT paper_id, 1 - (vec <=> %s::vector) FROM vectors WHERE model = %s "
                         "AND paper_id = ANY(%s) AND vector_dims(vec) = %s",
                         (q, model, ids, len(q)))
        return {r[0]: float(r[1]) for r in rows}

    def vector_ids(self, model: str, ids: Iterable[str]) -> set[str]:
        """Those of `ids` that have a vector under `model`."""
        ids = list(ids)
        if not ids:
            return set()
        return {r[0] for r in self._all("SELECT paper_id FROM vectors WHERE model = %s AND "
                                        "paper_id = ANY(%s)", (model, ids))}

    def sort_keys(self, ids: Iterable[str]) -> dict[str, tuple[str, int]]:
        """paper id -> (day, upvotes): what a date or upvotes sort of results orders by."""
        ids = list(ids)
        if not ids:
            return {}
        return {r[0]: (r[1] or "", int(r[2] or 0)) for r in self._all(
            "SELECT id, day, upvotes FROM papers WHERE id = ANY(%s)", (ids,))}
