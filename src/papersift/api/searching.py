"""Search for the API: the hybrid engine from papersift.search when it is installed and
indexed, else BM25 through the store's FTS5 index. Either way results carry highlight
segments in Hugging Face's shape ([{type: "text"|"highlight", text}] that concatenate back
to the text), built here in one place.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio

from ..store.base import Store

T = TypeVar("T")

# Searches are CPU-bound (BM25 scoring, query embedding, vector scan). Letting 40 server
# threads run them at once only thrashes the GIL and torch's thread pools: a process admits
# as many as it has cores (one each when `serve --workers` runs a process per core) and the
# rest wait in arrival order (anyio's limiter is first come, first served, which keeps the
# slowest answer close to the typical one under load).
_slots = max(1, os.cpu_count() or 1)
_limiter: anyio.CapacityLimiter | None = None


def set_search_slots(n: int) -> None:
    """How many searches one server process runs at once (before its first request)."""
    global _slots, _limiter
    _slots, _limiter = max(1, n), None


async def run_search(fn: Callable[[], T]) -> T:
    """fn() in a worker thread once a search slot is free."""
    global _limiter
    if _limiter is None:  # created inside the server's event loop
        _limiter = anyio.CapacityLimiter(_slots)
    return await anyio.to_thread.run_sync(fn, limiter=_limiter)

_WORD = re.compile(r"\w+", re.UNICODE)
_STOP = frozenset(["a", "an", "the", "of", "for", "and", "or", "in", "on", "to", "with", "by", "is", "are", "we", "our", "from", "via", "at", "as"])


def query_terms(q: str) -> list[str]:
    return [t for t in dict.fromkeys(w.lower() for w in _WORD.findall(q)) if t not in _STOP][:16]


def _fts_expr(terms: list[str], op: str) -> str:
    # Every term quoted: user text never reaches FTS5's query syntax (no syntax errors, no
    # column filters); a trailing '*' makes "diffus" find "diffusion".
    return f" {op} ".join(f'"{t}"*' if len(t) >= 3 else f'"{t}"' for t in terms)


def highlight(text: str, terms: list[str]) -> list[dict[str, Any]]:
    """Split text into segments, marking words that start with a query term."""
    if not text:
        return []
    if not terms:
        return [{"type": "text", "text": text}]
    pat = re.compile(r"\b(?:" + "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
                     + r")\w*", re.IGNORECASE | re.UNICODE)
    out: list[dict[str, Any]] = []
    pos = 0
    for m in pat.finditer(text):
        if m.start() > pos:
            out.append({"type": "text", "text": text[pos:m.start()]})
        out.append({"type": "highlight", "text": m.group(0)})
        pos = m.end()
    if pos < len(text):
        out.append({"type": "text", "text": text[pos:]})
    return out


def snippet(text: str, terms: list[str], width: int = 260) -> str:
    """A window of the text around the first matching term."""
    if len(text) <= width:
        return text
    low = text.lower()
    hits = [i for i in (low.find(t) for t in terms) if i >= 0]
    start = max(0, min(hits) - width // 4) if hits else 0
    if start:
        sp = text.find(" ", start)
        start = sp + 1 if 0 <= sp < start + 20 else start
    end = min(len(text), start + width)
    return ("…" if start else "") + text[start:end].strip() + ("…" if end < len(text) else "")


@dataclass
class Hit:
    id: str
    score: float


class Searcher:
    """Finds paper ids for a query; the API turns them into result records."""

    def __init__(self, store: Store, engine: Any | None = None):
        self.store = store
        self.engine = engine

    @property
    def kind(self) -> str:
        return "hybrid" if self.engine is not None else "lexical"

    def search(self, q: str, pool: int) -> list[Hit]:
        """BM25 fallback (used when no engine is installed)."""
        terms = query_terms(q)
        if not terms:
            return []
        rows = self.store.lexical_search(_fts_expr(terms, "AND"), pool)
        if len(rows) < pool and len(terms) > 1:  # fall back to any-term matches, ranked after
            seen = {pid for pid, _ in rows}
            rows += [(pid, s * 0.5) for pid, s in self.store.lexical_search(_fts_expr(terms, "OR"), pool)
                     if pid not in seen][: pool - len(rows)]
        return [Hit(pid, s) for pid, s in rows]

    def engine_search(self, **query: Any) -> Any:
        from ..search.engine import SearchQuery

        return self.engine.search(SearchQuery(**query))

    def similar(self, paper_id: str, k: int) -> list[str]:
        if self.engine is not None:
            try:
                return [h.id for h in self.engine.similar(paper_id, limit=k).hits][:k]
            except KeyError:
                return []
        p = self.store.get_paper(paper_id)
        if p is None:
            return []
        # Lexical fallback: the title's distinctive words, OR-ed, ranked by BM25.
        terms = [t for t in query_terms(p.title) if len(t) > 3][:8]
        if not terms:
            return []
        rows = self.store.lexical_search(_fts_expr(terms, "OR"), k + 1)
        return [pid for pid, _ in rows if pid != p.id][:k]


def in_filters(card: dict[str, Any], tags: list[str], mode: str, start: dt.date | None,
               end: dt.date | None, min_upvotes: int | None) -> bool:
    if min_upvotes is not None and card["upvotes"] < min_upvotes:
        return False
    day = card["day"] or card["published"]
    if start and (not day or day < start.isoformat()):
        return False
    if end and (not day or day > end.isoformat()):
        return False
    if tags:
        have = set(card["tags"])
        return all(t in have for t in tags) if mode == "and" else any(t in have for t in tags)
    return True
