"""The search engine over a store that ranks in the database (PostgreSQL).

SearchEngine's search() and similar() run unchanged (parse, fuse, collapse duplicates,
sort, highlight); only the rankers and lookups they call are answered by SQL here, so an
API replica holds no BM25 index or vector matrix and sees a paper as soon as its
transaction commits. Where SearchEngine passes a row mask of its in-memory index as
`allowed`, this engine passes the typed SearchFilters: the database applies them inside
the ranking query (a filtered HNSW scan, a filtered tsvector match).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..store.base import RankedSearchSource, SearchFilters
from .embed import Embedder
from .engine import SearchEngine
from .lexical import BM25Index
from .models import Fusion, store_filters
from .query import ParsedQuery

COUNT_TTL = 60.0  # seconds a big count is reused
BIG_COUNT = 100_000


class DatabaseSearchEngine(SearchEngine):
    semantic_beside = True  # BM25 and HNSW queries on two server processes at once

    def __init__(self, store: RankedSearchSource, embedder: Embedder | None = None,
                 fusion: Fusion | None = None):
        super().__init__(store, embedder, fusion)
        self.db: RankedSearchSource = store
        self.model = embedder.key if embedder else None

    def _vector_index(self, embedder: Embedder | None) -> None:
        return None  # no matrix in memory: nearest() asks the HNSW index

    def refresh(self) -> bool:
        # Nothing is loaded, so nothing can be stale; only cached version reads are dropped.
        self._versions.clear()
        return False

    def bm25(self) -> BM25Index:
        raise NotImplementedError("a database-ranked engine has no in-memory BM25 index")

    def _snapshot(self) -> None:
        return None

    def allowed_rows(self, filters: dict[str, Any] | None, idx: Any = None) -> Any:
        return store_filters(filters) if filters else None

    def lexical_counted(self, parsed: ParsedQuery, k: int, allowed: Any = None,
                        idx: Any = None) -> tuple[list[tuple[str, float]], int]:
        if not (parsed.terms or parsed.phrases or parsed.authors):
            return [], 0
        return self.db.lexical_ranked(parsed, _filters(allowed), k, self.fusion.bm25)

    def _vector_total(self) -> int:
        model = self.model
        if model is None:
            return 0
        return self._count("vector_count", lambda: self.db.vector_count(model))

    def _count(self, name: str, read: Callable[[], int]) -> int:
        """A count the engine reads (vectors, papers: the semantic coverage), re-read as
        the store's versions are, except that a big one is kept COUNT_TTL seconds: counting
        a million rows takes longer than a search, and the coverage it feeds moves slowly."""
        got = self._versions.get(name)
        if got is not None and int(got[1] or 0) >= BIG_COUNT and time.monotonic() - got[0] < COUNT_TTL:
            return int(got[1] or 0)
        return int(self._version(name, lambda: str(read())) or 0)

    def semantic_ready(self) -> bool:
        return self._vector_total() > 0

    def semantic(self, qvec: np.ndarray | None, k: int, allowed: Any = None,
                 min_score: float = -1.0, idx: Any = None) -> list[tuple[str, float]]:
        if qvec is None or self.model is None or not self.semantic_ready():
            return []
        return self.db.nearest(self.model, qvec, k, _filters(allowed), min_score)

    def _scores_for(self, qvec: np.ndarray, ids: list[str]) -> dict[str, float]:
        return self.db.vector_scores(self.model, qvec, ids) if self.model else {}

    def _paper_vector(self, pid: str) -> np.ndarray | None:
        if self.model is None:
            return None
        ids, mat = self.db.get_vectors(self.model, [pid])
        return mat[0] if ids else None

    def _without_vectors(self, ids: list[str]) -> set[str]:
        if self.model is None:
            return set(ids)
        return set(ids) - self.db.vector_ids(self.model, ids)

    def semantic_coverage(self, idx: Any = None) -> float:
        papers = self._count("paper_count", self.db.count_papers)
        return min(1.0, self._vector_total() / papers) if papers else 0.0

    def _title_keys(self, ids: list[str]) -> dict[str, str]:
        return self.db.title_keys(ids)

    def _sorted(self, pool: list[tuple[str, float]], sort: str) -> list[tuple[str, float]]:
        keys = self.db.sort_keys([p for p, _ in pool])

        def key(item: tuple[int, tuple[str, float]]) -> tuple[Any, ...]:
            day, up = keys.get(item[1][0], ("", 0))
            # Descending on both, ties in relevance order (as Facets.order).
            return (-up, _neg_day(day), item[0]) if sort == "upvotes" else (_neg_day(day), -up, item[0])

        return [p for _, p in sorted(enumerate(pool), key=key)]


def _filters(allowed: Any) -> SearchFilters | None:
    return allowed if isinstance(allowed, SearchFilters) else None


def _neg_day(day: str) -> int:
    """A day as a descending sort key (no day sorts last)."""
    digits = day[:10].replace("-", "")
    return -int(digits) if digits.isdigit() else 0
