"""A small inverted-file (IVF) index for cosine search over unit vectors, in numpy.

Used only for large corpora (VectorIndex.ANN_MIN rows), because bench/search_speed.py
showed that it pays there. An exact scan of 89k x 256 float32 vectors reads 91 MB per query
and takes 8-25 ms on this 2-core machine. The IVF probes the 30% of clusters nearest the
query and takes ~3.5 ms; its top 10 agree with the exact scan's on 97.6% (probing 12% / 20%:
1.5 / 2.5 ms, 90% / 95%; the benchmark prints the figure for each run). Spherical k-means runs on a fixed-seed sample, so the index is deterministic.

Vectors wider than PROJECT_DIMS are scanned in a PCA projection to PROJECT_DIMS (fit on the
same sample): the probed lists' rows are read at a third of their width, and the best
RERANK (or 5 x k) of them are then scored exactly, so the scores returned are true cosines.
The scan is memory-bound, so reading less is the lever; docs/embeddings.md has the
measured agreement and time.
"""

from __future__ import annotations

import numpy as np

PROJECT_DIMS = 128  # the scan's width for wider vectors
RERANK = 500  # projected candidates scored exactly (at least; 5 x k for a deep k)


class IVF:
    def __init__(self, matrix: np.ndarray, nlist: int | None = None, nprobe_share: float = 0.3,
                 sample: int = 20_000, iters: int = 8, seed: int = 0):
        n = len(matrix)
        self.nlist = nlist or max(1, int(np.sqrt(n)))
        self.nprobe = max(1, int(round(self.nlist * nprobe_share)))
        rng = np.random.default_rng(seed)
        pick = rng.choice(n, size=min(sample, n), replace=False)
        train = matrix[pick]
        cent = train[rng.choice(len(train), size=self.nlist, replace=False)].copy()
        for _ in range(iters):
            assign = np.argmax(train @ cent.T, axis=1)
            sums = np.zeros_like(cent)
            np.add.at(sums, assign, train)
            empty = np.bincount(assign, minlength=self.nlist) == 0
            sums[empty] = cent[empty]  # an empty cluster keeps its centroid
            cent = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
        # Lists numbered along a nearest-neighbour chain of their centroids: the lists a
        # query probes are near each other, so they sit mostly side by side in the sorted
        # matrix and merge into fewer, longer slices, each one matrix product
        # (docs/search.md has the counts).
        self.centroids = cent[_chain(cent)].astype(np.float32)
        assign = np.empty(n, dtype=np.int64)
        for i in range(0, n, 20_000):  # chunks bound the n x nlist temporary
            assign[i:i + 20_000] = np.argmax(matrix[i:i + 20_000] @ self.centroids.T, axis=1)
        # Rows sorted by cluster: each probed cluster is one contiguous slice to scan.
        self.order = np.argsort(assign, kind="stable")
        self.sorted = np.ascontiguousarray(matrix[self.order])
        counts = np.bincount(assign, minlength=self.nlist)
        self.offsets = np.concatenate([[0], np.cumsum(counts)])
        # x . q = (x - mean) . q + mean . q: the constant does not change the order, and
        # (x - mean) lies mostly in the sample's top principal directions.
        self.proj: np.ndarray | None = None
        self.reduced: np.ndarray | None = None
        if matrix.shape[1] > PROJECT_DIMS and len(train) > PROJECT_DIMS:
            mean = train.mean(axis=0)
            _, _, vt = np.linalg.svd(train - mean, full_matrices=False)
            self.proj = np.ascontiguousarray(vt[:PROJECT_DIMS].T.astype(np.float32))
            self.reduced = np.empty((n, PROJECT_DIMS), dtype=np.float32)
            for i in range(0, n, 20_000):
                self.reduced[i:i + 20_000] = (self.sorted[i:i + 20_000] - mean) @ self.proj

    def search(self, q: np.ndarray, k: int, mask: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """(row indices into the original matrix, scores), best first, at most k. `mask`
        (a boolean per original row) keeps only those rows: the probed lists are scanned
        as usual and the rows it excludes dropped, so a filter costs no more than no
        filter; fewer than k may come back when the probed lists hold fewer allowed rows
        (the caller decides whether to scan exactly instead)."""
        probe = np.sort(np.argpartition(-(self.centroids @ q), self.nprobe - 1)[:self.nprobe])
        # Neighbouring lists are one contiguous slice: merge each run of consecutive ids.
        cut = np.flatnonzero(np.diff(probe) != 1) + 1
        firsts, lasts = probe[np.r_[0, cut]], probe[np.r_[cut - 1, len(probe) - 1]]
        spans = [(self.offsets[a], self.offsets[b + 1]) for a, b in zip(firsts, lasts, strict=True)]
        rows = np.concatenate([np.arange(a, b) for a, b in spans])
        ok = None if mask is None else mask[self.order[rows]]
        if len(rows) == 0 or (ok is not None and not ok.any()):
            return rows[:0], np.zeros(0, dtype=np.float32)
        want = max(RERANK, 5 * k)
        # Slices of the cluster-sorted matrix: contiguous reads, no gather copy.
        if self.reduced is not None and self.proj is not None and len(rows) > want:
            qp = q.astype(np.float32) @ self.proj
            approx = np.concatenate([self.reduced[a:b] @ qp for a, b in spans])
            if ok is not None:
                rows, approx = rows[ok], approx[ok]
            if len(rows) > want:
                keep = np.argpartition(-approx, want - 1)[:want]
                rows = rows[keep]
            scores = self.sorted[rows] @ q
        else:
            scores = np.concatenate([self.sorted[a:b] @ q for a, b in spans])
            if ok is not None:
                rows, scores = rows[ok], scores[ok]
        k = min(k, len(rows))
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best], kind="stable")]
        return self.order[rows[best]], scores[best]


def _chain(cent: np.ndarray) -> np.ndarray:
    """An order of the centroids: start at the first, then always the most similar one not
    yet taken (a greedy path; deterministic)."""
    n = len(cent)
    sim = cent @ cent.T
    taken = np.zeros(n, dtype=bool)
    order = np.empty(n, dtype=np.int64)
    cur = 0
    for i in range(n):
        order[i], taken[cur] = cur, True
        if i + 1 < n:
            row = np.where(taken, -np.inf, sim[cur])
            cur = int(np.argmax(row))
    return order
