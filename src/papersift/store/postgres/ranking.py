"""Ranked search in the database: BM25 over paper_fts and nearest vectors by the
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

from ..base import BM25Params, LexicalQuery, SearchFilters
from ..records import DEFAULT_BM25
from .impact_query import ImpactsMixin
from .impacts import saturation
from .search import search_where, tsquery_where

# hnsw.ef_search at least: pgvector's default 40 (or the depth, 100) found 0.85 of the
# exact top 10 at 100,000 papers; 400 found 0.95 there but 0.92 at 1,000,000 (docs/scale.md):
# an HNSW graph's recall at a fixed ef_search falls as it grows, so the floor grows with
# the square root of the vectors held past EF_SEARCH_AT, up to EF_SEARCH_MAX.
EF_SEARCH_MIN = 400
EF_SEARCH_AT = 200_000
EF_SEARCH_MAX = 1000


def _rank_words(q: LexicalQuery) -> list[str]:
    """Every word the query has (terms, phrase and author words): what ranks the matching
    set, as BM25 does over all the query's words in the SQLite path."""
    return list(dict.fromkeys([*q.terms, *(w for ph in q.phrases for w in ph),
                               *(w for a in q.authors for w in a)]))


# One word as a tsquery: stemmed for title and abstract, as typed for the authors.
_WORD_Q = "(plainto_tsquery('papersift', w) || plainto_tsquery('simple', w))"
DF_TTL = 300.0  # seconds a word's document frequency is reused (it moves slowly)
STATS_TTL = 60.0  # seconds the paper count and average length are reused


def idf(n: float, df: float) -> float:
    """search/lexical.py's (and FTS5's) idf: ln((N - df + 0.5) / (df + 0.5)), floored."""
    ratio = (n - df + 0.5) / (df + 0.5)
    return max(math.log(ratio), 1e-6) if ratio > 0 else 1e-6


def rank_weights(params: BM25Params) -> tuple[list[float], float]:
    """ts_rank_cd's weights ({D, C, B, A}: authors C, abstract B, title A) and the factor
    that turns its rank back into BM25's weighted term frequency. ts_rank_cd of a one-word
    query with normalization 0 is the sum of the weights of the word's positions, i.e.
    sum(weight(field) * count in field); its weights must lie in [0, 1], hence the scale."""
    title, abstract, authors = params.weights
    top = max(params.weights) or 1.0
    return [0.0, authors / top, abstract / top, title / top], top


class RankingMixin(ImpactsMixin):
    # (paper, word) pairs a free-word query scores before it tries MaxScore's bound
    # (lexical_ranked): a pair costs a few microseconds (detoast the tsvector, search it; 2.8k
    # pairs took ~10 ms on SciFact), and at a million papers "cell patients increase" holds
    # most of them. While the words' document frequencies sum to at most this, every
    # match is scored.
    lexical_budget = 20_000
    # (paper, word) pairs a query scores at most on a big table (exact_below papers or
    # more: never on SciFact's 5,183), beyond which only a bounded set is (_title_first):
    # 17k papers' tsvectors took 80-140 ms to detoast and 200 ms to rank at 200,000
    # papers under load (~7 on 2 cores).
    lexical_cap = 10_000
    count_cap = 1_000  # matches counted exactly; beyond, a lower bound (_match_count)
    approx_candidates = 1_500  # papers _title_first scores
    # papers under which everything is exact and counted; from there on the statistics
    # are sampled or estimated and a query's cost is bounded (docs/scale.md)
    exact_below = 50_000

    def lexical_ranked(self, query: LexicalQuery, filters: SearchFilters | None, k: int,
                       params: BM25Params = DEFAULT_BM25) -> tuple[list[tuple[str, float]], int]:
        """The best k matching papers by BM25 (score, then id) and how many match.

        The same formula as search/lexical.py: per query word, the weighted term frequency
        tf (from the tsvector's positions, which carry their field as a weight) saturates as
        tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / average length)) and is scaled by
        the word's idf; a paper's score is the sum over the words. The GIN index finds the
        matching papers; only those are scored.

        When the words match more than lexical_budget papers, the papers holding one of the
        rarest words (those whose document frequencies fit the budget) are scored first; a
        paper with none of them scores below the sum of the other words' idf * (k1 + 1)
        (BM25's tf part is below k1 + 1), so if the k-th score found beats that bound the
        answer is exact. Otherwise every match is scored, unless (on a big table, of
        exact_below papers or more) that is more than lexical_cap (paper, word) pairs: then
        only a bounded set is (_title_first), an approximation stated in docs/scale.md; there
        the rarest-first budget is lexical_cap too. The count is exact up to count_cap."""
        match = tsquery_where(query)
        if match is None or k <= 0:
            return [], 0
        words = _rank_words(query)[:32]  # a long query ranks on its first 32 distinct words
        n, avg = self._corpus_stats()
        stats = self._word_stats(words, n)
        terms = sorted(((tq, idf(n, df), df) for tq, df in (stats[w] for w in words if w in stats)),
                       key=lambda t: t[2])  # rarest first
        if not terms:
            return [], 0
        where = search_where(filters)
        free = not (query.phrases or query.authors)
        big = n >= self.exact_below  # only there is a query's cost bounded (lexical_cap)
        if big and not query.authors:
            # The impact postings' top k (impact_query.py), when they can answer it.
            got = self.impact_ranked(
                [(w, stats[w][0], idf(n, stats[w][1])) for w in words if w in stats],
                None if free else match, [w for ph in query.phrases for w in ph], where,
                params, k)
            if got is not None:
                # Counting a phrase's or a filter's matches can take seconds (every holder
                # of a common word checked): the papers the postings checked are the count,
                # a lower bound, as past count_cap.
                hits, matched = got
                return hits, (self._match_count(match, where, terms) if free and where[0] == "true"
                              else max(matched, len(hits)))
        budget = min(self.lexical_budget, self.lexical_cap) if big else self.lexical_budget
        if free and sum(t[2] for t in terms) > budget:
            rare = [terms[0]]
            for t in terms[1:]:
                if sum(r[2] for r in rare) + t[2] > budget:
                    break
                rare.append(t)
            if not big or sum(r[2] for r in rare) * len(terms) <= self.lexical_cap:
                bound = sum(t[1] for t in terms[len(rare):]) * (params.k1 + 1)
                some = (f"({match[0]}) AND f.tsv @@ %s::tsquery",
                        [*match[1], " | ".join(f"({t[0]})" for t in rare)])
                rows = self._bm25_rows(some, where, terms, params, avg, k, by_word=False)
                if len(rows) >= k and rows[k - 1][1] > bound:
                    return [(r[0], float(r[1])) for r in rows], self._match_count(match, where, terms)
            if big and sum(t[2] for t in terms) > self.lexical_cap:
                rows = self._title_first(match, where, terms, params, avg, k)
                return [(r[0], float(r[1])) for r in rows], self._match_count(match, where, terms)
        # A phrase or author condition must hold: score only the papers meeting it, on every
        # word (each of them holds the phrase's words, so this is never more pairs than
        # walking each word's postings, and far fewer when the phrase has a common word).
        rows = (self._bm25_rows(match, where, terms, params, avg, k, by_word=False) if not free
                else self._bm25_rows(("true", []), where, terms, params, avg, k, by_word=True))
        return [(r[0], float(r[1])) for r in rows], int(rows[0][2]) if rows else 0

    def _title_first(self, match: tuple[str, list[Any]], where: tuple[str, list[Any]],
                     terms: list[tuple[str, float, float]], params: BM25Params, avg: float,
                     k: int) -> list[tuple[Any, ...]]:
        """The bounded approximation for words too common to score every match: at most
        approx_candidates papers, scored exactly on every word, taken in this order from the
        papers whose title holds every query word (the title weighs 4x in BM25), whose text
        holds every word, whose title holds any, whose text holds any; within a tier in the
        index's order (stable for a given table, not by score). The true top k may hold a
        paper left out: one with the words in its abstract only while more than
        approx_candidates papers have them in the title, say."""
        per = max(k, self.approx_candidates)
        every = " & ".join(f"({t[0]})" for t in terms)
        some = " | ".join(f"({t[0]})" for t in terms)
        title = ("papers p", "to_tsvector('papersift', p.title) @@ %s::tsquery")
        text = ("paper_fts f JOIN papers p ON p.id = f.paper_id", "f.tsv @@ %s::tsquery")
        got: list[str] = []
        tiers = [(title, every), (text, every), (title, some), (text, some)]
        for (src, cond), arg in tiers if len(terms) > 1 else tiers[:2]:
            if len(got) >= per:
                break
            got += [r[0] for r in self._all(
                f"SELECT p.id FROM {src} WHERE {cond} AND {where[0]} AND NOT p.id = ANY(%s) LIMIT %s",
                [arg, *where[1], got, per - len(got)])]
        cand = ("f.paper_id = ANY(%s)", [got])
        return self._bm25_rows(cand, ("true", []), terms, params, avg, k, by_word=False)

    def _match_count(self, match: tuple[str, list[Any]], where: tuple[str, list[Any]],
                     terms: list[tuple[str, float, float]]) -> int:
        """How many papers match (a free query's): exact up to count_cap; beyond it a lower
        bound, the cap, or without filters the largest word's document frequency (a match
        holds some word; then nothing is counted at all: counting a common word's matches
        took longer than ranking them)."""
        top = int(max(t[2] for t in terms))
        if where[0] == "true" and top >= self.count_cap:
            return top
        row = self._one(f"SELECT count(*) FROM (SELECT 1 FROM paper_fts f JOIN papers p ON p.id = "
                        f"f.paper_id WHERE {match[0]} AND {where[0]} LIMIT %s) c",
                        [*match[1], *where[1], self.count_cap])
        return int(row[0]) if row else 0

    def _bm25_rows(self, match: tuple[str, list[Any]], where: tuple[str, list[Any]],
                   terms: list[tuple[str, float, float]], params: BM25Params, avg: float,
                   k: int, by_word: bool) -> list[tuple[Any, ...]]:
        """(id, BM25 score, papers scored) of the best k papers that hold a query word and
        match both conditions. by_word: each word's papers from the GIN index, and a word
        scored only on the papers holding it (the sum of the words' document frequencies);
        else every paper matching `match` is scored on every word (match is selective)."""
        weights, top = rank_weights(params)
        join = " JOIN papers p ON p.id = f.paper_id" if (match[0], where[0]) != ("true", "true") else ""
        pairs = ("t JOIN paper_fts f ON f.tsv @@ t.tq" if by_word
                 else "paper_fts f CROSS JOIN t")
        # x: one rank per (paper, word), MATERIALIZED because the planner would otherwise
        # inline tf into each place the sum names it and detoast the tsvector for each
        # (three ts_rank_cd calls per pair instead of one). tf > 0 keeps a word out of a
        # paper's sum when the paper lacks it.
        return self._all(
            "WITH t AS (SELECT * FROM unnest(%s::tsquery[], %s::float8[]) AS t(tq, idf)), "
            "x AS MATERIALIZED (SELECT f.paper_id, f.doc_len, t.idf, "
            f"%s * ts_rank_cd(%s::float4[], f.tsv, t.tq, 0) AS tf FROM {pairs}{join} "
            f"WHERE {match[0]} AND {where[0]}), "
            "s AS (SELECT paper_id, sum(idf * tf * %s / (tf + %s + %s * doc_len)) AS r FROM x "
            "WHERE tf > 0 GROUP BY paper_id) "
            "SELECT paper_id, r, count(*) OVER () FROM s ORDER BY r DESC, paper_id LIMIT %s",
            [[t[0] for t in terms], [t[1] for t in terms], top, weights, *match[1], *where[1],
             *saturation(params, avg), k])

    def _corpus_stats(self) -> tuple[float, float]:
        """(papers with full text, their average length in tokens), cached STATS_TTL s.
        Counted while the table is small (exact, as the in-memory index); on a big one
        (planner statistics say exact_below or more) the count is the planner's and the
        average comes from a fixed sample of pages: a full scan of a million rows took as long
        as many searches, and the average of ~20,000 rows moves the scores by well under 1%."""
        now = time.monotonic()
        got: tuple[float, float, float] | None = self.__dict__.get("_corpus_cache")
        if got is None or now - got[0] > STATS_TTL:
            est = self._one("SELECT reltuples FROM pg_class WHERE oid = 'paper_fts'::regclass")
            big = float(est[0]) if est and est[0] is not None else -1.0
            if big >= self.exact_below:
                pct = min(100.0, 100.0 * 20_000 / big)
                row = self._one("SELECT %s::float8, coalesce(avg(doc_len), 0) FROM paper_fts "
                                "TABLESAMPLE SYSTEM (%s) REPEATABLE (11)", (big, pct))
            else:
                row = self._one("SELECT count(*), coalesce(avg(doc_len), 0) FROM paper_fts")
            got = self.__dict__["_corpus_cache"] = (now, float(row[0]), float(row[1])) if row \
                else (now, 0.0, 0.0)
        return got[1], got[2]

    def _word_stats(self, words: list[str], n: float) -> dict[str, tuple[str, float]]:
        """word -> (its tsquery as text, how many papers hold it), counted on the GIN index
        and cached per store for DF_TTL seconds. Words that make no lexeme are left out.
        On a big table (n >= exact_below) a one-lexeme word that ANALYZE lists among the
        most common lexemes of paper_fts.tsv (the top 1,000; at 200,000 arXiv papers each in
        over 2.4% of them) is not counted: its document frequency is n times the listed
        share (of its stem or its unstemmed form, the larger), an estimate from ANALYZE's
        sample (within ~1% for "learning", in a third of the papers, which took 250 ms to
        count); its idf is low anyway. Rarer words are counted."""
        cache: dict[str, tuple[float, str, float]] = self.__dict__.setdefault("_df_cache", {})
        now = time.monotonic()
        todo = [w for w in words if w not in cache or now - cache[w][0] > DF_TTL]
        if todo:
            common = self._common_lexemes() if n >= self.exact_below else {}
            known: dict[str, float] = {}
            if common:
                for w, stems, plain in self._all(
                        "SELECT w, tsvector_to_array(to_tsvector('papersift', w)), "
                        "tsvector_to_array(to_tsvector('simple', w)) FROM unnest(%s::text[]) AS w",
                        [todo]):
                    if len(stems) == 1 and stems[0] in common:
                        known[w] = n * max(common[stems[0]], *(common.get(x, 0.0) for x in plain))
            rows = self._all(
                f"SELECT w, q::text, CASE WHEN numnode(q) > 0 AND NOT w = ANY(%s) THEN (SELECT "
                f"count(*) FROM paper_fts WHERE tsv @@ q) ELSE 0 END FROM unnest(%s::text[]) AS w, "
                f"LATERAL (SELECT {_WORD_Q} AS q) x", [list(known), todo])
            if len(cache) > 50_000:  # a bound, not an LRU: clearing now and then is enough
                cache.clear()
            for w, tq, df in rows:
                cache[w] = (now, tq, float(known.get(w, df)))
        return {w: (cache[w][1], cache[w][2]) for w in words if w in cache and cache[w][1]}

    def _common_lexemes(self) -> dict[str, float]:
        """lexeme -> share of papers holding it, for the lexemes ANALYZE found most common
        in paper_fts.tsv (empty before the table is analyzed); cached STATS_TTL s."""
        now = time.monotonic()
        got: tuple[float, dict[str, float]] | None = self.__dict__.get("_mce_cache")
        if got is None or now - got[0] > STATS_TTL:
            rows = self._all("SELECT e, f FROM pg_stats s, unnest(s.most_common_elems::text::text[], "
                             "s.most_common_elem_freqs) AS m(e, f) WHERE s.schemaname = "
                             "current_schema() AND s.tablename = 'paper_fts' AND s.attname = 'tsv' "
                             "AND e IS NOT NULL")
            got = self.__dict__["_mce_cache"] = (now, {e: float(f) for e, f in rows})
        return got[1]

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
            c.execute(f"SET LOCAL hnsw.ef_search = {max(self._ef_floor(c), min(int(k), EF_SEARCH_MAX))}")
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

    def _ef_floor(self, c: Any) -> int:
        """EF_SEARCH_MIN, raised with the size of the vectors table (the planner's row
        estimate: counting a million rows per search would cost more than the search);
        cached STATS_TTL s."""
        now = time.monotonic()
        got: tuple[float, int] | None = self.__dict__.get("_ef_cache")
        if got is None or now - got[0] > STATS_TTL:
            row = c.execute("SELECT reltuples FROM pg_class WHERE oid = 'vectors'::regclass").fetchone()
            n = max(float(row[0]) if row and row[0] is not None else 0.0, 0.0)
            ef = int(min(EF_SEARCH_MAX, max(EF_SEARCH_MIN, EF_SEARCH_MIN * (n / EF_SEARCH_AT) ** 0.5)))
            got = self.__dict__["_ef_cache"] = (now, ef)
        return got[1]

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
