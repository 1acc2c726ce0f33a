"""What sets a profile's papers apart from the rest of the store: a linear model over the
lexical space (profiles/lexical.py), fitted per profile against a fixed sample of stored
papers, the way arxiv-sanity-lite fits an SVM per user tag.

Nearest-seed similarity rewards any paper that shares words with one of the profile's
papers, including the words every paper in the field uses; the contrast model learns which
of the profile's words are rare *among the other stored papers* and weighs them up, and
which are common there and weighs them down. It is kernel ridge regression on the tf-idf
cosine (targets 1 for the profile's papers, 0 for the background, each class weighted to
the same total), so it needs no optimiser and gives the same answer every time: the
background's Gram matrix is computed once per ranker and each profile solves one
(seeds + background) linear system. The fitted model is one weighted term vector, so a
candidate's contrast score is one sparse dot product (docs/profiles.md has the figures).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from . import weights as W
from .lexical import LexicalSpace, TermVec, similarities


@dataclass
class Background:
    """The stored papers a profile is contrasted with: their term vectors and Gram matrix."""

    ids: list[str]
    vecs: list[TermVec]
    gram: np.ndarray  # (n, n) float64: tf-idf cosines among the background papers

    @classmethod
    def build(cls, space: LexicalSpace, items: Iterable[tuple[str, str, str]]) -> Background:
        """items: (paper id, title, abstract) of the sample; papers with no usable word
        are left out (they would only add a row of zeros)."""
        rows = list(items)
        kept = [(r[0], v) for r, v in zip(rows, space.vectors(rows), strict=True) if len(v.terms)]
        vecs = [v for _, v in kept]
        return cls([pid for pid, _ in kept], vecs, similarities(vecs, vecs).astype(np.float64))


def sample_ids(ids: list[str], n: int = W.CONTRAST_BACKGROUND) -> list[str]:
    """`n` of the stored ids, evenly spaced over the store's order (deterministic: the
    same store gives the same sample)."""
    if len(ids) <= n:
        return list(ids)
    step = len(ids) / n
    return [ids[int(i * step)] for i in range(n)]


def contrast_vector(seeds: list[TermVec], background: Background, seed_ids: set[str],
                    lam: float = W.CONTRAST_LAMBDA) -> TermVec | None:
    """The profile's contrast model as one weighted term vector (not unit length; some
    weights are negative), or None when there is nothing to contrast (no seed with words,
    or no background paper that is not a seed)."""
    pos = [v for v in seeds if len(v.terms)]
    keep = [i for i, pid in enumerate(background.ids) if pid not in seed_ids]
    if not pos or not keep:
        return None
    neg = [background.vecs[i] for i in keep]
    k_pp = similarities(pos, pos).astype(np.float64)
    k_np = similarities(neg, pos).astype(np.float64)
    k_nn = background.gram[np.ix_(keep, keep)]
    gram = np.block([[k_pp, k_np.T], [k_np, k_nn]])
    n_pos, n_neg = len(pos), len(neg)
    n = n_pos + n_neg
    # Each class weighs the same in the loss: a sample weight 1/n_class, which in the dual
    # puts lam * n_class / n on the diagonal.
    ridge = np.r_[np.full(n_pos, lam * n_pos / n), np.full(n_neg, lam * n_neg / n)]
    y = np.r_[np.ones(n_pos), np.zeros(n_neg)]
    alpha = np.linalg.solve(gram + np.diag(ridge), y)
    train = pos + neg
    terms = np.concatenate([v.terms for v in train])
    owner = np.repeat(np.arange(n), [len(v.terms) for v in train])
    uniq, inv = np.unique(terms, return_inverse=True)
    w = np.bincount(inv, weights=np.concatenate([v.weights for v in train]) * alpha[owner],
                    minlength=len(uniq)).astype(np.float32)
    nz = w != 0
    return TermVec(uniq[nz], w[nz])
