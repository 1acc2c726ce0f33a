"""Run the API under uvicorn, in one process or one per core.

Search is CPU-bound Python: one process uses one core however many threads it has (the
GIL). `workers > 1` starts that many uvicorn worker processes on one listening socket; each
builds its own app from the spec in an environment variable (uvicorn spawns fresh
interpreters, so objects cannot be handed over) and loads the search indexes before it
accepts its first request.
"""

from __future__ import annotations

import gc
import json
import os
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from .app import create_app
from .searching import set_search_slots

SPEC_ENV = "PAPERSIFT_SERVE_SPEC"


def default_workers() -> int:
    """One process per core, at most 4 (each holds its own copy of the indexes)."""
    return max(1, min(4, os.cpu_count() or 1))


def _build(spec: dict[str, Any]) -> FastAPI:
    from ..config import Settings
    from ..site.commands import engine_factory

    settings = Settings.model_validate(spec["settings"])
    set_search_slots(spec["slots"])
    app = create_app(settings.db_target, Path(spec["site"]), languages=settings.languages,
                     engine_factory=engine_factory(settings))
    app.state.warm()
    # The indexes are millions of long-lived objects (ids, vocabulary, row maps). Left in
    # the collected generations, every full collection walks them all and stalls whichever
    # requests are in flight; frozen, the collector only looks at what requests allocate.
    gc.collect()
    gc.freeze()
    return app


def worker_app() -> FastAPI:
    """uvicorn's app factory in each worker process."""
    return _build(json.loads(os.environ[SPEC_ENV]))


def serve(settings: Any, site_dir: Path, host: str, port: int, workers: int,
          say: Any = print) -> None:
    import uvicorn

    cores = os.cpu_count() or 1
    # Secrets stay out of the environment: the API never calls a model or HF.
    spec = {"settings": settings.model_dump(mode="json", exclude={"api_key", "hf_token"}),
            "site": str(Path(site_dir).resolve()), "slots": max(1, cores // max(1, workers))}
    say(f"serving {site_dir} and the API on http://{host}:{port}/ (docs: /docs), "
        f"{workers} worker process{'es' if workers > 1 else ''}")
    if workers <= 1:
        t0 = time.perf_counter()
        app = _build(spec)
        say(f"search index ready in {time.perf_counter() - t0:.1f}s")
        uvicorn.run(app, host=host, port=port, log_level="warning")
        return
    os.environ[SPEC_ENV] = json.dumps(spec)
    uvicorn.run("papersift.api.serve:worker_app", factory=True, workers=workers, host=host,
                port=port, log_level="warning")
