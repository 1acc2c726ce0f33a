"""Jinja2 rendering of each kind of page (autoescape on: every string from a model or a
source is escaped by the template engine, and JSON for the page's script by cards.script_json).
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import BytecodeCache, Environment, FileSystemBytecodeCache, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from ..model import Reading
from ..taxonomy import TAGS
from . import fragments
from .cards import LANG_NAMES, iso_week, page_data, script_json_bytes, tag_counts

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
# Placeholders for a listing's cards and data (see Renderer.listing): NUL never occurs in
# a template, and the page is checked not to hold them elsewhere before they are replaced.
_CARDS, _DATA = "\x00cards\x00", "\x00data\x00"
_CARDS_B, _DATA_B = _CARDS.encode(), _DATA.encode()
FORMAT_VERSION = "1"  # bump when build.py/cards.py change what pages contain


def render_version() -> str:
    """Changes whenever a template, a static file or the Python-rendered fragments change:
    then every page is re-rendered."""
    h = hashlib.sha256(FORMAT_VERSION.encode())
    for f in [*sorted(TEMPLATES.iterdir()), *sorted(STATIC.iterdir()), HERE / "fragments.py"]:
        if f.is_file():
            h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def _bytecode_cache() -> BytecodeCache | None:
    # Compiling the templates costs ~0.1 s a process, a tenth of an incremental build:
    # Jinja's own per-user cache directory (mode 0700, checked) keeps the compiled code.
    try:
        return FileSystemBytecodeCache()
    except (OSError, RuntimeError):
        return None


class Renderer:
    def __init__(self, site_title: str, langs: list[str]):
        self.env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                               autoescape=select_autoescape(["html"], default_for_string=True),
                               trim_blocks=True, lstrip_blocks=True, auto_reload=False,
                               bytecode_cache=_bytecode_cache())
        self.common = {"site_title": site_title, "langs": langs, "lang_names": LANG_NAMES}
        self._t: dict[Any, Any] = {}
        self._cards: dict[tuple[str, str, str | None], tuple[dict[str, Any], bytes]] = {}

    def _render(self, name: str, **ctx: Any) -> str:
        return self._template(name).render(**self.common, **ctx)

    def page(self, name: str, **ctx: Any) -> bytes:
        """A whole page from one template (base.html's shell around its main block)."""
        return self._render(name, **ctx).encode("utf-8")

    def card(self, c: dict[str, Any], root: str, rank: int | None = None) -> bytes:
        """One card's HTML (fragments.card) as UTF-8. Unranked cards are cached: a
        paper's card is the same on its day page and its topic pages."""
        key = (c["id"], root, c["moved_to"]) if rank is None else None
        if key is not None:
            hit = self._cards.get(key)
            if hit is not None and hit[0] is c:
                return hit[1]
        html = fragments.card(c, root, rank).encode("utf-8")
        if key is not None:
            self._cards[key] = (c, html)
        return html

    def _template(self, name: str) -> Any:
        t = self._t.get(name)
        if t is None:
            t = self._t[name] = self.env.get_template(name)
        return t

    def listing(self, *, root: str, title: str, heading: str, cards: list[dict[str, Any]],
                kind: str, subtitle: str = "", updated: str = "", prev: dict | None = None,
                next: dict | None = None, extra_links: list[dict] | None = None,
                ranked: bool = False) -> bytes:
        """A listing page as UTF-8. listing.html is rendered around one placeholder card and
        placeholder data, and the cards' and the data's bytes are put in their place: a day
        page is ~1 MB, and as one str it would take 4 bytes a character (cards carry emoji)."""
        ctx = dict(root=root, title=title, heading=heading, cards=cards, page_kind=kind,
                   subtitle=subtitle, updated=updated, prev=prev, next=next,
                   extra_links=extra_links or [], counts=tag_counts(cards))
        html = [self.card(c, root, i + 1 if ranked else None) for i, c in enumerate(cards)]
        data = script_json_bytes(page_data(cards))
        if cards:
            page = self._render("listing.html", cards_html=[Markup(_CARDS)], data_json=_DATA,
                                **ctx).encode("utf-8")
            if page.count(_CARDS_B) == 1 and page.count(_DATA_B) == 1:
                head, rest = page.split(_CARDS_B)  # rest: the "\n" after the last card, ...
                mid, tail = rest.split(_DATA_B)
                return b"".join((head, b"\n".join(html), mid, data, tail))
        # No cards (no placeholders are rendered) or a placeholder also in the page's own
        # text: the plain way, same bytes.
        return self._render("listing.html", cards_html=[Markup(h.decode("utf-8")) for h in html],
                            data_json=data.decode("utf-8"), **ctx).encode("utf-8")

    def paper(self, c: dict[str, Any], similar: list[dict[str, Any]]) -> bytes:
        """The paper page as UTF-8: base.html's shell, rendered once per build (see _shell),
        around the page's main block (fragments.paper_main)."""
        head, tail = self._shell("../", "paper")
        main = fragments.paper_main(c, similar, "../", LANG_NAMES).encode("utf-8")
        return str(escape(c["title"])).encode("utf-8").join(head) + main + tail

    def _shell(self, root: str, kind: str) -> tuple[list[bytes], bytes]:
        """base.html around an empty main block, as UTF-8: (pieces to join with the escaped
        title, the rest after main). Sentinels are NUL characters, which no template contains."""
        key = ("shell", root, kind)
        hit = self._t.get(key)
        if hit is None:
            t = self.env.from_string('{% extends "base.html" %}{% block main %}\x00M{% endblock %}')
            page = t.render(**self.common, root=root, title="\x00T", page_kind=kind)
            before, after = page.split("\x00M")
            hit = self._t[key] = ([b.encode("utf-8") for b in before.split("\x00T")],
                                  after.encode("utf-8"))
        return hit

    def archive(self, days: list[tuple[dt.date, int]], reading_days: set[str]) -> str:
        by_month: dict[str, dict[int, int]] = {}
        for d, n in days:
            by_month.setdefault(f"{d.year}-{d.month:02d}", {})[d.day] = n
        months = []
        for key in sorted(by_month, reverse=True):
            y, m = (int(x) for x in key.split("-"))
            weeks = []
            for week in calendar.Calendar(0).monthdatescalendar(y, m):
                cells = []
                for d in week:
                    inside = d.month == m
                    n = by_month[key].get(d.day, 0) if inside else 0
                    iso = d.isoformat()
                    cells.append({"dom": d.day if inside else "", "n": n, "iso": iso,
                                  "reading": inside and iso in reading_days})
                weeks.append({"key": iso_week(week[0]), "days": cells})
            months.append({"key": key, "label": f"{calendar.month_name[m]} {y}",
                           "count": sum(by_month[key].values()), "weeks": weeks})
        return self._render("archive.html", root="", title="Archive", page_kind="archive",
                            months=months, total_days=len(days), total_papers=sum(n for _, n in days))

    def topics(self, counts: dict[str, int]) -> str:
        topics: list[dict[str, Any]] = [{"name": t, "desc": TAGS[t], "count": counts.get(t, 0)}
                                        for t in TAGS]
        topics.sort(key=lambda t: (-t["count"], t["name"]))
        return self._render("topics.html", root="../", title="Topics", page_kind="topics", topics=topics)

    def reading(self, r: Reading) -> str:
        return self._render("reading.html", root="../", title=f"中文阅读 {r.day}", page_kind="reading",
                            r=r)

    def search(self) -> str:
        return self._render("search.html", root="", title="Search", page_kind="search")

    def foryou(self, data_version: str) -> str:
        return self._render("foryou.html", root="", title="For you", page_kind="foryou",
                            data_version=data_version)


def nav(keys: list[str], key: str, href: Callable[[str], str]) -> tuple[dict | None, dict | None]:
    """prev/next among the keys that have papers (empty days/weeks are simply not in keys)."""
    import bisect
    i = bisect.bisect_left(keys, key)
    prev = {"href": href(keys[i - 1]), "label": keys[i - 1]} if i > 0 else None
    j = i + 1 if i < len(keys) and keys[i] == key else i
    nxt = {"href": href(keys[j]), "label": keys[j]} if j < len(keys) else None
    return prev, nxt
