"""Ranking by the impact-ordered postings (impacts.py): a query reads the front of each of
its lexemes' postings, and deeper only while what it has read cannot settle the top k.

From a prefix, a paper's score is known (listed in every lexeme's prefix, or the rest of
that lexeme's postings read), or bounded: the impact of the last entry read of a lexeme
bounds every paper not read there. Known scores need no tsvector; the few papers whose
bounds straddle the k-th score are scored from their tsvectors (score_exact), as are the
papers stored since the watermark, and every candidate of a query with a phrase or filters
(which the postings do not hold). The answer is BM25's exact top k (up to the order of
papers tied on the k-th score) unless a query would read more than READ_CAP entries or
score more than SCORE_CAP papers; then it is the best found, and impact_counts says so.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import numpy as np

from ..base import BM25Params
from .core import PostgresBase
from .impacts import (
    META_SQL,
    REBUILD_GROWTH,
    PostingsCache,
    Prefixes,
    build_impacts,
    merge_impacts,
    params_key,
    parse_meta,
    saturation,
    weighted_tf,
)

READ_FIRST = 32768  # entries of each lexeme's postings a query reads first
READ_CAP = 1_500_000  # entries a query reads at most (8 bytes each from the server)
SCORE_CAP = 3000  # papers a query scores from their tsvectors at most
OPEN_MAX = 200  # open papers (bounds straddling the k-th score) scored rather than read on
DELTA_CAP = 5000  # papers past the watermark a query scores; past it the postings are not used
META_TTL = 30.0  # seconds the postings' facts are reused


class _Candidates:
    """Every paper read, with what the prefixes say of its score: lb, a lower bound (per
    word the best of its lexemes' impacts the paper was read with, times the idf), ub, an
    upper bound (a lexeme's floor where the paper was not read), and `known` where the two
    are one (read in every lexeme not read to the end, one lexeme per word held).
    `unseen` bounds a paper read nowhere: the sum of the floors. Sums over papers are
    dense arrays indexed by seq (size: the watermark + 1): bincount, not a sort."""

    seqs: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    known: np.ndarray

    def __init__(self, pre: Prefixes, lex_word: list[tuple[str, int]], idfs: list[float],
                 only: np.ndarray | None, size: int):
        by_word: dict[int, list[str]] = {}
        for lx, i in lex_word:
            by_word.setdefault(i, []).append(lx)
        # Entry-level weights over one array of every entry read, one bincount each: the
        # lower bound takes each word's first lexeme with postings (a paper holding two of
        # a word's lexemes scores at least what one gives), the upper bound every lexeme's
        # gain over its floor.
        seq_p: list[np.ndarray] = []
        ub_p: list[np.ndarray] = []
        lb_p: list[np.ndarray] = []
        tr_p: list[np.ndarray] = []
        multi_s: list[np.ndarray] = []
        n_trunc = 0
        self.unseen = 0.0
        for i, lxs in by_word.items():
            held = [lx for lx in lxs if len(pre.seqs[lx])]
            for lx in lxs:
                seqs, imps, floor = pre.seqs[lx], pre.imps[lx], pre.floor(lx)
                n_trunc += floor > 0
                self.unseen += idfs[i] * floor
                if not len(seqs):
                    continue
                seq_p.append(seqs)
                ub_p.append(idfs[i] * (imps - floor))
                lb_p.append(idfs[i] * imps if lx == held[0] else np.zeros(len(seqs)))
                tr_p.append(np.full(len(seqs), 1.0 if floor > 0 else 0.0))
            if len(held) > 1:
                multi_s.append(np.concatenate([pre.seqs[lx] for lx in held]))
        if not seq_p:
            self.seqs, self.lb, self.ub = np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)
            self.known = np.zeros(0, dtype=bool)
            return
        every = np.concatenate(seq_p)
        pick = (np.bincount(every, minlength=size) > 0).nonzero()[0]  # (bools: far cheaper)
        if only is not None:
            pick = pick[np.isin(pick, only)]
        self.seqs = pick.astype(np.int64)
        self.lb = np.bincount(every, np.concatenate(lb_p), minlength=size)[pick]
        self.ub = self.unseen + np.bincount(every, np.concatenate(ub_p), minlength=size)[pick]
        known = np.bincount(every, np.concatenate(tr_p), minlength=size)[pick] == n_trunc
        for ms in multi_s:  # unknown: BM25 saturates the sum of two lexemes' counts
            known &= np.bincount(ms, minlength=size)[pick] <= 1
        self.known = known


class ImpactsMixin(PostgresBase):
    # how impact_ranked answered: exact, bounded (best found, unproven), fallback (None)
    impact_counts: Counter[str]

    def __init__(self, url: str, *args: Any, **kwargs: Any):
        super().__init__(url, *args, **kwargs)
        self.impact_counts = Counter()
        self._postings_cache = PostingsCache()

    def refresh_impacts(self, params: BM25Params, force: bool = False) -> dict[str, Any] | None:
        """Bring the impact postings up to date: built whole when the store has none, they
        were made with other BM25 settings, or the papers have grown by REBUILD_GROWTH since
        the build (its average length ages); else the papers since the watermark are merged
        in. Returns the postings' new facts, or None when nothing was to do."""
        meta = self._impacts_meta(fresh=True)
        late = 0 if meta is None else self._stored_since(meta)
        with self.pool.connection() as c:
            c.autocommit = True
            got: dict[str, Any] | None
            # (meta is None too for postings of another FORMAT: parse_meta)
            if (force or meta is None or meta["params"] != params_key(params)
                    or int(meta["papers"]) + late
                    > (1 + REBUILD_GROWTH) * max(int(meta.get("built_papers", 0)), 1)):
                got = build_impacts(c, params)
            elif late:
                got = merge_impacts(c, params)
            else:
                return None
        self.__dict__.pop("_impacts_cache", None)
        return got

    def impacts_status(self) -> dict[str, Any] | None:
        """The postings' state for `papersift status`: papers listed, papers stored since
        the watermark (ranked from their tsvectors until merged), when built and merged;
        None when none are built."""
        meta = self._impacts_meta(fresh=True)
        if meta is None:
            return None
        return {"papers": int(meta["papers"]), "late": self._stored_since(meta),
                "built": meta.get("built"), "merged": meta.get("merged")}

    def _stored_since(self, meta: dict[str, Any]) -> int:
        """Papers stored past the postings' watermark (the delta)."""
        row = self._one("SELECT count(*) FROM papers WHERE seq > %s", (meta["seq"],))
        return int(row[0]) if row else 0

    def _impacts_meta(self, fresh: bool = False) -> dict[str, Any] | None:
        now = time.monotonic()
        got: tuple[float, dict[str, Any] | None] | None = self.__dict__.get("_impacts_cache")
        if fresh or got is None or now - got[0] > META_TTL:
            got = self.__dict__["_impacts_cache"] = (now, parse_meta(self._one(META_SQL)))
        return got[1]

    def _word_lexemes(self, words: list[str]) -> dict[str, tuple[tuple[str, ...], str | None] | None]:
        """word -> (the lexemes its tsquery, ranking.py's _WORD_Q, matches: its stem and its
        form as typed, for authors; the stem alone, what a phrase holding it holds), or None
        for a word that parses into several tokens (a phrase, which postings do not rank).
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
                      must: list[str], where: tuple[str, list[Any]], params: BM25Params,
                      k: int) -> tuple[list[tuple[str, float]], int] | None:
        """The best k papers by BM25 over `words` ((word, tsquery text, idf)) that meet
        `required` (a phrase condition on `paper_fts f`, or None; `must`: the words of its
        phrases, whose stems every answer holds) and the filters (`where` on `papers p`),
        with scores at the postings' average length, and how many papers were found to
        match (a lower bound: the checked ones for a phrase or filters); None when the
        postings cannot answer (none built, built with other settings, a word that is a
        phrase, too many papers past the watermark, a free query with fewer than k found
        and papers left unread)."""
        meta = self._impacts_meta()
        if meta is None or meta["params"] != params_key(params) or not words or k <= 0:
            return None
        parsed = self._word_lexemes(list(dict.fromkeys([*(w for w, _, _ in words), *must])))
        if any(v is None for v in parsed.values()):
            return None
        lexemes = {w: v[0] for w, v in parsed.items() if v is not None}
        lex_word = [(lx, i) for i, (w, _, _) in enumerate(words) for lx in lexemes[w]]
        stems = [st for w in must for st in [parsed[w][1]] if st]  # type: ignore[index]
        avg = float(meta["avg"] or 1.0)
        verify = required is not None or where[0] != "true"
        req = required or ("true", [])
        delta = [r[0] for r in self._all(
            "SELECT p.seq FROM papers p JOIN paper_fts f ON f.paper_id = p.id WHERE p.seq > %s "
            f"AND f.tsv @@ %s::tsquery AND {req[0]} AND {where[0]} LIMIT %s",
            [meta["seq"], " | ".join(f"({tq})" for _, tq, _ in words), *req[1], *where[1],
             DELTA_CAP + 1])]
        if len(delta) > DELTA_CAP:
            return None

        def score(seqs: list[int]) -> dict[int, float]:
            return self.score_exact(seqs, words, lexemes, required, where, params, avg)

        done: dict[int, float | None] = {s: None for s in delta}  # seq -> score, None: fails
        done.update(score(delta))
        pre = Prefixes(self, [*(lx for lx, _ in lex_word), *stems], self._postings_cache,
                        f"{meta['built']}:{meta['seq']}")
        pre.read({lx: READ_FIRST for lx in pre.want})
        idfs = [idf_ for _, _, idf_ in words]
        scored = len(delta)
        while True:
            only = self._phrase_holders(pre, stems)
            cands = _Candidates(pre, lex_word, idfs, only, int(meta["seq"]) + 1)
            unseen = 0.0 if only is not None else cands.unseen
            sure = cands.known & (not verify)  # scores the postings settle, nothing to check
            found = {s: v for s, v in done.items() if v is not None}
            # only the best k of the settled scores can matter (their k-th bounds the rest)
            top = np.flatnonzero(sure)
            if len(top) > k:
                top = top[np.argpartition(-cands.lb[top], k - 1)[:k]]
            found.update(zip(cands.seqs[top].tolist(), cands.lb[top].tolist(), strict=True))
            kth = _kth(found, k)
            more = {lx: max(len(pre.seqs[lx]), READ_FIRST) * 7 for lx in pre.want if pre.floor(lx) > 0}
            can_read = bool(more) and pre.total() + sum(more.values()) <= READ_CAP
            todo = ~sure & (cands.ub > kth) & ~np.isin(cands.seqs, np.fromiter(done, np.int64, len(done)))
            # Reading on costs bytes; a tsvector costs tens of microseconds: read while the
            # front read leaves the unread papers or too many open ones able to pass.
            if not verify and can_read and (unseen > kth or int(todo.sum()) > OPEN_MAX):
                pre.read(more)
                continue
            order = np.lexsort((cands.seqs[todo], -cands.ub[todo]))
            queue = list(zip(cands.seqs[todo][order].tolist(), cands.ub[todo][order].tolist(), strict=True))
            # a filter alone needs no tsvector for a known score: the paper row decides
            plain_ok = cands.known & todo  # only queued papers are looked up
            lb_known = (dict(zip(cands.seqs[plain_ok].tolist(), cands.lb[plain_ok].tolist(), strict=True))
                        if required is None and verify else {})
            while queue and scored < SCORE_CAP and (len(found) < k or queue[0][1] > kth):
                batch, queue = queue[:max(3 * k, 100)], queue[max(3 * k, 100):]
                plain = [s for s, _ in batch if s in lb_known]
                rest = [s for s, _ in batch if s not in lb_known]
                scored += len(rest)
                got = score(rest)
                if plain:
                    got.update({r[0]: lb_known[r[0]] for r in self._all(
                        f"SELECT p.seq FROM papers p WHERE p.seq = ANY(%s) AND {where[0]}",
                        [plain, *where[1]])})
                done.update({s: got.get(s) for s, _ in batch})
                found.update(got)
                kth = _kth(found, k)
            settled = not queue or (len(found) >= k and queue[0][1] <= kth)
            if settled and (unseen <= kth or unseen == 0.0):
                self.impact_counts["exact"] += 1
                break
            if not can_read or scored >= SCORE_CAP:
                # Fewer than k found: a free query goes to the older paths; a phrase or a
                # filter keeps what it verified (those paths would check every holder of
                # its words, seconds for a phrase of common words on a big table).
                if len(found) < k and unseen > 0.0 and not (verify and found):
                    self.impact_counts["fallback"] += 1
                    return None
                self.impact_counts["bounded"] += 1
                break
            pre.read(more)
        best = sorted(found, key=lambda s: (-found[s], s))[:k + 20]
        ids = {r[0]: r[1] for r in self._all("SELECT seq, id FROM papers WHERE seq = ANY(%s)", [best])}
        return (sorted(((ids[s], found[s]) for s in best if s in ids), key=lambda t: (-t[1], t[0]))[:k],
                len(found))

    @staticmethod
    def _phrase_holders(pre: Prefixes, stems: list[str]) -> np.ndarray | None:
        """A phrase's paper holds each phrase word's stem: the papers of a stem's postings
        read to the end hold every paper that can match (None: no such stem)."""
        only: np.ndarray | None = None
        for st in stems:
            if pre.floor(st) == 0.0:
                got = np.unique(pre.seqs[st])
                only = got if only is None else np.intersect1d(only, got, assume_unique=True)
        return only

    def score_exact(self, seqs: list[int], words: list[tuple[str, str, float]],
                    lexemes: dict[str, tuple[str, ...]], required: tuple[str, list[Any]] | None,
                    where: tuple[str, list[Any]], params: BM25Params, avg: float) -> dict[int, float]:
        """seq -> BM25 over `words` for those of the papers (by seq) holding a word and
        meeting `required` and `where`: one read of each paper's tsvector, its lexemes
        matched to the words' (the score ts_rank_cd gives word by word in ranking.py)."""
        if not seqs:
            return {}
        lx = [(x, i + 1) for i, (w, _, _) in enumerate(words) for x in lexemes[w]]
        req = required or ("true", [])
        rows = self._all(
            "WITH w AS (SELECT * FROM unnest(%s::text[], %s::int[]) AS w(lex, word)), "
            "x AS (SELECT p.seq, f.doc_len, w.word, "
            f"sum({weighted_tf('u.weights', params)}) AS tf FROM papers p JOIN paper_fts f ON "
            "f.paper_id = p.id CROSS JOIN LATERAL unnest(f.tsv) u JOIN w ON w.lex = u.lexeme "
            f"WHERE p.seq = ANY(%s) AND {req[0]} AND {where[0]} GROUP BY p.seq, f.doc_len, w.word) "
            "SELECT seq, sum((%s::float8[])[word] * tf * %s / (tf + %s + %s * doc_len)) FROM x "
            "WHERE tf > 0 GROUP BY seq",
            [[x for x, _ in lx], [i for _, i in lx], seqs, *req[1], *where[1],
             [idf for _, _, idf in words], *saturation(params, avg)])
        return {int(r[0]): float(r[1]) for r in rows}


def _kth(found: dict[int, float], k: int) -> float:
    if len(found) < k:
        return 0.0
    return float(np.partition(np.fromiter(found.values(), dtype=np.float64), len(found) - k)[len(found) - k])
