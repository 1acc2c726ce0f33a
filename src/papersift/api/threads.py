"""One thread of math per search process.

A server runs one search process per core, so a library that spreads one search's matrix
products over every core only makes the processes fight for the same cores: numpy's BLAS
(OpenBLAS) threads a matrix-vector product once it is a few thousand rows, and its threads
spin between calls. With the IVF's merged slices that happened on every hybrid search: the
server's CPU per request went from ~5 to ~30 ms (docs/embeddings.md). torch gets the same
limit; its query path already ran on one thread.
"""

from __future__ import annotations

import sys


def one_thread_of_math() -> None:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # not installed: the BLAS keeps its own default
        pass
    else:
        threadpool_limits(limits=1)  # every BLAS/OpenMP pool already loaded, for good
    torch = sys.modules.get("torch")  # loaded by a neural embedder or the vector index
    if torch is not None:
        torch.set_num_threads(1)
