"""Query vectors shared by a server's search processes.

Each search process keeps the vectors of recent queries (search/embed.py: QueryCache), but
a query is answered by whichever process is free, so without sharing every process encodes
every query once: on a fresh server under load that was most of the hybrid tail
(docs/embeddings.md). The server process keeps the vectors its search processes send back
with their answers, keyed by the raw query, and hands a known one to the process that
takes the query next; that process files it in its own cache and encodes nothing.

A vector is 384 float32 (1.5 KB) on its way each direction, only for a query the receiving
side lacks. The server's copy is bounded like the processes' caches.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..search.query import parse_query
from ..search.query_cache import LRU, QueryCache


class SharedQueryVectors(LRU[bytes]):
    """The server's LRU of query -> vector bytes (float32); one event loop uses it."""

    def __init__(self, size: int = 4096):
        super().__init__(size)


def _cache(engine: Any) -> QueryCache | None:
    emb = getattr(engine, "embedder", None)
    return emb if isinstance(emb, QueryCache) else None


def before_search(engine: Any, q: str, vec: bytes | None) -> str | None:
    """In a search process, before a search: file the vector the server sent for `q`.
    Returns the text the engine will encode when this process should report the vector
    it computes (it had none and was sent none), else None."""
    cache = _cache(engine)
    if cache is None or not q.strip():
        return None
    text = parse_query(q).semantic_text
    if not text.strip():
        return None
    if vec is not None:
        row = np.frombuffer(vec, dtype=np.float32)
        if row.shape == (cache.dim,):  # the server only relays what a process sent
            cache.put(text, row)
        return None
    return None if cache.cached(text) is not None else text


def after_search(engine: Any, text: str | None) -> bytes | None:
    """In a search process, after a search: the vector it computed for `text`, to send
    back to the server (None: it encoded nothing, e.g. a lexical search)."""
    cache = _cache(engine)
    if cache is None or text is None:
        return None
    row = cache.cached(text)
    return None if row is None else np.ascontiguousarray(row, dtype=np.float32).tobytes()
