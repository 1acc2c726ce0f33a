"""Run the API under uvicorn, searching in this process or in one search process per core.

Search is CPU-bound Python: one process uses one core however many threads it has (the
GIL). With `workers > 1` this process speaks HTTP and serves files, and `workers` search
processes (api/pool.py) take the searches from one queue in arrival order.
"""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path
from typing import Any

from ..config import SECRET_ENV
from .app import create_app
from .pool import SearchPool
from .slowclients import guarded_protocol
from .threads import one_thread_of_math


def default_workers() -> int:
    """One search process per core, at most 4 (each holds its own copy of the indexes)."""
    return max(1, min(4, os.cpu_count() or 1))


def serve(settings: Any, site_dir: Path, host: str, port: int, workers: int,
          say: Any = print) -> None:
    import uvicorn

    from ..search.engines import engine_factory

    pool = None
    if workers > 1:
        # Secrets stay out of the search processes: they never call a model or HF.
        spec = {"settings": settings.model_dump(mode="json", exclude=set(SECRET_ENV))}
        pool = SearchPool(spec, workers)
    app = create_app(settings.db_target, Path(site_dir), languages=settings.languages,
                     engine_factory=None if pool else engine_factory(settings), pool=pool)
    try:
        t0 = time.perf_counter()
        app.state.warm()
        if pool is None:  # searching in this process, beside the event loop
            one_thread_of_math()
        say(f"search index ready in {time.perf_counter() - t0:.1f}s "
            f"({workers} search process{'es' if workers > 1 else ''})")
        # The indexes are millions of long-lived objects (ids, vocabulary, row maps). Left
        # in the collected generations, every full collection walks them all and stalls the
        # requests in flight (p99 went from 1.2 s to 0.09 s under load with this).
        gc.collect()
        gc.freeze()
        say(f"serving {site_dir} and the API on http://{host}:{port}/ (docs: /docs)")
        uvicorn.run(app, host=host, port=port, log_level="warning",
                    http=guarded_protocol(settings.serve_header_timeout))
    finally:
        if pool is not None:
            pool.close()
