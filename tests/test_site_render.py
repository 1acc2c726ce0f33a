"""Fast paths of the site renderer give the same bytes as the plain way: listings spliced
from card and data bytes, script JSON escaped as bytes, and the two-ended work split of a
full build's helper process."""

from __future__ import annotations

import json

import pytest
from markupsafe import Markup
from test_site_fixture import XSS_TITLE, make_store

from papersift.site.data import Cards
from papersift.site.pages import by_upvotes
from papersift.site.render import Renderer
from papersift.site.views import page_data, script_json, script_json_bytes, tag_counts
from papersift.site.workers import Helper, Split

LANGS = ["en", "ru", "zh"]


@pytest.fixture()
def loaded(tmp_path):
    cards = Cards(make_store(tmp_path / "p.db"), LANGS)
    ids = cards.load()
    return Renderer("papersift", LANGS), [cards.cards[i] for i in ids]


def plain_listing(r: Renderer, cards: list[dict], ranked: bool = False, **kw) -> bytes:
    """listing.html rendered in one go with every card's HTML and the JSON as text."""
    html = [Markup(r.card(c, kw["root"], i + 1 if ranked else None).decode()) for i, c in enumerate(cards)]
    ctx = {"subtitle": "", "updated": "", "prev": None, "next": None, "extra_links": [], **kw}
    return r._render("listing.html", cards=cards, cards_html=html, page_kind=ctx.pop("kind"),
                     counts=tag_counts(cards), data_json=script_json(page_data(cards)),
                     **ctx).encode()


@pytest.mark.parametrize("ranked", [False, True])
def test_spliced_listing_equals_the_plain_render(loaded, ranked):
    r, cards = loaded
    cards = by_upvotes(cards)
    kw = dict(root="../", title="2025-02-05", heading="Papers of 2025-02-05", kind="day",
              subtitle="20 papers", updated="2025-02-05T10:00:00",
              prev={"href": "a.html", "label": "a"}, extra_links=[{"href": "b.html", "label": "b"}])
    got = r.listing(cards=cards, ranked=ranked, **kw)
    assert got == plain_listing(r, cards, ranked=ranked, **kw)
    assert XSS_TITLE not in got.decode() and got.count(b'class="card"') == len(cards)


def test_listing_whose_own_text_holds_a_placeholder_is_rendered_the_plain_way(loaded):
    r, cards = loaded
    for odd in ("\x00cards\x00", "\x00data\x00"):
        kw = dict(root="../", title="t", heading=f"odd {odd} heading", kind="topic")
        got = r.listing(cards=cards[:3], **kw)
        assert got == plain_listing(r, cards[:3], **kw)
        assert got.count(odd.encode()) == 1  # the heading's own text, nothing spliced into it


def test_empty_listing(loaded):
    r, _ = loaded
    kw = dict(root="", title="papersift", heading="No papers yet", kind="day")
    assert r.listing(cards=[], **kw) == plain_listing(r, [], **kw)


def test_script_json_bytes_escapes_like_the_text_form():
    data = {"b": "</script><!-- & \u2028\u2029 > 📄 中文", "a": [1, None, "x"]}
    raw = script_json_bytes(data)
    assert raw == script_json(data).encode()
    assert json.loads(raw) == data
    for bad in (b"<", b">", b"&", "\u2028".encode(), "\u2029".encode()):
        assert bad not in raw
    assert raw.startswith(b'{"a":')  # keys sorted


def test_split_hands_out_every_item_once_across_two_processes():
    n = 1000
    split = Split(n, 7)

    def helper_side(send):
        took = []
        while (part := split.back()) is not None:
            took.extend(part)
        return took

    h = Helper(helper_side)
    mine = []
    while (part := split.front()) is not None:
        mine.extend(part)
    _, theirs = h.finish()
    assert sorted(mine + theirs) == list(range(n))
    assert not set(mine) & set(theirs)
