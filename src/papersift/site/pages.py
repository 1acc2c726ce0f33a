"""Rendering each kind of page from cards: shared by the full build (in worker processes)
and the incremental build (in place), so both produce the same bytes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ..taxonomy import TAGS
from . import feeds
from .cards import iso_week, month_range, week_range
from .render import Renderer, nav

TOP_N = 100  # weekly / monthly top
TAG_PAGE_N = 300  # newest papers on a topic page
FEED_N = 100  # entries in the all-papers feed
TAG_FEED_N = 50

Card = dict[str, Any]


def top(cards: list[Card], n: int) -> list[Card]:
    """Most upvoted first (then newest arXiv date, then id), each paper once."""
    seen: set[str] = set()
    uniq = [c for c in cards if not (c["id"] in seen or seen.add(c["id"]))]  # type: ignore[func-returns-value]
    uniq.sort(key=lambda c: (-c["upvotes"], -int(c["published"].replace("-", "") or 0), c["id"]))
    return uniq[:n]


def by_upvotes(cards: list[Card]) -> list[Card]:
    return sorted(cards, key=lambda c: (-c["upvotes"], c["id"]))


@dataclass
class Pages:
    """What every page needs besides its own cards: navigation keys and site settings."""

    r: Renderer
    site_title: str
    site_url: str
    day_keys: list[str]
    readings: set[str]
    updated: dict[str, str]  # paper id -> when its data last changed
    week_keys: list[str] = field(default_factory=list)
    month_keys: list[str] = field(default_factory=list)

    def paper(self, c: Card, similar: list[Card]) -> tuple[str, bytes]:
        return f"p/{c['slug']}.html", self.r.paper(c, similar)

    def day(self, k: str, cards: list[Card], moved: dict[str, str], root: str) -> bytes:
        cs = [{**c, "moved_to": moved[c["id"]]} if c["id"] in moved else c for c in cards]
        upd = max((self.updated.get(c["id"], "") for c in cs), default="")
        prev, nxt = nav(self.day_keys, k, lambda x: f"{root}d/{x}.html")
        extra = [{"href": f"{root}w/{iso_week(dt.date.fromisoformat(k))}.html", "label": "week top"},
                 {"href": f"{root}m/{k[:7]}.html", "label": "month top"},
                 {"href": f"{root}archive.html", "label": "archive"}]
        if k in self.readings:
            extra.append({"href": f"{root}d/{k}-zh.html", "label": "中文阅读"})
        return self.r.listing(root=root, title=k, heading=f"Papers of {k}", cards=cs, kind="day",
                              subtitle=f"{len(cs)} papers", updated=upd, prev=prev, next=nxt,
                              extra_links=extra)

    def empty_index(self) -> bytes:
        return self.r.listing(root="", title="papersift", heading="No papers yet", cards=[], kind="day")

    def week(self, k: str, cards: list[Card]) -> tuple[str, bytes]:
        a, b = week_range(k)
        prev, nxt = nav(self.week_keys, k, lambda x: f"{x}.html")
        return f"w/{k}.html", self.r.listing(
            root="../", title=f"Week {k}", heading=f"Top of week {k}", subtitle=f"{a} – {b}, by upvotes",
            cards=top(cards, TOP_N), kind="week", prev=prev, next=nxt, ranked=True)

    def month(self, k: str, cards: list[Card]) -> tuple[str, bytes]:
        a, b = month_range(k)
        prev, nxt = nav(self.month_keys, k, lambda x: f"{x}.html")
        return f"m/{k}.html", self.r.listing(
            root="../", title=f"Month {k}", heading=f"Top of {k}", subtitle=f"{a} – {b}, by upvotes",
            cards=top(cards, TOP_N), kind="month", prev=prev, next=nxt, ranked=True)

    def topic(self, tag: str, cards: list[Card]) -> list[tuple[str, bytes]]:
        """The topic page and its three feeds."""
        page = self.r.listing(root="../", title=f"#{tag}", heading=f"#{tag}", subtitle=TAGS[tag],
                              cards=cards, kind="topic",
                              extra_links=[{"href": f"../feeds/t/{tag}.rss.xml", "label": "RSS"},
                                           {"href": f"../feeds/t/{tag}.atom.xml", "label": "Atom"},
                                           {"href": f"../feeds/t/{tag}.json", "label": "JSON Feed"}])
        out: list[tuple[str, bytes]] = [(f"t/{tag}.html", page)]
        out.extend(feeds.all_feeds(cards[:TAG_FEED_N], f"{self.site_title}: #{tag}", self.site_url,
                                   f"feeds/t/{tag}").items())
        return out

    def all_feeds(self, recent: list[Card]) -> list[tuple[str, bytes]]:
        return list(feeds.all_feeds(recent[:FEED_N], self.site_title, self.site_url, "feeds/all").items())


# -- topic lists, kept in the build state as [id, day, upvotes] entries -------------------

TopicEntry = list[Any]  # [paper id, day, upvotes]: the order key of a topic page


def topic_entries(ids: list[str], cards: dict[str, Card]) -> list[TopicEntry]:
    return [[i, cards[i]["day"], cards[i]["upvotes"]] for i in ids if i in cards]


def _ordered(entries: list[TopicEntry]) -> list[TopicEntry]:
    # The store's order (tag_members): day DESC, upvotes DESC, id ASC; two stable sorts.
    entries = sorted(entries, key=lambda e: e[0])
    return sorted(entries, key=lambda e: (e[1], e[2]), reverse=True)


def update_topic(tag: str, old: list[TopicEntry] | None, touched: set[str],
                 cards: dict[str, Card]) -> list[TopicEntry] | None:
    """A topic page's new list from its old one and the touched papers' fresh cards, or None
    when that cannot be known without the store: a full list (TAG_PAGE_N) lost a paper or
    one moved down, so a paper beyond the old list may now belong on it."""
    if old is None or any(not isinstance(e, list) or len(e) != 3 for e in old):
        return None  # state from an older build
    full = len(old) >= TAG_PAGE_N
    out: list[TopicEntry] = []
    for pid, day, up in old:
        if pid not in touched:
            out.append([pid, day, up])
            continue
        c = cards[pid]
        if tag not in c["tags"]:
            if full:
                return None
            continue
        if full and (c["day"], c["upvotes"]) < (day, up):
            return None
        out.append([pid, c["day"], c["upvotes"]])
    listed = {e[0] for e in old}
    out += [[pid, cards[pid]["day"], cards[pid]["upvotes"]] for pid in touched
            if pid not in listed and tag in cards[pid]["tags"]]
    return _ordered(out)[:TAG_PAGE_N]
