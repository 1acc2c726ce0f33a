"""How the API runs searches: in worker threads, a bounded number at once, in arrival order."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

import anyio

T = TypeVar("T")

# Searches in the server process itself (`serve --workers 1`, tests; with more workers they
# run in api/pool.py's processes). They are CPU-bound (BM25 scoring, query embedding, vector
# scan): letting 40 server threads run them at once only thrashes the GIL and torch's thread
# pools, so as many run as there are cores and the rest wait in arrival order (anyio's
# limiter is first come, first served, which keeps the slowest answer close to the typical).
_slots = max(1, os.cpu_count() or 1)
_limiter: anyio.CapacityLimiter | None = None


async def run_search(fn: Callable[[], T]) -> T:
    """fn() once a search slot is free: in a worker thread, or right here in the event loop
    on a one-core machine (a thread buys nothing then, and each SQLite call in it released
    the GIL and waited up to the 5 ms switch interval to get it back from the event loop)."""
    global _limiter
    if _slots == 1:
        return fn()
    if _limiter is None:  # created inside the server's event loop
        _limiter = anyio.CapacityLimiter(_slots)
    return await anyio.to_thread.run_sync(fn, limiter=_limiter)
