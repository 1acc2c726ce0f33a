"""Vector index: compute each paper's vector once per recipe, keep the matrix in memory.

`build_vectors` is incremental and resumable: a paper is (re-)embedded only when the hash of
its text (title + abstract) differs from the hash stored with its vector under the
embedder's key (which names the recipe, search/embed.py), and every batch is committed on
its own, so a killed build loses at most one batch and the next run goes on from there.
While it runs it publishes what it has (a new version in the store's meta table) after the
first batch and then every `publish_every` seconds, so search is hybrid for the papers that
have vectors and lexical for the rest. `VectorIndex` loads the matrix once and reloads it
only when a build published a new version.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..store.base import SearchSource
from .embed import Embedder, paper_text, text_hash
from .ivf import IVF

Job = tuple[str, str, str]  # (paper id, text hash, text)


def vectors_version_key(key: str) -> str:
    return f"vectors_version:{key}"


def vectors_recipe_key(key: str) -> str:
    return f"vectors_recipe:{key}"


def current_key_meta(name: str) -> str:
    """Meta key naming the vector key the last build of embedder `name` wrote."""
    return f"vectors_key:{name}"


@dataclass
class IndexStats:
    model: str
    key: str = ""
    papers: int = 0
    embedded: int = 0
    unchanged: int = 0
    removed: int = 0
    retired: int = 0  # vectors of an older recipe dropped after this build completed
    seconds: float = 0.0
    complete: bool = False  # False: stopped early; the next run goes on from here

    @property
    def docs_per_s(self) -> float:
        return self.embedded / self.seconds if self.seconds > 0 else 0.0


class Backlog(Protocol):
    """Where a build takes its next batch of papers to embed. One process uses
    LocalBacklog; workers sharing one database would claim batches with a lease (the
    PostgreSQL backend's SELECT ... FOR UPDATE SKIP LOCKED) behind the same two methods."""

    def claim(self, n: int) -> list[Job]: ...
    def remaining(self) -> int: ...


class LocalBacklog:
    """The papers of one store whose vector is missing or stale, handed out in chunks of
    `chunk` papers taken in store order and sorted by length inside each chunk: batches carry
    little padding, and the docs/s (and so the progress bar's ETA) stays steady from the first
    chunk to the last instead of speeding up from short texts to long ones."""

    def __init__(self, jobs: list[Job], chunk: int = 4096):
        self._jobs: list[Job] = []
        for i in range(0, len(jobs), chunk):
            self._jobs += sorted(jobs[i:i + chunk], key=lambda j: len(j[2]))
        self._next = 0

    def claim(self, n: int) -> list[Job]:
        part = self._jobs[self._next:self._next + n]
        self._next += len(part)
        return part

    def remaining(self) -> int:
        return len(self._jobs) - self._next


def plan_vectors(store: SearchSource, embedder: Embedder, stats: IndexStats) -> LocalBacklog:
    """What a build must embed; drops the vectors of papers that are gone (counted in stats)."""
    have = store.vector_hashes(embedder.key)
    todo: list[Job] = []
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
        store.delete_vectors(embedder.key, gone)
        stats.removed = len(gone)
    return LocalBacklog(todo)


def publish(store: SearchSource, key: str) -> None:
    """Tell every engine (VectorIndex.refresh) that the vectors under `key` changed."""
    store.set_meta(vectors_version_key(key), f"{time.time():.6f}")


def build_vectors(store: SearchSource, embedder: Embedder, batch: int = 256,
                  progress: Callable[[int, int], None] | None = None,
                  publish_every: float = 60.0, backlog: Backlog | None = None) -> IndexStats:
    """Embed new/changed papers, drop vectors of papers that are gone, and, once every paper
    has its vector, the vectors an older recipe of the same model made.

    progress(done, todo) is called after each batch (for a progress bar). A stop
    (KeyboardInterrupt, a kill) keeps every committed batch; what was embedded is published."""
    t0 = time.perf_counter()
    key = embedder.key
    stats = IndexStats(model=embedder.name, key=key)
    work = backlog or plan_vectors(store, embedder, stats)
    todo = work.remaining()
    store.set_meta(vectors_recipe_key(key), json.dumps(embedder.recipe, sort_keys=True))
    first = store.get_meta(vectors_version_key(key)) is None
    last_publish = time.monotonic()
    if progress:
        progress(0, todo)
    try:
        while part := work.claim(batch):
            vecs = embedder.embed([t for _, _, t in part])
            store.put_vectors(key, [(pid, h, v) for (pid, h, _), v in zip(part, vecs, strict=True)])
            stats.embedded += len(part)
            if first or time.monotonic() - last_publish >= publish_every:
                publish(store, key)
                first, last_publish = False, time.monotonic()
            if progress:
                progress(stats.embedded, todo)
        stats.complete = True
    finally:
        if stats.embedded or stats.removed or first:
            publish(store, key)
        stats.seconds = time.perf_counter() - t0
    if backlog is None:  # with a shared backlog, others may still be working on it
        stats.retired = _retire_old_recipe(store, embedder)
    return stats


def _retire_old_recipe(store: SearchSource, embedder: Embedder) -> int:
    """After a complete build: drop the vectors an earlier recipe of this model left (under
    its old key, or under the bare model name from before keys named recipes)."""
    marker = current_key_meta(embedder.name)
    old = {store.get_meta(marker) or "", embedder.name} - {"", embedder.key}
    dropped = 0
    for stale in old:
        ids = list(store.vector_hashes(stale))
        if ids:
            store.delete_vectors(stale, ids)
            publish(store, stale)
            dropped += len(ids)
    store.set_meta(marker, embedder.key)
    return dropped


def vector_recipe(store: SearchSource, key: str) -> dict[str, Any] | None:
    """The recipe stored with the vectors under `key` (None: none stored)."""
    raw = store.get_meta(vectors_recipe_key(key))
    return json.loads(raw) if raw else None


def _torch():  # -> module | None
    try:
        import torch
    except ImportError:
        return None
    return torch


class VectorIndex:
    """The model's vectors as one in-memory float32 matrix (rows unit length).

    The exact scan is memory-bound (89k x 256 float32 = 91 MB read per query), so when torch
    is installed it runs on a float16 copy (half the bytes). From ANN_MIN rows on, queries
    (filtered too) probe an IVF index instead (search/ivf.py). The benchmark checks that both agree
    with the exact float32 scan.
    """

    ANN_MIN = 20_000  # below this an exact scan takes < 2 ms: no approximation

    def __init__(self, store: SearchSource, key: str, half: bool | None = None, ann: bool = True):
        self.store, self.model = store, key  # the vectors' storage key (Embedder.key)
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
        boolean array over this index's rows is True). Large corpora use the IVF index,
        filtered or not (exact=True forces the full scan)."""
        st = self._state
        if not st.ids or k <= 0:
            return []
        q = np.asarray(qvec, dtype=np.float32).reshape(-1)
        if allowed is not None and not isinstance(allowed, np.ndarray):
            keep = np.zeros(len(st.ids), dtype=bool)
            keep[[st.row[p] for p in allowed if p in st.row]] = True
            allowed = keep
        if st.ivf is not None and not exact:
            rows, sc = st.ivf.search(q, k, allowed)
            # A filter whose rows the probed lists do not hold enough of (a narrow date
            # range, a rare tag) is answered by the exact scan instead of coming up short.
            if allowed is None or len(rows) >= min(k, int(allowed.sum())):
                return [(st.ids[i], float(s)) for i, s in zip(rows, sc, strict=True) if s > min_score]
        if st.half is not None:
            torch = _torch()
            scores = torch.mv(st.half, torch.tensor(q, dtype=torch.float16)).float().numpy()
        else:
            scores = st.matrix @ q
        if allowed is not None:
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
