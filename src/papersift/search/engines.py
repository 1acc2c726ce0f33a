"""The one policy for which embedder a search engine gets, used by the CLI, the API, the
search processes and the site build.

Three purposes differ only in when the model is loaded and what an unusable one means:
- "index": embedding is the point: the configured model must load (EmbedderError if not).
- "query": a one-off search (the CLI): the model is loaded only when the store holds vectors
  made by it (loading minilm takes seconds; without vectors it could not be used anyway).
- "serve": a long-lived engine (API, search processes, site build): the model is loaded up
  front, so vectors indexed while it runs are used; if it cannot load, the engine ranks by
  BM25 alone and says so in `mode`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Literal

from ..config import Settings
from ..store.base import RankedSearchSource, Store
from .embed import (
    Embedder,
    EmbedderError,
    MiniLMEmbedder,
    get_embedder,
    key_for,
    minilm_available,
)
from .engine import SearchEngine
from .index import vectors_version_key
from .lexical import BM25Index
from .pg_engine import DatabaseSearchEngine
from .query_cache import QueryCache

Purpose = Literal["index", "query", "serve"]


def embedder_name(setting: str | None) -> str:
    """The embedder a setting means: `auto` is minilm when its package is installed."""
    name = (setting or "auto").strip().lower()
    if name == "auto":
        return "minilm" if minilm_available() else "none"
    return name


def has_vectors(store: Store, name: str) -> bool:
    """Whether the store holds vectors made by `name` with its current recipe."""
    key = key_for(name)
    return key is not None and store.get_meta(vectors_version_key(key)) is not None


def vectors_status(settings: Settings, store: Store) -> str:
    """One line on the configured embedder's vectors: how many papers have one, so a user
    sees a partial index (search is hybrid for those papers and lexical for the rest)."""
    name = embedder_name(settings.embedder)
    if name == "none":
        return "vectors: none (embedder 'none'): search is lexical"
    key = key_for(name)
    if key is None:
        return f"vectors: embedder {name!r} is not usable here: search is lexical"
    have, papers = len(store.vector_hashes(key)), store.count_papers()
    if have >= papers:
        return f"vectors ({key}): {have} of {papers} papers: search is hybrid"
    return (f"vectors ({key}): {have} of {papers} papers ({have / max(papers, 1):.0%}): search is "
            "hybrid for those and lexical for the rest; papersift index goes on from here")


def load_embedder(settings: Settings, store: Store, purpose: Purpose) -> Embedder | None:
    """The embedder for `purpose` (see the module docstring), or None for lexical ranking."""
    name = embedder_name(settings.embedder)
    if name == "none":
        return None
    # The hashing embedders load instantly, so a query may always use them.
    if purpose == "query" and not name.startswith("hash") and not has_vectors(store, name):
        return None
    try:
        embedder = get_embedder(name, settings.data_dir)
    except EmbedderError:
        if purpose == "serve":
            return None
        raise
    if purpose == "serve" and embedder is not None:
        # A server loads the model once, warms it before its first request and remembers
        # the vectors of recent queries (docs/embeddings.md); it encodes enough queries for
        # the ONNX export (or the trace) to pay off.
        if isinstance(embedder, MiniLMEmbedder):
            embedder.fast_queries = True
        cached = QueryCache(embedder)
        cached.warm()
        return cached
    return embedder


def open_engine(settings: Settings, store: Store, purpose: Purpose = "query",
                lexical_only: bool = False) -> SearchEngine:
    """A search engine over `store`; raises EmbedderError for an unusable model unless
    `purpose` is "serve"."""
    return make_engine(store, None if lexical_only else load_embedder(settings, store, purpose))


def make_engine(store: Store, embedder: Embedder | None) -> SearchEngine:
    """The engine for this store: a database that ranks (PostgreSQL) answers searches with
    SQL, so every replica sees committed papers at once; otherwise the in-memory indexes."""
    if isinstance(store, RankedSearchSource):
        return DatabaseSearchEngine(store, embedder)
    return SearchEngine(store, embedder)


def lexical_engine(store: Store) -> SearchEngine:
    """An engine that ranks by words alone (and says so in `mode`)."""
    return make_engine(store, None)


def memory_bm25(store: Store) -> BM25Index:
    """The in-memory BM25 index of any store: profiles' lexical space and the index stage
    use it directly, also on PostgreSQL (where searches do not)."""
    return SearchEngine(store, None).bm25()


def engine_factory(settings: Settings) -> Callable[[Store], SearchEngine]:
    """store -> a serving engine, for code that opens its own store (API, search processes)."""
    return functools.partial(open_engine, settings, purpose="serve")


def similar_function(settings: Settings, store: Store) -> Callable[[str, int], list[str]] | None:
    """paper id, k -> the ids of its k most similar papers, for the site's paper pages; None
    when no index can be built (pages then go without similar papers)."""
    try:
        engine = open_engine(settings, store, purpose="serve")
    except Exception:  # a broken store or index must not stop the site from building
        return None

    def similar(pid: str, k: int) -> list[str]:
        return [h.id for h in engine.similar(pid, limit=k).hits]

    return similar


def published_vectors(settings: Settings, store: Store) -> tuple[str, str] | None:
    """(model, version) of the vectors the site publishes for its For-you page: the
    configured embedder's, when the index holds them (no model is loaded); None otherwise."""
    name = embedder_name(settings.embedder)
    key = key_for(name) if name != "none" else None
    if key is None:
        return None
    version = store.get_meta(vectors_version_key(key))
    return (key, version) if version is not None else None
