"""Feeds per profile, `feeds/profile/<name>.{atom.xml,json}`: written after every build
from lists the caller ranked (profiles/feeds.py), with the site's own feed writers. A
profile that is gone loses its feed files."""

from __future__ import annotations

from collections.abc import Callable

from . import feeds
from .data import Cards
from .output import SiteWriter

ProfileFeed = tuple[str, str, list[str]]  # (profile name, feed title, paper ids in order)
ProfileFeedsFn = Callable[[], list[ProfileFeed]]
DIR = "feeds/profile"


def write_profile_feeds(w: SiteWriter, cards: Cards, lists: list[ProfileFeed], site_url: str) -> None:
    cards.load({i for _, _, ids in lists for i in ids})
    keep: set[str] = set()
    for name, title, ids in lists:
        cs = [cards.cards[i] for i in ids if i in cards.cards]
        for ext, make in ((".atom.xml", feeds.atom), (".json", feeds.json_feed)):
            rel = f"{DIR}/{name}{ext}"
            keep.add(rel)
            w.write(rel, make(cs, title, site_url, rel))
    folder = w.root / DIR
    if folder.is_dir():
        for f in sorted(folder.iterdir()):
            if f.is_file() and f"{DIR}/{f.name}" not in keep:
                w.remove(f"{DIR}/{f.name}")
