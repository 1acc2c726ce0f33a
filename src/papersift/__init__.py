"""papersift: collect, enrich, search and publish ML/AI research papers.

The public API. Names load on first use, so `import papersift` stays cheap for a command
that needs one stage:

    import papersift
    store = papersift.open_store("papersift-data/papersift.db")
    engine = papersift.SearchEngine(store)
    hits = engine.search(papersift.SearchQuery(q="speculative decoding")).hits
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Paper": "model", "Provenance": "model", "Enrichment": "model", "Review": "model",
    "Reading": "model", "RunRecord": "model",
    "Settings": "config", "load_settings": "config",
    "PapersiftError": "errors",
    "Store": "store", "open_store": "store",
    "SearchEngine": "search.engine", "SearchQuery": "search.engine",
    "SearchResults": "search.engine", "open_engine": "search.engines",
    "import_paths": "ingest", "collect": "sources.collect", "run_index": "search.indexing",
    "build": "jobs", "run_daily": "jobs", "run_demo": "jobs",
    "record_run": "runs",
}
__all__ = [
    "Enrichment",
    "Paper",
    "PapersiftError",
    "Provenance",
    "Reading",
    "Review",
    "RunRecord",
    "SearchEngine",
    "SearchQuery",
    "SearchResults",
    "Settings",
    "Store",
    "build",
    "collect",
    "import_paths",
    "load_settings",
    "open_engine",
    "open_store",
    "record_run",
    "run_daily",
    "run_demo",
    "run_index",
]

if TYPE_CHECKING:
    from .config import Settings, load_settings
    from .errors import PapersiftError
    from .ingest import import_paths
    from .jobs import build, run_daily, run_demo
    from .model import Enrichment, Paper, Provenance, Reading, Review, RunRecord
    from .runs import record_run
    from .search.engine import SearchEngine, SearchQuery, SearchResults
    from .search.engines import open_engine
    from .search.indexing import run_index
    from .sources.collect import collect
    from .store import Store, open_store


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'papersift' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
