"""In-memory BM25 for free-word queries: the same scoring FTS5's bm25() gives, in ~1 ms.

FTS5 computes bm25() for every row an OR query matches; over 89k abstracts a query like
"language models" matches 70k rows and takes over a second (bench/search_speed.py). This
index keeps one postings list per stemmed term with the BM25 contribution precomputed, so a
query is a handful of numpy scatter-adds into a score vector, then one argpartition.

Scoring follows FTS5's bm25 with column weights: tf = sum of weight(column) * count in that
column, document length = all tokens, k1 and b from BM25Params (FTS5 fixes 1.2 and 0.75), idf = log((N - n + 0.5) / (n + 0.5))
floored at 1e-6. Tokens: letters/digits runs, lower-cased, diacritics removed, Porter-stemmed
(PyStemmer's "porter", which agrees with FTS5's porter tokenizer on >99% of words).

Phrases and author: terms still go to FTS5 (they are selective); the index is rebuilt when
the papers table changed (cached as an .npz beside the database, so a CLI call loads it in
well under a second instead of rebuilding).
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import numpy as np
import Stemmer

from ..ids import title_key
from ..store.base import SearchSource
from ..store.records import DEFAULT_BM25, BM25Params
from ..text import WORD, strip_accents

_stem_words = Stemmer.Stemmer("porter").stemWords
__all__ = ["Analyzer", "BM25Index", "BM25Params", "build_from_store", "index_version"]


FORMAT = 1  # bump when the cached file layout or the scoring changes


def _fold(text: str) -> str:
    return strip_accents(text.lower())


def _words(text: str) -> list[str]:
    return WORD.findall(text.lower() if text.isascii() else _fold(text))


class Analyzer:
    """Text -> stemmed tokens, with a cache (a corpus has far fewer words than tokens)."""

    def __init__(self) -> None:
        self.cache: dict[str, str] = {}

    def stem(self, words: list[str]) -> list[str]:
        return _stem_words(words)

    def stem_word(self, word: str) -> str:
        """One surface word (any case, accents) -> its stem, cached."""
        w = word.lower() if word.isascii() else _fold(word)
        s = self.cache.get(w)
        if s is None:
            s = self.cache[w] = _stem_words([w])[0]
        return s

    def __call__(self, text: str) -> list[str]:
        words = _words(text)
        new = [w for w in set(words) if w not in self.cache]
        if new:
            self.cache.update(zip(new, _stem_words(new), strict=True))
        c = self.cache
        return [c[w] for w in words]


class BM25Index:
    def __init__(self, ids: list[str], keys: list[str], vocab: dict[str, int], indptr: np.ndarray,
                 docs: np.ndarray, weights: np.ndarray, version: str):
        self.ids, self.keys, self.vocab = ids, keys, vocab
        self.indptr, self.docs, self.weights = indptr, docs, weights
        self.version = version
        self.build_seconds = 0.0  # 0 when loaded from the cache file
        self.row = {pid: i for i, pid in enumerate(ids)}
        self.analyze = Analyzer()

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def build(cls, rows: list[tuple[str, str, str, str]], version: str,
              params: BM25Params = DEFAULT_BM25) -> BM25Index:
        """rows: (id, title, abstract, authors text)."""
        analyze = Analyzer()
        vocab: dict[str, int] = {}
        word_id: dict[str, int] = {}  # surface word -> term id (one dict hit per token)
        n_docs = len(rows)
        terms: list[np.ndarray] = []
        field_w: list[np.ndarray] = []
        docs: list[np.ndarray] = []
        lengths = np.zeros(n_docs, dtype=np.float32)
        for d, row in enumerate(rows):
            n = 0
            for text, w in zip(row[1:4], params.weights, strict=True):
                words = _words(text)
                if not words:
                    continue
                new = list(set(words).difference(word_id))
                if new:
                    for x, stem in zip(new, analyze.stem(new), strict=True):
                        word_id[x] = vocab.setdefault(stem, len(vocab))
                terms.append(np.array(list(map(word_id.__getitem__, words)), dtype=np.int64))
                field_w.append(np.full(len(words), w, dtype=np.float32))
                docs.append(np.full(len(words), d, dtype=np.int64))
                n += len(words)
            lengths[d] = n
        if terms:
            # One (term, doc) key per token; summing field weights per key gives the
            # weighted term frequency, and sorting by key groups postings by term.
            key = np.concatenate(terms) * max(n_docs, 1) + np.concatenate(docs)
            uniq, inverse = np.unique(key, return_inverse=True)
            tf = np.bincount(inverse, weights=np.concatenate(field_w)).astype(np.float32)
            all_terms = (uniq // max(n_docs, 1)).astype(np.int64)
            all_docs = (uniq % max(n_docs, 1)).astype(np.int32)
        else:
            tf = np.zeros(0, np.float32)
            all_terms = np.zeros(0, np.int64)
            all_docs = np.zeros(0, np.int32)
        df = np.bincount(all_terms, minlength=len(vocab)).astype(np.float64)
        indptr = np.concatenate([[0], np.cumsum(df)]).astype(np.int64)
        idf = np.maximum(np.log((n_docs - df + 0.5) / (df + 0.5)), 1e-6)
        avg = float(lengths.mean()) if n_docs else 1.0
        k1, b = params.k1, params.b
        norm = k1 * (1 - b + b * lengths[all_docs] / (avg or 1.0))
        wts = (idf[all_terms] * tf * (k1 + 1) / (tf + norm)).astype(np.float32)
        keys = [title_key(r[1]) for r in rows]
        return cls([r[0] for r in rows], keys, vocab, indptr, all_docs, wts, version)

    def scores(self, terms: list[str]) -> np.ndarray | None:
        """Dense BM25 score per document for OR-ed free terms (None: no term is known)."""
        stems = list(dict.fromkeys(self.analyze(" ".join(terms))))
        spans = [(self.indptr[t], self.indptr[t + 1]) for t in (self.vocab.get(s) for s in stems)
                 if t is not None]
        if not spans:
            return None
        out = np.zeros(len(self.ids), dtype=np.float32)
        for a, b in spans:
            out[self.docs[a:b]] += self.weights[a:b]  # a term lists each document once
        return out

    def top(self, terms: list[str], k: int, allowed: np.ndarray | None = None
            ) -> tuple[list[tuple[str, float]], int]:
        """Best k (id, score) and how many documents matched at all."""
        s = self.scores(terms)
        if s is None:
            return [], 0
        if allowed is not None:
            s = np.where(allowed, s, 0.0)
        matched = int(np.count_nonzero(s))
        if matched == 0:
            return [], 0
        k = min(k, matched)
        np.negative(s, out=s)  # in place (s is ours): the best are now the smallest
        # Few matches (the median query matches ~15k of 89k): work on those rows only.
        # (s != 0).nonzero() is ~9x faster than np.flatnonzero on floats.
        nz = (s != 0).nonzero()[0] if matched * 3 < len(s) else None
        vals = s if nz is None else s[nz]
        # BM25 scores tie a lot (44k matches, 2k distinct values): argpartition crawls on
        # ties, so find the k-th best value with partition, keep everything that good, and
        # order that short list by (score, row).
        if k < len(vals):
            keep = (vals <= np.partition(vals, k - 1)[k - 1]).nonzero()[0]
        else:
            keep = (vals != 0).nonzero()[0]
        rows = keep if nz is None else nz[keep]
        part = rows[np.lexsort((rows, s[rows]))[:k]]  # score desc, then stable by row
        return [(self.ids[i], -float(s[i])) for i in part], matched

    def mask(self, allowed_ids: set[str]) -> np.ndarray:
        m = np.zeros(len(self.ids), dtype=bool)
        rows = [self.row[p] for p in allowed_ids if p in self.row]
        m[rows] = True
        return m

    # -- cache file ------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        terms = sorted(self.vocab, key=self.vocab.__getitem__)
        # One temp file per process: two processes saving at once must not write into one.
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp.npz")
        np.savez(tmp, indptr=self.indptr, docs=self.docs, weights=self.weights,
                 ids=_pack(self.ids), keys=_pack(self.keys), terms=_pack(terms),
                 version=_pack([self.version, str(FORMAT)]))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, version: str) -> BM25Index | None:
        """The cached index when it was built for this store version, else None."""
        try:
            with np.load(path, allow_pickle=False) as z:
                if _unpack(z["version"]) != [version, str(FORMAT)]:
                    return None
                terms, ids, keys = _unpack(z["terms"]), _unpack(z["ids"]), _unpack(z["keys"])
                if len(keys) != len(ids):  # [""] packs to an empty buffer
                    keys = [""] * len(ids)
                return cls(ids, keys, {t: i for i, t in enumerate(terms)},
                           z["indptr"], z["docs"], z["weights"], version)
        except (OSError, KeyError, ValueError):
            return None


# Strings are stored as one newline-joined UTF-8 buffer: no pickle needed to read the cache.
def _pack(items: list[str]) -> np.ndarray:
    return np.frombuffer("\n".join(items).encode("utf-8"), dtype=np.uint8)


def _unpack(buf: np.ndarray) -> list[str]:
    text = buf.tobytes().decode("utf-8")
    return text.split("\n") if text else []


def index_version(papers_version: str, params: BM25Params) -> str:
    """The version an index built from these papers with these parameters carries."""
    return f"{papers_version}|{params}"


def build_from_store(store: SearchSource, params: BM25Params, cache: Path | None) -> BM25Index:
    """Load the cached index if the papers did not change, else rebuild (and cache) it."""
    version = index_version(store.papers_version(), params)
    if cache is not None and cache.exists():
        idx = BM25Index.load(cache, version)
        if idx is not None:
            return idx
    t0 = time.perf_counter()
    rows = list(store.search_texts(with_authors=True))
    idx = BM25Index.build(rows, version, params)
    idx.build_seconds = time.perf_counter() - t0
    if cache is not None:
        with contextlib.suppress(OSError):  # a read-only data dir only costs a rebuild later
            idx.save(cache)
    return idx
