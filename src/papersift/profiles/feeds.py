"""What each profile's feed lists: the profile's ranked papers of the newest days, best of
each day first, newest day first. The site build writes them (site/profile_feeds.py)."""

from __future__ import annotations

from collections.abc import Callable

from ..config import Settings
from ..site.profile_feeds import ProfileFeed
from ..store.base import Store
from .config import profiles_of
from .daily import ProfileRanker

FEED_DAYS = 7  # days of ranked papers in a profile's feed
FEED_N = 50  # entries at most


def profile_feed_lists(store: Store, settings: Settings) -> Callable[[], list[ProfileFeed]] | None:
    """A function giving every feed-enabled profile's list (None when there is none); it
    ranks only when called, so a build without profiles pays nothing."""
    profiles, base, _ = profiles_of(settings)
    wanted = [p for p in profiles if p.feed]
    if not wanted:
        return None

    def lists() -> list[ProfileFeed]:
        ranker = ProfileRanker(store, settings, base)
        days = [d for d, _ in store.days()][-FEED_DAYS:]
        out: list[ProfileFeed] = []
        for p in wanted:
            ids: list[str] = []
            for d in reversed(days):
                ids += [r.paper.id for r in ranker.rank(p, d).ranking.kept if r.paper.id not in ids]
            out.append((p.name, f"{settings.site_title}: for {p.name}", ids[:FEED_N]))
        return out

    return lists
