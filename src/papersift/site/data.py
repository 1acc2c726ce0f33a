"""Cards straight from the store's raw rows (store.publish_rows): the site build reads
every paper on a full build, and validated model objects cost ~5x more than the query."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# orjson parses the stored JSON (written by the store's own dumps) several times faster
from orjson import loads as _loads

from ..store.base import PublishSource
from .cards import card_from_fields
from .images import SiteImages

_EMPTY_LIST = "[]"


def _list(v: str | None) -> list[Any]:
    return [] if v is None or v == _EMPTY_LIST else _loads(v)


class Cards:
    """id -> card, plus when each paper's data last changed, loaded in batches."""

    def __init__(self, store: PublishSource, langs: list[str], images: SiteImages | None = None):
        self.store, self.langs, self.images = store, langs, images
        self.cards: dict[str, dict[str, Any]] = {}
        self.updated: dict[str, str] = {}  # id -> when its row or enrichment last changed (ISO)
        self.order: list[str] = []  # ids in the order they were loaded

    def load(self, ids: Iterable[str] | None = None) -> list[str]:
        """Load cards for `ids` (all papers when None); returns the ids found, in store
        order for a full load."""
        if ids is not None:
            ids = [i for i in ids if i not in self.cards]
            if not ids:
                return []
        langs, cards, updated, got = self.langs, self.cards, self.updated, []
        for (pid, aid, title, abstract, authors, affil, published, hf_date, upvotes, gh, stars,
             project, org, cats, ai_summary, links, n_auth, created, changed, edata,
             enriched_at, n_models, n_datasets, n_spaces) in self.store.publish_rows(ids):
            f = {"id": pid, "arxiv_id": aid, "title": title, "abstract": abstract or "",
                 "authors": _list(authors), "affiliations": _list(affil),
                 "published": published or "", "hf_date": hf_date or "", "upvotes": upvotes,
                 "github_repo": gh, "github_stars": stars, "project_page": project,
                 "organization": org, "categories": _list(cats), "ai_summary": ai_summary,
                 "links": None if links is None or links == "{}" else _loads(links),
                 "num_authors": n_auth, "hf_models": n_models, "hf_datasets": n_datasets,
                 "hf_spaces": n_spaces}
            e = _loads(edata) if edata else None
            cards[pid] = card_from_fields(f, e, langs, added=(created or "")[:19])
            updated[pid] = max(changed or "", enriched_at or "")
            got.append(pid)
        if self.images is not None and self.images.views:
            for pid in got:
                self.images.attach(cards[pid])
        self.order.extend(got)
        return got
