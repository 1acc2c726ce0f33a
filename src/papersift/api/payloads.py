"""What /api/search and /api/papers/{id}/similar answer, from a search engine.

Plain functions of (engine, parameters), so the same code runs in the server process or in
a search worker process (api/pool.py) that only receives the parameters.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

from ..search.engine import SearchQuery
from ..site.cards import card


def serving_engine(make: Callable[[Any], Any], store: Any, pinned: bool = False) -> Any:
    """A search engine set up for a server (in the server process or a search process):
    store versions re-read at most once a second (`pinned`: only when engine.refresh() is
    called), every index loaded before the first request (building them while requests
    queue would stall them all)."""
    engine = make(store)
    engine.version_ttl = math.inf if pinned else 1.0  # else a store change shows within a second
    engine.refresh()  # loads the in-memory indexes (a database-ranked engine has none)
    return engine


def search_payload(engine: Any, langs: list[str], p: dict[str, Any]) -> dict[str, Any]:
    """p: q, tags (list), mode (the endpoint's tag_mode: "and"/"or"), from/to (ISO day or None), min_upvotes, sort,
    limit, offset -- already validated by the endpoint."""
    day = dt.date.fromisoformat
    res = engine.search(SearchQuery(
        q=p["q"], tags=p["tags"], tag_mode="all" if p["mode"] == "and" else "any",
        date_from=day(p["from"]) if p["from"] else None, date_to=day(p["to"]) if p["to"] else None,
        min_upvotes=p["min_upvotes"], sort=p["sort"], limit=p["limit"], offset=p["offset"],
        summaries=False))  # results show snippets; the whole highlighted abstract is not sent
    results = []
    links = engine.store.get_links([h.paper.id for h in res.hits]) if res.hits else {}
    for h in res.hits:
        c = card(h.paper, h.enrichment, langs, links=links.get(h.paper.id))
        r = c["resources"]
        en = c["reviews"].get("en") or {}
        snip = h.snippet  # spans are plain {type, text} dicts
        results.append({
            "id": c["id"], "slug": c["slug"], "title": c["title"], "title_hl": h.highlightedTitle,
            "snippet": "".join(x["text"] for x in snip), "snippet_hl": snip, "emoji": c["emoji"],
            "catchy_title": en.get("title"), "tags": c["tags"], "upvotes": c["upvotes"],
            "day": c["day"], "published": c["published"], "method": c["method"],
            "score": round(h.score, 6), "found_by": h.found_by, "duplicates": h.duplicates,
            "links": c["links"], "github_stars": c["github_stars"], "hf_models": r["models"],
            "hf_datasets": r["datasets"], "hf_spaces": r["spaces"]})
    return {"query": p["q"], "engine": res.mode, "semantic_coverage": res.semantic_coverage,
            "total": res.total, "offset": p["offset"], "limit": p["limit"], "results": results}


def similar_ids(engine: Any, paper_id: str, limit: int) -> list[str]:
    try:
        return [h.id for h in engine.similar(paper_id, limit=limit).hits][:limit]
    except KeyError:  # removed since the endpoint looked it up
        return []
