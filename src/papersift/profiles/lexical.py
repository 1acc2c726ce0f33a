"""The lexical half of a profile's similarity: papers as tf-idf vectors over the search
index's own terms, so a candidate that shares a profile paper's rare words ranks high even
when the embedder puts them apart.

The terms are search/lexical.py's (its Analyzer: letter/digit runs, accents folded, Porter
stems) and the document frequencies are the BM25 index's, so there is one tokenizer and one
idea of which words are rare. Function words and the words every abstract uses
(text.py's stopword lists) carry no topic and are dropped, and so are words too rare to be
trusted (under `weights.LEX_MIN_DF_SHARE` of the papers: typos, one-off names) and words the index
does not hold. A paper's vector: title words count `weights.LEX_TITLE` times, term frequency
saturates as in BM25, times idf, unit length (docs/profiles.md has the measurements).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ..search.lexical import Analyzer, BM25Index
from ..text import KEYWORD_STOPWORDS, SEARCH_STOPWORDS, WORD
from . import weights as W

BLOCK = 4096  # candidates per block in `similarities` (bounds the gathered matrix)


@dataclass(frozen=True)
class TermVec:
    """One paper: sorted term ids and their weights (unit length; empty: no usable word)."""

    terms: np.ndarray
    weights: np.ndarray


EMPTY = TermVec(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))


@dataclass
class LexicalSpace:
    """Term ids and idf from a BM25 index's vocabulary; paper vectors cached by paper id."""

    vocab: dict[str, int]
    idf: np.ndarray  # per term id; 0 for a dropped term
    analyze: Analyzer = field(default_factory=Analyzer)
    cache: dict[str, TermVec] = field(default_factory=dict)

    @classmethod
    def from_index(cls, idx: BM25Index) -> LexicalSpace:
        return cls.from_counts(idx.vocab, np.diff(idx.indptr), len(idx), idx.analyze)

    @classmethod
    def from_counts(cls, vocab: dict[str, int], df: np.ndarray, n_docs: int,
                    analyze: Analyzer | None = None) -> LexicalSpace:
        analyze = analyze or Analyzer()
        df = np.asarray(df, dtype=np.float64)
        idf = np.maximum(np.log((n_docs - df + 0.5) / (df + 0.5)), 0.0)
        idf[df < max(1, math.ceil(W.LEX_MIN_DF_SHARE * n_docs))] = 0.0
        for w in SEARCH_STOPWORDS | KEYWORD_STOPWORDS:
            t = vocab.get(analyze.stem_word(w))
            if t is not None:
                idf[t] = 0.0
        for s, t in vocab.items():
            if s.isdigit():  # numbers name no topic ("2", "2024")
                idf[t] = 0.0
        return cls(vocab, idf.astype(np.float32), analyze)

    def _ids(self, text: str) -> list[int]:
        v = self.vocab
        return [t for t in map(v.get, self.analyze(text)) if t is not None]

    def vector(self, title: str, abstract: str) -> TermVec:
        ids = self._ids(title) * W.LEX_TITLE + self._ids(abstract)
        if not ids:
            return EMPTY
        terms, counts = np.unique(np.asarray(ids, dtype=np.int64), return_counts=True)
        w = self.idf[terms] * (counts * (W.LEX_K1 + 1) / (counts + W.LEX_K1))
        keep = w > 0
        terms, w = terms[keep], w[keep].astype(np.float32)
        n = float(np.linalg.norm(w))
        return TermVec(terms, w / n) if n > 0 else EMPTY

    def vectors(self, items: Iterable[tuple[str | None, str, str]]) -> list[TermVec]:
        """(paper id or None, title, abstract) -> vectors; stored papers are cached by id."""
        out = []
        for pid, title, abstract in items:
            got = self.cache.get(pid) if pid is not None else None
            if got is None:
                got = self.vector(title, abstract)
                if pid is not None:
                    self.cache[pid] = got
            out.append(got)
        return out

    def shared_words(self, title: str, abstract: str, seeds: list[TermVec], k: int) -> list[str]:
        """The candidate's own words (as written in it) behind most of its similarity to
        `seeds`: the terms with the largest product of weights, best first."""
        cand = self.vector(title, abstract)
        if not len(cand.terms) or not seeds:
            return []
        gain = np.zeros(len(cand.terms), dtype=np.float32)
        for s in seeds:
            common, ci, si = np.intersect1d(cand.terms, s.terms, assume_unique=True, return_indices=True)
            gain[ci] += cand.weights[ci] * s.weights[si]
        order = [int(i) for i in np.argsort(-gain, kind="stable")[:k] if gain[i] > 0]
        want = {int(cand.terms[i]): n for n, i in enumerate(order)}
        words: list[str | None] = [None] * len(order)
        for word in WORD.findall(f"{title} {abstract}"):
            t = self.vocab.get(self.analyze.stem_word(word))
            if t in want and words[want[t]] is None:
                words[want[t]] = word.lower()
        return [w for w in words if w]


def similarities(cands: list[TermVec], seeds: list[TermVec]) -> np.ndarray:
    """Cosine of every candidate to every seed, (len(cands), len(seeds)) float32: the seeds
    as a dense matrix over their own terms, the candidates' matching terms gathered from it."""
    out = np.zeros((len(cands), len(seeds)), dtype=np.float32)
    if not cands or not seeds:
        return out
    vocab = np.unique(np.concatenate([s.terms for s in seeds]))
    mat = np.zeros((len(vocab), len(seeds)), dtype=np.float32)
    for j, s in enumerate(seeds):
        mat[np.searchsorted(vocab, s.terms), j] = s.weights
    if not len(vocab):
        return out
    for lo in range(0, len(cands), BLOCK):
        part = cands[lo:lo + BLOCK]
        lens = np.fromiter((len(c.terms) for c in part), dtype=np.int64, count=len(part))
        if not lens.sum():
            continue
        terms = np.concatenate([c.terms for c in part])
        wts = np.concatenate([c.weights for c in part])
        rows = np.repeat(np.arange(len(part)), lens)
        pos = np.minimum(np.searchsorted(vocab, terms), len(vocab) - 1)
        hit = vocab[pos] == terms
        if not hit.any():
            continue
        rows, pos, wts = rows[hit], pos[hit], wts[hit]
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        out[lo + rows[starts]] = np.add.reduceat(wts[:, None] * mat[pos], starts, axis=0)
    return out


def centroid(vecs: list[TermVec]) -> TermVec:
    """The unit-length sum of the vectors."""
    terms = np.concatenate([v.terms for v in vecs])
    if not len(terms):
        return EMPTY
    uniq, inv = np.unique(terms, return_inverse=True)
    w = np.bincount(inv, weights=np.concatenate([v.weights for v in vecs])).astype(np.float32)
    return TermVec(uniq, w / float(np.linalg.norm(w)))
