"""Impact lists: for every lexeme of paper_fts, its papers in order of the BM25 term part
each holds, truncated at IMPACT_DEPTH papers (a champion list), so that ranking a query on a
big table reads a few short arrays and the tsvectors of a few hundred papers instead of the
tsvector of every paper holding a common word (ranking.py; docs/scale.md).

A row of lexeme_impacts is (lexeme, df, floor, seqs, impacts): `seqs` (papers.seq) are the
IMPACT_DEPTH papers with the largest impact, the saturated term frequency
tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / average length)) without the idf (which
moves with every paper added, so the query applies it); `floor` is the largest impact of a
paper left out, 0 when the list holds every paper with the lexeme. So for any paper and
lexeme, the list's impact or else the floor bounds what the paper can score on it, and a
query's upper bounds are sums of those.

The lists are built whole (build_impacts, by `papersift index` and refresh_impacts) from the
papers up to a watermark seq; papers stored after it (the delta) are ranked from their own
tsvectors until the next build. The average length is the build's: when it grows, every
impact may be low by up to the ratio of the averages, which the query's bound multiplies in.
A text edited after the build keeps its old impacts until the next one.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import numpy as np

from ..base import BM25Params
from .core import PostgresBase

try:
    from psycopg import sql
except ImportError:  # pragma: no cover - the `postgres` extra is not installed
    sql = None  # type: ignore[assignment]

IMPACT_DEPTH = 1000  # papers listed per lexeme
_BUILD_KEY = 0x70617065_72730006  # advisory lock: one build at a time
STALE_SHARE = 0.05  # papers past the watermark, as a share of the listed, that call for a build
STALE_MIN = 2000
DELTA_CAP = 5000  # delta papers a query ranks from tsvectors; beyond, the lists are not used
META_TTL = 30.0  # seconds the watermark is reused


def weighted_tf(col: str, params: BM25Params) -> str:
    """SQL: the weighted term frequency of one unnest(tsvector) row, from its weights
    column `col` (title positions carry weight A, abstract B, authors C: the same sum
    ts_rank_cd makes of a one-word query, rank_weights in ranking.py)."""
    title, abstract, authors = (float(w) for w in params.weights)
    return (f"({title!r} * cardinality(array_positions({col}, 'A')) + "
            f"{abstract!r} * cardinality(array_positions({col}, 'B')) + "
            f"{authors!r} * cardinality(array_positions({col}, 'C')))")


def params_key(params: BM25Params) -> list[float]:
    return [float(params.k1), float(params.b), *(float(w) for w in params.weights)]


def build_impacts(conn: Any, params: BM25Params, depth: int = IMPACT_DEPTH) -> dict[str, Any]:
    """Build every lexeme's list into a new table and swap it in (readers keep the old one
    until the swap commits); returns the build's facts (the table's comment). conn: a connection outside any
    transaction; the work is one REPEATABLE READ transaction, so the watermark, the average
    and the lists are of one snapshot."""
    conn.execute("SELECT pg_advisory_lock(%s)", (_BUILD_KEY,))
    try:
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            conn.execute("SET LOCAL work_mem = '512MB'")
            # A paper whose full text a bulk import's helper has not written yet must not
            # fall below the watermark unlisted: the watermark stops short of the first.
            row = conn.execute(
                "SELECT coalesce((SELECT min(p.seq) - 1 FROM papers p WHERE NOT EXISTS "
                "(SELECT 1 FROM paper_fts f WHERE f.paper_id = p.id)), "
                "(SELECT max(seq) FROM papers), 0)").fetchone()
            mark = int(row[0])
            n, avg = conn.execute(
                "SELECT count(*), coalesce(avg(f.doc_len), 0) FROM paper_fts f JOIN papers p "
                "ON p.id = f.paper_id WHERE p.seq <= %s", (mark,)).fetchone()
            avg = float(avg) or 1.0
            k1, b = float(params.k1), float(params.b)
            tf = weighted_tf("u.weights", params)
            conn.execute("DROP TABLE IF EXISTS lexeme_impacts_next")
            conn.execute("CREATE TABLE lexeme_impacts_next (lexeme text NOT NULL, df integer NOT NULL, "
                         "floor real NOT NULL, seqs bigint[] NOT NULL, impacts real[] NOT NULL)")
            conn.execute(
                "INSERT INTO lexeme_impacts_next (lexeme, df, floor, seqs, impacts) "
                "SELECT lexeme, count(*)::int, coalesce(max(imp) FILTER (WHERE r > %(d)s), 0), "
                "array_agg(seq ORDER BY r) FILTER (WHERE r <= %(d)s), "
                "array_agg(imp ORDER BY r) FILTER (WHERE r <= %(d)s) FROM ("
                " SELECT lexeme, seq, imp, row_number() OVER (PARTITION BY lexeme ORDER BY imp DESC, "
                " seq) AS r FROM ("
                f"  SELECT u.lexeme, p.seq, (t.tf * %(k1p)s / (t.tf + %(c1)s + %(c2)s * f.doc_len))::real "
                "   AS imp FROM papers p JOIN paper_fts f ON f.paper_id = p.id "
                f"  CROSS JOIN LATERAL unnest(f.tsv) u CROSS JOIN LATERAL (SELECT {tf} AS tf) t "
                "   WHERE p.seq <= %(mark)s AND t.tf > 0) x) y GROUP BY lexeme",
                {"d": depth, "k1p": k1 + 1, "c1": k1 * (1 - b), "c2": k1 * b / avg, "mark": mark})
            conn.execute("CREATE UNIQUE INDEX lexeme_impacts_next_key ON lexeme_impacts_next (lexeme)")
            conn.execute("DROP TABLE IF EXISTS lexeme_impacts")
            conn.execute("ALTER TABLE lexeme_impacts_next RENAME TO lexeme_impacts")
            conn.execute("ALTER INDEX lexeme_impacts_next_key RENAME TO lexeme_impacts_key")
            meta = {"seq": mark, "avg": avg, "params": params_key(params), "papers": int(n),
                    "depth": depth, "built": time.time()}
            # The build's facts go with its table (a comment), so they swap in with it and
            # never describe another table (papersift migrate copies meta rows, not this).
            conn.execute(sql.SQL("COMMENT ON TABLE lexeme_impacts IS {}").format(
                sql.Literal(json.dumps(meta))))
        return meta
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_BUILD_KEY,))


class ImpactsMixin(PostgresBase):
    # how impact_ranked answered: exact, bounded (best found, unproven), fallback (None)
    impact_counts: Counter[str]

    def __init__(self, url: str, *args: Any, **kwargs: Any):
        super().__init__(url, *args, **kwargs)
        self.impact_counts = Counter()

    def refresh_impacts(self, params: BM25Params, force: bool = False) -> dict[str, Any] | None:
        """Build the impact lists when the store has none, they were made with other BM25
        settings, or more than STALE_SHARE of the listed papers (at least STALE_MIN) came
        after them; returns the new meta, or None when they were fresh."""
        meta = self._impacts_meta(fresh=True)
        if not force and meta is not None and meta["params"] == params_key(params):
            row = self._one("SELECT count(*) FROM papers WHERE seq > %s", (meta["seq"],))
            late = int(row[0]) if row else 0
            if late <= max(STALE_MIN, STALE_SHARE * meta["papers"]):
                return None
        with self.pool.connection() as c:
            c.autocommit = True
            got = build_impacts(c, params)
        self.__dict__.pop("_impacts_cache", None)
        return got

    def _impacts_meta(self, fresh: bool = False) -> dict[str, Any] | None:
        now = time.monotonic()
        got: tuple[float, dict[str, Any] | None] | None = self.__dict__.get("_impacts_cache")
        if fresh or got is None or now - got[0] > META_TTL:
            row = self._one("SELECT obj_description(to_regclass('lexeme_impacts'), 'pg_class')")
            got = self.__dict__["_impacts_cache"] = (now, json.loads(row[0]) if row and row[0] else None)
        return got[1]

    def _word_lexemes(self, words: list[str]) -> dict[str, tuple[tuple[str, ...], str | None] | None]:
        """word -> (the lexemes its tsquery, ranking.py's _WORD_Q, matches: its stem and its
        form as typed, for authors; the stem alone, what a phrase holding it holds), or None
        for a word that parses into several tokens (a phrase, which impacts do not rank).
        Cached per store."""
        cache: dict[str, tuple[tuple[str, ...], str | None] | None] = \
            self.__dict__.setdefault("_lexeme_cache", {})
        todo = [w for w in words if w not in cache]
        if todo:
            if len(cache) > 50_000:
                cache.clear()
            for w, stems, plain in self._all(
                    "SELECT w, tsvector_to_array(to_tsvector('papersift', w)), "
                    "tsvector_to_array(to_tsvector('simple', w)) FROM unnest(%s::text[]) AS w", [todo]):
                cache[w] = None if len(stems) > 1 or len(plain) > 1 else \
                    (tuple(dict.fromkeys([*stems, *plain])), stems[0] if stems else None)
        return {w: cache[w] for w in words}

    def impact_ranked(self, words: list[tuple[str, str, float]], required: tuple[str, list[Any]] | None,
                      must: list[str], where: tuple[str, list[Any]], params: BM25Params, avg: float,
                      k: int, rounds_cap: int = 4000) -> list[tuple[str, float]] | None:
        """The best k papers by BM25 over `words` ((word, tsquery text, idf)) that meet
        `required` (a phrase condition on `paper_fts f`, or None; `must`: the words of its
        phrases, whose stems every answer holds) and the filters, by the impact lists; None when the lists cannot answer (none built, built with other
        settings, a word that is a phrase, too many papers past the watermark).

        Upper bounds from the lists order the candidates; they are scored exactly from
        their tsvectors (score_exact) a round at a time until the k-th score reaches the
        next candidate's bound and the bound of every paper in no list (the sum of the
        floors), so the answer is BM25's exact top k (up to which of the papers tied on the
        k-th score are in it). When the candidates run out first, or past rounds_cap papers
        scored (a filter or phrase that few candidates meet), the best k found are returned
        (None if fewer): a paper in no list, which scores at most the sum of the floors, could
        then be missing (docs/scale.md). impact_counts tells how often each happened."""
        meta = self._impacts_meta()
        if meta is None or meta["params"] != params_key(params) or not words:
            return None
        parsed = self._word_lexemes(list(dict.fromkeys([*(w for w, _, _ in words), *must])))
        if any(v is None for v in parsed.values()):
            return None
        lexemes = {w: v[0] for w, v in parsed.items() if v is not None}
        lex_word: list[tuple[str, int]] = [(lx, i) for i, (w, _, _) in enumerate(words)
                                           for lx in lexemes[w]]
        stems = [st for w in must for st in [parsed[w][1]] if st]  # type: ignore[index]
        rows = {r[0]: r[1:] for r in self._all(
            "SELECT lexeme, df, floor, seqs, impacts FROM lexeme_impacts WHERE lexeme = ANY(%s)",
            [list({*(lx for lx, _ in lex_word), *stems})])}
        slack = max(1.0, avg / float(meta["avg"] or 1.0))
        unseen = 0.0
        seq_parts: list[np.ndarray] = []
        gain_parts: list[np.ndarray] = []
        for lx, i in lex_word:
            if lx not in rows:
                continue  # no listed paper holds it
            _, floor, seqs, imps = rows[lx]
            w_idf = words[i][2]
            unseen += w_idf * float(floor)
            seq_parts.append(np.asarray(seqs, dtype=np.int64))
            gain_parts.append(w_idf * (np.asarray(imps, dtype=np.float64) - float(floor)))
        # A phrase's paper holds each phrase word's stem: a complete list of one (floor 0)
        # holds every listed paper that can match; a stem no listed paper holds, none.
        only: np.ndarray | None = None
        for st in stems:
            if st not in rows:
                only = np.zeros(0, dtype=np.int64)
            elif float(rows[st][1]) == 0.0:
                s = np.asarray(rows[st][2], dtype=np.int64)
                only = s if only is None else np.intersect1d(only, s)
        delta_q = " | ".join(f"({tq})" for _, tq, _ in words)
        delta = [r[0] for r in self._all(
            "SELECT p.seq FROM papers p JOIN paper_fts f ON f.paper_id = p.id WHERE p.seq > %s "
            f"AND f.tsv @@ %s::tsquery AND {(required or ('true', []))[0]} AND {where[0]} LIMIT %s",
            [meta["seq"], delta_q, *(required or ("true", []))[1], *where[1], DELTA_CAP + 1])]
        if len(delta) > DELTA_CAP:
            return None
        if seq_parts:
            seqs_all = np.concatenate(seq_parts)
            uniq, inv = np.unique(seqs_all, return_inverse=True)
            ub = np.bincount(inv, weights=np.concatenate(gain_parts), minlength=len(uniq)) + unseen
        else:
            uniq, ub = np.zeros(0, dtype=np.int64), np.zeros(0)
        if only is not None:
            unseen = 0.0  # a paper outside the complete list cannot hold the phrase
            keep = np.isin(uniq, only)
            uniq, ub = uniq[keep], ub[keep]
        if where[0] != "true" and len(uniq):
            allowed = {r[0] for r in self._all(f"SELECT p.seq FROM papers p WHERE p.seq = ANY(%s) "
                                               f"AND {where[0]}", [uniq.tolist(), *where[1]])}
            keep = np.fromiter((s in allowed for s in uniq.tolist()), dtype=bool, count=len(uniq))
            uniq, ub = uniq[keep], ub[keep]
        order = np.lexsort((uniq, -ub))
        cand = [int(s) for s in delta] + [int(uniq[j]) for j in order]
        bounds = [np.inf] * len(delta) + [float(ub[j]) * slack for j in order]
        step = max(3 * k, 100)
        scored: dict[str, float] = {}
        at = 0
        while True:
            batch = cand[at:at + step]
            at += len(batch)
            scored.update(self.score_exact(batch, words, lexemes, required, params, avg))
            kth = sorted(scored.values(), reverse=True)[k - 1] if len(scored) >= k else 0.0
            if unseen * slack <= kth or (at >= len(cand) and unseen == 0.0):
                nxt = bounds[at] if at < len(bounds) else 0.0
                if nxt <= kth:
                    break  # exact (up to the order of papers tied on the k-th score)
            elif at >= len(cand):
                if len(scored) < k:
                    self.impact_counts["fallback"] += 1
                    return None  # a paper in no list may belong: the lists cannot say
                self.impact_counts["bounded"] += 1
                return sorted(scored.items(), key=lambda x: (-x[1], x[0]))[:k]
            if at >= rounds_cap:
                self.impact_counts["bounded"] += 1
                return sorted(scored.items(), key=lambda x: (-x[1], x[0]))[:k]
        self.impact_counts["exact"] += 1
        return sorted(scored.items(), key=lambda x: (-x[1], x[0]))[:k]

    def score_exact(self, seqs: list[int], words: list[tuple[str, str, float]],
                    lexemes: dict[str, tuple[str, ...]], required: tuple[str, list[Any]] | None,
                    params: BM25Params, avg: float) -> dict[str, float]:
        """paper id -> BM25 over `words` for those of the papers (by seq) holding a word
        and meeting `required`: one read of each paper's tsvector, its lexemes matched to
        the words' (the score ts_rank_cd gives word by word in ranking.py, in one pass)."""
        if not seqs:
            return {}
        lx = [(x, i + 1) for i, (w, _, _) in enumerate(words) for x in lexemes[w]]
        k1, b = float(params.k1), float(params.b)
        req = required or ("true", [])
        rows = self._all(
            "WITH w AS (SELECT * FROM unnest(%s::text[], %s::int[]) AS w(lex, word)), "
            "x AS (SELECT p.id, f.doc_len, w.word, "
            f"sum({weighted_tf('u.weights', params)}) AS tf FROM papers p JOIN paper_fts f ON "
            "f.paper_id = p.id CROSS JOIN LATERAL unnest(f.tsv) u JOIN w ON w.lex = u.lexeme "
            f"WHERE p.seq = ANY(%s) AND {req[0]} GROUP BY p.id, f.doc_len, w.word) "
            "SELECT id, sum((%s::float8[])[word] * tf * %s / (tf + %s + %s * doc_len)) FROM x "
            "WHERE tf > 0 GROUP BY id",
            [[x for x, _ in lx], [i for _, i in lx], seqs, *req[1], [idf for _, _, idf in words],
             k1 + 1, k1 * (1 - b), k1 * b / (avg or 1.0)])
        return {r[0]: float(r[1]) for r in rows}
