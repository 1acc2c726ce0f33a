"""Hybrid paper search: BM25 (SQLite FTS5) + embeddings (numpy), fused, one entry per paper.

The one library entry point the CLI, the API and the site use::

    from papersift.search.engine import SearchEngine, SearchQuery
    from papersift.search.embed import get_embedder

    engine = SearchEngine(store, get_embedder(settings.embedder, settings.data_dir))
    res = engine.search(SearchQuery(q="influence functions data selection", tags=["rl"],
                                    date_from=date(2025, 1, 1), sort="relevance", limit=20))
    res.total, [h.paper.title for h in res.hits], res.hits[0].highlightedTitle
    engine.similar("2502.02671", limit=10)          # "more like this", same SearchResults

`SearchQuery.q` accepts free words, "exact phrases" and `author:name`; any text is safe.
Filters: date_from/date_to (the paper's day: HF day, else arXiv date), tags (any of),
min_upvotes, sources (provenance, any of), categories (arXiv, any of). Sort: relevance,
date or upvotes. Each hit carries the Paper, its tags, HF-shaped `highlightedTitle` /
`highlightedSummary` span lists, a highlighted `snippet`, the score and which rankers found
it. Results whose normalised titles are equal are collapsed into one hit (`duplicates`).
An engine is cheap to call and safe to share; it keeps the vector matrix in memory and
reloads it only after `papersift index` changed the vectors.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ..store.base import SearchSource
from .embed import Embedder
from .facets import IN_MEMORY, TAG_BIT, Facets
from .hits import make_hits
from .index import VectorIndex
from .lexical import Analyzer, BM25Index, build_from_store, index_version
from .models import Fusion, Mode, SearchHit, SearchQuery, SearchResults, store_filters
from .query import ParsedQuery, parse_query

__all__ = ["Fusion", "Mode", "SearchEngine", "SearchHit", "SearchQuery", "SearchResults", "store_filters"]


class SearchEngine:
    def __init__(self, store: SearchSource, embedder: Embedder | None = None, fusion: Fusion | None = None,
                 cache_dir: Path | None = None):
        self.store, self.embedder = store, embedder
        self.fusion = fusion or Fusion.for_embedder(embedder.name if embedder else None)
        self.vectors = self._vector_index(embedder)
        # The BM25 index is cached beside the SQLite file unless told otherwise.
        db_path = getattr(store, "path", None)
        self.cache_dir = cache_dir or (Path(db_path).parent if db_path else None)
        self._bm25: BM25Index | None = None
        self._bm25_lock = threading.Lock()
        self._encode_pool: tuple[int, ThreadPoolExecutor] | None = None
        self._encode_lock = threading.Lock()
        self._facets: Facets | None = None
        # How long a store version read stays trusted. 0 (library, CLI): every call sees
        # the store as it is now. A server sets ~1 s: one search made ~8 version reads, each
        # a SQLite round trip, for data that changes once a day.
        self.version_ttl = 0.0
        self._versions: dict[str, tuple[float, str | None]] = {}
        self._row_map: tuple[str, str | None, np.ndarray] | None = None  # BM25 row -> vector row

    def _vector_index(self, embedder: Embedder | None) -> VectorIndex | None:
        """The vectors this engine ranks by in memory (a database-ranked engine has none)."""
        return VectorIndex(self.store, embedder.key) if embedder else None

    def _version(self, name: str, read: Any) -> str | None:
        now = time.monotonic()
        got = self._versions.get(name)
        if got is None or now - got[0] >= self.version_ttl:
            got = self._versions[name] = (now, read())
        return got[1]

    def papers_version(self) -> str:
        return self._version("papers", self.store.papers_version) or ""

    def refresh(self) -> bool:
        """Re-read the store's versions now and reload what changed (BM25, facets, vectors);
        True when anything was reloaded. A server whose engines never re-read versions by
        themselves (version_ttl = inf) calls this in one search process at a time, so the
        others keep answering while it reloads."""
        before = self._loaded()
        self._versions.clear()
        self.bm25()
        self.facets()
        self.semantic_ready()
        return self._loaded() != before

    def bm25_version(self) -> str | None:
        """The version of the BM25 index in memory (None: none loaded yet)."""
        return self._bm25.version if self._bm25 else None

    def _loaded(self) -> tuple[str | None, str | None, str | None]:
        vec = self.vectors
        return (self.bm25_version(),
                self._facets.version if self._facets else None,
                vec.version if vec is not None else None)

    def bm25(self) -> BM25Index:
        """The in-memory BM25 index, rebuilt only when the papers changed."""
        version = index_version(self.papers_version(), self.fusion.bm25)
        idx = self._bm25
        if idx is None or idx.version != version:
            with self._bm25_lock:  # API threads: one rebuild, the others wait for it
                idx = self._bm25
                if idx is None or idx.version != version:
                    cache = self.cache_dir / "bm25-index.npz" if self.cache_dir else None
                    idx = self._bm25 = build_from_store(self.store, self.fusion.bm25, cache)
        return idx

    def facets(self, idx: BM25Index | None = None) -> Facets:
        """Filter/sort columns aligned with the rows of `idx` (default: the current BM25
        index); rebuilt when papers or enrichments (tags) changed."""
        idx = idx or self.bm25()
        version = f"{idx.version}|{self._version('enrichments', self.store.enrichments_version)}"
        fc = self._facets
        if fc is None or fc.version != version:
            with self._bm25_lock:
                fc = self._facets
                if fc is None or fc.version != version:
                    fc = self._facets = Facets.from_store(self.store, idx.row, version)
        return fc

    def allowed_rows(self, filters: dict[str, Any] | None, idx: BM25Index | None = None
                     ) -> np.ndarray | None:
        """The rows of `idx` (default: the current BM25 index) that pass the filters (None:
        no filter). Date, upvotes and known tags are answered in memory; sources,
        categories and unknown tags by SQL. One search passes the same `idx` everywhere:
        an import committing meanwhile must not pair a mask with another index's rows."""
        if not filters:
            return None
        idx = idx or self.bm25()
        fast = {k: v for k, v in filters.items() if k in IN_MEMORY}
        slow = {k: v for k, v in filters.items() if k not in IN_MEMORY and v not in (None, [])}
        if any(t not in TAG_BIT for t in fast.get("tags") or []):
            slow["tags"], slow["tag_mode"] = fast.pop("tags"), fast.pop("tag_mode", None)
        mask = self.facets(idx).mask(fast)
        if slow:
            by_sql = idx.mask(self.store.search_filter_ids(store_filters(slow)))
            mask = by_sql if mask is None else mask & by_sql
        return mask

    # -- rankers (also used directly by the benchmarks) ----------------------------------

    def lexical(self, parsed: ParsedQuery, k: int, filters: dict[str, Any] | None = None
                ) -> list[tuple[str, float]]:
        return self.lexical_counted(parsed, k, self.allowed_rows(filters))[0]

    def lexical_counted(self, parsed: ParsedQuery, k: int, allowed: np.ndarray | None = None,
                        idx: BM25Index | None = None) -> tuple[list[tuple[str, float]], int]:
        """Best k by BM25 and how many papers match, ranked by the in-memory index, among
        the `allowed` rows. Phrases and author: need token positions: FTS5 finds the papers
        that satisfy them (ids only, no ranking), and the index ranks that set on all the
        query's words."""
        if not (parsed.terms or parsed.phrases or parsed.authors):
            return [], 0
        idx = idx or self.bm25()
        words = parsed.terms
        if parsed.phrases or parsed.authors:
            matching = idx.mask(self.store.lexical_match_ids(parsed))
            allowed = matching if allowed is None else matching & allowed
            words = parsed.highlight_terms  # terms + phrase words + author words
        return idx.top(words, k, allowed)

    def _encoder(self) -> ThreadPoolExecutor:
        """The threads hybrid queries encode on (a few, for a server's concurrent
        requests): a pool per process, since one made before a fork has no thread in the
        child; made on first use."""
        pid = os.getpid()
        with self._encode_lock:
            if self._encode_pool is None or self._encode_pool[0] != pid:
                self._encode_pool = (pid, ThreadPoolExecutor(4, thread_name_prefix="encode"))
            return self._encode_pool[1]

    # A hybrid query asks the vector ranking on the second thread while BM25 ranks: for
    # database queries (pg_engine.py) two server processes work at once; not in memory.
    semantic_beside = False

    def _semantic_of(self, text: str, vec: np.ndarray | None, k: int, allowed: Any,
                     idx: Any) -> tuple[np.ndarray | None, list[tuple[str, float]]]:
        """(query vector, its semantic ranking), encoding the text when vec is None."""
        vec = self.embed_query(text) if vec is None else vec
        return vec, ([] if vec is None else self.semantic(vec, k, allowed, self.fusion.min_similarity, idx))

    def embed_query(self, text: str) -> np.ndarray | None:
        if not self.embedder or not text.strip():
            return None
        return self.embedder.embed([text])[0]

    def semantic_ready(self) -> bool:
        if self.vectors is None:
            return False
        vectors = self.vectors

        def read() -> str | None:
            vectors.refresh()
            return vectors.version

        self._version("vectors", read)
        return len(self.vectors) > 0

    def semantic(self, qvec: np.ndarray | None, k: int, allowed: np.ndarray | None = None,
                 min_score: float = -1.0, idx: BM25Index | None = None) -> list[tuple[str, float]]:
        """Nearest k by cosine among the `allowed` rows of `idx` (None: all papers)."""
        if qvec is None or not self.semantic_ready():
            return []
        assert self.vectors is not None
        mask = None if allowed is None else self._vector_mask(allowed, idx or self.bm25())
        return self.vectors.top(qvec, k, mask, min_score)

    def _vector_mask(self, allowed: np.ndarray, idx: BM25Index) -> np.ndarray:
        """A BM25-row mask as a vector-row mask (the two indexes order papers differently)."""
        vec = self.vectors
        assert vec is not None
        rm = self._row_map
        if rm is None or rm[0] != idx.version or rm[1] != vec.version:
            rows = np.array([idx.row.get(p, -1) for p in vec.ids], dtype=np.int64)
            rm = self._row_map = (idx.version, vec.version, rows)
        rows = rm[2]
        return np.where(rows >= 0, allowed[np.maximum(rows, 0)], False) if len(rows) else np.zeros(0, bool)

    def fuse(self, lex: list[tuple[str, float]], sem: list[tuple[str, float]]) -> list[tuple[str, float]]:
        """One ranking from two (Fusion.fuse), knowing which papers have no vector yet."""
        return self.fusion.fuse(lex, sem, self._without_vectors([p for p, _ in lex]))

    def _without_vectors(self, ids: list[str]) -> set[str]:
        """Those of `ids` that have no vector in the loaded index (all: no vectors)."""
        vec = self.vectors
        if vec is None or not len(vec):
            return set(ids)
        row = vec.row
        return {p for p in ids if p not in row}

    def semantic_coverage(self, idx: BM25Index | None = None) -> float:
        """The share of searchable papers that have a vector (1.0 once an index is built)."""
        n = len(idx or self.bm25())
        return min(1.0, len(self.vectors) / n) if self.vectors is not None and n else 0.0

    # -- the entry points -----------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResults:
        t0 = time.perf_counter()
        parsed = parse_query(query.q)
        filters = query.filters() if query.has_filters() else None
        mode: str = query.mode
        if parsed.empty:
            ids, total = self.store.browse_ids(store_filters(filters), "upvotes" if query.sort == "upvotes" else "date",
                                               query.limit, query.offset)
            hits = self._hits(ids, {pid: 0.0 for pid in ids}, {}, {}, parsed, query.summaries)
            return self._results(query, "browse", total, hits, t0)
        vectors = mode != "lexical" and self.semantic_ready()  # one check for the whole search
        depth = max(self.fusion.depth, query.offset + query.limit)
        if query.sort == "relevance" and not vectors:
            # Nothing to fuse and no re-sort of the pool: the page plus room for collapsed
            # duplicates is enough (fewer ids to collapse and look up per query).
            depth = min(depth, 2 * (query.offset + query.limit) + 10)
        lex: list[tuple[str, float]] = []
        sem: list[tuple[str, float]] = []
        lex_count = 0
        idx = self._snapshot()  # one index snapshot for the whole search
        allowed = self.allowed_rows(filters, idx)
        # A hybrid query encodes its text on a second thread while BM25 ranks on this one:
        # the encoder's matrix work releases the GIL, so on two cores the two overlap.
        # A cached query vector (a server's QueryCache) needs no second thread.
        peek = getattr(self.embedder, "peek", None)
        cached = peek(parsed.semantic_text) if peek is not None and mode == "hybrid" and vectors else None
        beside = (self._encoder().submit(self._semantic_of, parsed.semantic_text,
                                         None if cached is None else cached[0], depth, allowed, idx)
                  if mode == "hybrid" and vectors and self.semantic_beside
                  and not (parsed.phrases or parsed.authors) else None)
        pending = (self._encoder().submit(self.embed_query, parsed.semantic_text)
                   if mode == "hybrid" and vectors and cached is None and beside is None else None)
        if mode in ("hybrid", "lexical"):
            lex, lex_count = self.lexical_counted(parsed, depth, allowed, idx)
        if beside is not None:
            qvec, sem = beside.result()
            if qvec is None:
                mode = "lexical"
        elif mode in ("hybrid", "semantic"):
            qvec = (cached[0] if cached is not None else pending.result() if pending is not None
                    else self.embed_query(parsed.semantic_text) if vectors else None)
            if qvec is None:
                mode = "lexical" if mode == "hybrid" else "none"
            elif parsed.phrases or parsed.authors:
                # Phrases and author: are hard constraints: the embedding only re-ranks the
                # papers that satisfy them.
                lex = lex or self.lexical_counted(parsed, depth, allowed, idx)[0]
                sc = self._scores_for(qvec, [p for p, _ in lex])
                sem = sorted(sc.items(), key=lambda x: -x[1])
            else:
                sem = self.semantic(qvec, depth, allowed, self.fusion.min_similarity, idx)
        ranked = self.fuse(lex, sem) if (lex and sem) else (lex or sem)
        coverage = round(self.semantic_coverage(idx), 4) if mode in ("hybrid", "semantic") else None
        found: dict[str, list[str]] = {}
        for name, ranking in (("lexical", lex), ("semantic", sem)):
            for pid, _ in ranking:
                found.setdefault(pid, []).append(name)
        pool, dups = self._collapse(ranked)
        # Lexical matches beyond the ranked depth still count as results.
        total = len(pool) + max(0, lex_count - len(lex))
        if query.sort != "relevance":
            pool = self._sorted(pool, query.sort)
        page = pool[query.offset:query.offset + query.limit]
        score = dict(ranked)
        hits = self._hits([p for p, _ in page], score, found, dups, parsed, query.summaries)
        return self._results(query, mode, total, hits, t0, coverage)

    def similar(self, paper_id: str, limit: int = 10) -> SearchResults:
        """Papers like this one: nearest vectors, or (no vector) BM25 on its title+abstract
        words. The paper itself and its duplicates are left out. Unknown id -> KeyError."""
        t0 = time.perf_counter()
        pid = self.store.resolve_id(paper_id)
        if pid is None:
            raise KeyError(f"paper {paper_id!r} is not in the store")
        paper = self.store.get_paper(pid)
        assert paper is not None
        mode, ranked = "semantic", []
        vec = self._paper_vector(pid) if self.semantic_ready() else None
        if vec is not None:
            ranked = self.semantic(vec, limit * 3 + 10)
        else:
            mode = "lexical"
            terms = parse_query(f"{paper.title} {paper.abstract[:600]}")
            ranked = self.lexical(terms, limit * 3 + 10)
        own = self._title_keys([pid]).get(pid)
        pool, dups = self._collapse([(p, s) for p, s in ranked if p != pid])
        keys = self._title_keys([p for p, _ in pool])
        pool = [(p, s) for p, s in pool if keys.get(p) != own][:limit]
        found = {p: [mode] for p, _ in pool}
        hits = self._hits([p for p, _ in pool], dict(pool), found, dups, ParsedQuery())
        q = SearchQuery(q=f"similar:{pid}", limit=max(1, min(limit, 200)))
        return self._results(q, mode, len(hits), hits, t0)

    # -- helpers (the seam search/pg_engine.py overrides with database lookups) -------------

    def _snapshot(self) -> BM25Index | None:
        return self.bm25()

    def _scores_for(self, qvec: np.ndarray, ids: list[str]) -> dict[str, float]:
        assert self.vectors is not None
        return self.vectors.scores_for(qvec, ids)

    def _paper_vector(self, pid: str) -> np.ndarray | None:
        return self.vectors.vector(pid) if self.vectors is not None else None

    def _collapse(self, ranked: list[tuple[str, float]]
                  ) -> tuple[list[tuple[str, float]], dict[str, list[str]]]:
        """Keep the best-ranked paper of each normalised title; remember the others."""
        keys = self._title_keys([p for p, _ in ranked])
        first: dict[str, str] = {}
        pool: list[tuple[str, float]] = []
        dups: dict[str, list[str]] = {}
        for pid, s in ranked:
            key = keys.get(pid, pid)
            if key in first:
                dups.setdefault(first[key], []).append(pid)
                continue
            first[key] = pid
            pool.append((pid, s))
        return pool, dups

    def _title_keys(self, ids: list[str]) -> dict[str, str]:
        """From the in-memory index when it is current, else from the store."""
        idx = self._bm25
        if idx is not None and idx.version.startswith(self.papers_version() + "|"):
            return {p: idx.keys[idx.row[p]] for p in ids if p in idx.row}
        return self.store.title_keys(ids)

    def _sorted(self, pool: list[tuple[str, float]], sort: str) -> list[tuple[str, float]]:
        score = dict(pool)
        return [(p, score[p]) for p in self.facets().order([p for p, _ in pool], sort)]

    def _hits(self, ids: list[str], score: dict[str, float], found: dict[str, list[str]],
              dups: dict[str, list[str]], parsed: ParsedQuery, summaries: bool = True) -> list[SearchHit]:
        analyzer = self._bm25.analyze if self._bm25 is not None else Analyzer()
        return make_hits(self.store, analyzer, ids, score, found, dups, parsed, summaries)

    def _results(self, q: SearchQuery, mode: str, total: int, hits: list[SearchHit],
                 t0: float, coverage: float | None = None) -> SearchResults:
        return SearchResults(query=q.q, mode=mode, embedder=self.embedder.name if self.embedder else None,
                             semantic_coverage=coverage, total=total, offset=q.offset, limit=q.limit,
                             took_ms=round((time.perf_counter() - t0) * 1000, 2), hits=hits)
