"""Query vectors kept for reuse: a bounded LRU map, and the embedder wrapper servers use."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

import numpy as np

from .embed import Embedder

V = TypeVar("V")


class LRU(Generic[V]):
    """At most `size` entries; a read or a write makes its key the most recent. Not
    thread-safe (callers that share one lock around it)."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[str, V] = OrderedDict()

    def get(self, key: str, touch: bool = True) -> V | None:
        value = self._items.get(key)
        if value is not None and touch:
            self._items.move_to_end(key)
        return value

    def put(self, key: str, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class QueryCache:
    """An embedder that remembers the vectors of the last `size` single texts it embedded.

    For servers: people repeat queries (and pages of the same query), and a MiniLM query
    encode is most of a hybrid search's CPU. Batches (indexing) pass straight through. The
    cached rows are read-only, so a caller cannot change what the next caller gets."""

    def __init__(self, inner: Embedder, size: int = 4096):
        self.inner, self.size = inner, size
        self.name, self.dim, self.recipe, self.key = inner.name, inner.dim, inner.recipe, inner.key
        self._cache: LRU[np.ndarray] = LRU(size)
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        if len(texts) != 1:
            return self.inner.embed(texts)
        row = self.peek(texts[0])
        if row is not None:
            return row
        vec = self.inner.embed(texts)[0]
        with self._lock:
            self.misses += 1
        return self.put(texts[0], vec)[None, :]

    def peek(self, text: str) -> np.ndarray | None:
        """The cached vector of one text (counted as a hit), or None: no encode (a caller
        that would hand the encode to another thread need not when it is cached)."""
        with self._lock:
            row = self._cache.get(text)
            if row is None:
                return None
            self.hits += 1
        return row[None, :]

    def cached(self, text: str) -> np.ndarray | None:
        """The cached vector of one text (a row), or None; not counted as a hit."""
        with self._lock:
            return self._cache.get(text, touch=False)

    def put(self, text: str, row: np.ndarray) -> np.ndarray:
        """File a vector for one text (computed here, or by another search process); returns
        the read-only row kept."""
        row = np.array(row, dtype=np.float32).reshape(-1)
        row.setflags(write=False)
        with self._lock:
            self._cache.put(text, row)
        return row

    def warm(self) -> None:
        """One encode before serving: the first call of a torch model pays its set-up."""
        self.inner.embed(["warming up the query encoder"])
