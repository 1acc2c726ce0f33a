"""What a search asks and answers (SearchQuery, SearchHit, SearchResults), how its two
rankings are fused (Fusion), and the query's filters as the store takes them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from ..model import Enrichment, Paper
from ..store.base import SearchFilters
from .highlight import Span
from .lexical import BM25Params

Mode = Literal["hybrid", "lexical", "semantic"]


@dataclass(frozen=True)
class Fusion:
    """How the two rankings are combined. Defaults tuned on SciFact train (docs/search.md)."""

    method: Literal["rrf", "convex"] = "convex"  # convex beat RRF by ~0.015 nDCG on train
    rrf_k: int = 60
    alpha: float = 0.4  # convex: weight of the semantic score (after min-max scaling)
    bm25: BM25Params = BM25Params()  # k1, b and column weights of the lexical ranker
    depth: int = 100  # candidates taken from each ranker
    min_similarity: float = 0.3  # semantic-only hits below this cosine are not results

    @classmethod
    def for_embedder(cls, name: str | None) -> Fusion:
        """Tuned per model on SciFact train: the static model2vec ranks far worse alone
        (nDCG 0.40 vs 0.66), so it gets a small weight (docs/search.md)."""
        return cls(alpha=0.2) if name == "model2vec" else cls()

    def fuse(self, lex: list[tuple[str, float]], sem: list[tuple[str, float]],
             unembedded: set[str]) -> list[tuple[str, float]]:
        """One ranking from two. RRF uses ranks only; convex min-max scales each list's
        scores to [0, 1] and mixes them (a paper absent from a list gets 0 there).

        A paper with no vector yet (`unembedded`: an index still building) has no semantic
        score at all, which is not the same as a poor one: its lexical share stands in for
        the missing half, so it ranks as it would by BM25 alone instead of below every
        embedded paper."""
        scores: dict[str, float] = {}
        if self.method == "rrf":
            for ranking in (lex, sem):
                for rank, (pid, _) in enumerate(ranking):
                    scores[pid] = scores.get(pid, 0.0) + 1.0 / (self.rrf_k + rank + 1)
            for rank, (pid, _) in enumerate(lex):
                if pid in unembedded:
                    scores[pid] += 1.0 / (self.rrf_k + rank + 1)
        else:
            for ranking, w in ((lex, 1.0 - self.alpha), (sem, self.alpha)):
                if not ranking:
                    continue
                hi, lo = ranking[0][1], min(s for _, s in ranking)
                span = (hi - lo) or 1.0
                for pid, s in ranking:
                    share = (s - lo) / span
                    scores[pid] = scores.get(pid, 0.0) + w * share
                    if ranking is lex and pid in unembedded:
                        scores[pid] += self.alpha * share
        return sorted(scores.items(), key=lambda x: (-x[1], x[0]))


class SearchQuery(BaseModel):
    q: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    tags: list[str] = Field(default_factory=list)
    tag_mode: Literal["any", "all"] = "any"  # a paper needs one of the tags, or all of them
    min_upvotes: int | None = Field(default=None, ge=0)
    sources: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    sort: Literal["relevance", "date", "upvotes"] = "relevance"
    mode: Mode = "hybrid"
    # highlightedSummary (the whole abstract, highlighted) on each hit; without it hits still
    # carry the snippet, at about half the highlighting cost (the API shows snippets only).
    summaries: bool = True
    limit: int = Field(default=20, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=10_000)

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str]) -> list[str]:
        return [t.strip().lstrip("#").lower() for t in v if t.strip().lstrip("#")]

    def filters(self) -> dict[str, Any]:
        return {"date_from": self.date_from.isoformat() if self.date_from else None,
                "date_to": self.date_to.isoformat() if self.date_to else None,
                "min_upvotes": self.min_upvotes, "sources": self.sources,
                "categories": self.categories, "tags": self.tags,
                "tag_mode": self.tag_mode if self.tags else None}

    def has_filters(self) -> bool:
        return any(v not in (None, []) for v in self.filters().values())


def store_filters(f: dict[str, Any] | None) -> SearchFilters | None:
    """Filters as SearchQuery.filters() gives them (ISO dates), for the store."""
    if not f:
        return None

    def day(v: Any) -> dt.date | None:
        return dt.date.fromisoformat(str(v)) if v else None

    return SearchFilters(date_from=day(f.get("date_from")), date_to=day(f.get("date_to")),
                         min_upvotes=f.get("min_upvotes"), sources=tuple(f.get("sources") or ()),
                         categories=tuple(f.get("categories") or ()), tags=tuple(f.get("tags") or ()),
                         tag_mode="all" if f.get("tag_mode") == "all" else "any")


class SearchHit(BaseModel):
    id: str
    score: float
    found_by: list[str]  # "lexical" and/or "semantic"
    paper: Paper
    tags: list[str] = Field(default_factory=list)
    enrichment: Enrichment | None = None  # the paper's stored enrichment, when it has one
    highlightedTitle: list[Span]  # noqa: N815 (Hugging Face's field names)
    highlightedSummary: list[Span]  # noqa: N815
    snippet: list[Span]
    duplicates: list[str] = Field(default_factory=list)  # ids collapsed into this hit


class SearchResults(BaseModel):
    query: str
    mode: str  # what actually ran (hybrid falls back to lexical without vectors)
    embedder: str | None
    # Share of papers with a vector when the semantic ranker ran (< 1 while `papersift
    # index` is still building: those papers are ranked by BM25 alone); None otherwise.
    semantic_coverage: float | None = None
    total: int
    offset: int
    limit: int
    took_ms: float
    hits: list[SearchHit]
