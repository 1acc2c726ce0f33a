"""Vector index: compute each paper's vector once per model, keep the matrix in memory.

`build_vectors` is incremental: a paper is (re-)embedded only when the hash of its text
(title + abstract) differs from the hash stored with its vector, so a daily run embeds only
the day's new or edited papers. `VectorIndex` loads the matrix once and reloads it only
when `build_vectors` recorded a new version in the store's meta table.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..store.base import SearchSource
from .embed import Embedder, paper_text, text_hash
from .ivf import IVF


def vectors_version_key(model: str) -> str:
    return f"vectors_version:{model}"


@dataclass
class IndexStats:
    model: str
    papers: int = 0
    embedded: int = 0
    unchanged: int = 0
    removed: int = 0
    seconds: float = 0.0

    @property
    def docs_per_s(self) -> float:
        return self.embedded / self.seconds if self.seconds > 0 else 0.0


def build_vectors(store: SearchSource, embedder: Embedder, batch: int = 256,
                  progress: Callable[[int, int], None] | None = None) -> IndexStats:
    """Embed new/changed papers and drop vectors of papers that are gone.

    progress(done, todo) is called after each batch (for a progress bar)."""
    t0 = time.perf_counter()
    stats = IndexStats(model=embedder.name)
    have = store.vector_hashes(embedder.name)
    todo: list[tuple[str, str, str]] = []  # (id, hash, text)
    seen: set[str] = set()
    for pid, title, abstract in store.search_texts():
        seen.add(pid)
        text = paper_text(title, abstract)
        h = text_hash(text)
        if have.get(pid) == h:
            stats.unchanged += 1
        else:
            todo.append((pid, h, text))
    stats.papers = len(seen)
    gone = [pid for pid in have if pid not in seen]
    if gone:
        store.delete_vectors(embedder.name, gone)
        stats.removed = len(gone)
    # Similar lengths in one batch waste less padding in transformer models.
    todo.sort(key=lambda x: len(x[2]))
    if progress:
        progress(0, len(todo))
    for i in range(0, len(todo), batch):
        part = todo[i:i + batch]
        vecs = embedder.embed([t for _, _, t in part])
        store.put_vectors(embedder.name, [(pid, h, v) for (pid, h, _), v in zip(part, vecs, strict=True)])
        stats.embedded += len(part)
        if progress:
            progress(stats.embedded, len(todo))
    if stats.embedded or stats.removed or store.get_meta(vectors_version_key(embedder.name)) is None:
        store.set_meta(vectors_version_key(embedder.name), f"{time.time():.6f}")
    stats.seconds = time.perf_counter() - t0
    return stats


def _torch():  # -> module | None
    try:
        import torch
    except ImportError:
        return None
    return torch


class VectorIndex:
    """The model's vectors as one in-memory float32 matrix (rows unit length).

    The exact scan is memory-bound (89k x 256 float32 = 91 MB read per query), so when torch
    is installed it runs on a float16 copy (half the bytes). From ANN_MIN rows on, unfiltered
    queries probe an IVF index instead (search/ivf.py). The benchmark checks that both agree
    with the exact float32 scan.
    """

    ANN_MIN = 20_000  # below this an exact scan takes < 2 ms: no approximation

    def __init__(self, store: SearchSource, model: str, half: bool | None = None, ann: bool = True):
        self.store, self.model = store, model
        self.half, self.ann = half, ann
        self.version: str | None = "unloaded"
        self._lock = threading.Lock()
        self._state = _State([], {}, np.zeros((0, 0), dtype=np.float32), None, None)

    # One immutable snapshot, swapped in whole: a query running during a reload sees either
    # the old or the new vectors, never ids from one and rows from the other.
    ids = property(lambda self: self._state.ids)
    row = property(lambda self: self._state.row)
    matrix = property(lambda self: self._state.matrix)
    ivf = property(lambda self: self._state.ivf)
    _half = property(lambda self: self._state.half)

    def refresh(self) -> None:
        """Reload when the store's vectors changed since the last load (one meta read)."""
        version = self.store.get_meta(vectors_version_key(self.model))
        if version == self.version:
            return
        with self._lock:  # one reload at a time; the others keep using the old snapshot
            if version == self.version:
                return
            ids, mat = self.store.load_vectors(self.model)
            matrix = np.ascontiguousarray(mat, dtype=np.float32)
            half = None
            # Importing torch costs seconds: worth it only where the scan is long.
            want_half = self.half if self.half is not None else len(ids) >= self.ANN_MIN
            torch = _torch() if want_half else None
            if torch is not None and len(ids):
                half = torch.tensor(matrix, dtype=torch.float16)
            ivf = IVF(matrix) if self.ann and len(ids) >= self.ANN_MIN else None
            self._state = _State(ids, {pid: i for i, pid in enumerate(ids)}, matrix, half, ivf)
            self.version = version

    def __len__(self) -> int:
        return len(self.ids)

    def top(self, qvec: np.ndarray, k: int, allowed: set[str] | np.ndarray | None = None,
            min_score: float = -1.0, exact: bool = False) -> list[tuple[str, float]]:
        """Best k (id, cosine); `allowed` restricts to those ids (or to the rows where a
        boolean array over this index's rows is True). Large corpora without a filter use
        the IVF index (exact=True forces the full scan)."""
        st = self._state
        if not st.ids or k <= 0:
            return []
        q = np.asarray(qvec, dtype=np.float32).reshape(-1)
        if st.ivf is not None and allowed is None and not exact:
            rows, sc = st.ivf.search(q, k)
            return [(st.ids[i], float(s)) for i, s in zip(rows, sc, strict=True) if s > min_score]
        if st.half is not None:
            torch = _torch()
            scores = torch.mv(st.half, torch.tensor(q, dtype=torch.float16)).float().numpy()
        else:
            scores = st.matrix @ q
        if allowed is not None:
            if not isinstance(allowed, np.ndarray):
                keep = np.zeros(len(st.ids), dtype=bool)
                keep[[st.row[p] for p in allowed if p in st.row]] = True
                allowed = keep
            scores = np.where(allowed, scores, -np.inf).astype(np.float32)
        k = min(k, len(scores))
        idx = np.argpartition(-scores, k - 1)[:k]
        idx = idx[np.argsort(-scores[idx], kind="stable")]
        return [(st.ids[i], float(scores[i])) for i in idx if scores[i] > min_score]

    def scores_for(self, qvec: np.ndarray, ids: list[str]) -> dict[str, float]:
        st = self._state
        rows = [(p, st.row[p]) for p in ids if p in st.row]
        if not rows:
            return {}
        sub = st.matrix[[r for _, r in rows]] @ np.asarray(qvec, dtype=np.float32).reshape(-1)
        return {p: float(s) for (p, _), s in zip(rows, sub, strict=True)}

    def vector(self, paper_id: str) -> np.ndarray | None:
        st = self._state
        i = st.row.get(paper_id)
        return None if i is None else st.matrix[i]


@dataclass(frozen=True)
class _State:
    ids: list[str]
    row: dict[str, int]
    matrix: np.ndarray
    half: Any  # torch float16 tensor of matrix, or None
    ivf: IVF | None
