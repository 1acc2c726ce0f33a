"""Fast paths of the site renderer give the same bytes as the plain way: cards and paper
pages rendered in Python equal the Jinja templates they replaced (kept in site_reference/),
listings spliced from card and data bytes, script JSON escaped as bytes, and the two-ended
work split of a full build's helper process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from support.site_fixture import XSS_TITLE

from papersift.site.cards import LANG_NAMES, page_data, script_json, script_json_bytes, tag_counts
from papersift.site.data import Cards
from papersift.site.pages import by_upvotes
from papersift.site.render import TEMPLATES, Renderer
from papersift.site.workers import Helper, Split

LANGS = ["en", "ru", "zh"]


@pytest.fixture()
def loaded(site_store):
    cards = Cards(site_store, LANGS)
    ids = cards.load()
    return Renderer("papersift", LANGS), [cards.cards[i] for i in ids]


REFERENCE = Environment(loader=ChoiceLoader([FileSystemLoader(str(Path(__file__).parent / "site_reference")),
                                             FileSystemLoader(str(TEMPLATES))]),
                        autoescape=select_autoescape(["html"], default_for_string=True),
                        trim_blocks=True, lstrip_blocks=True)


def variants(cards: list[dict]) -> list[dict]:
    """The fixture's cards plus every branch the templates have: ranks aside, moved papers,
    long author lists, affiliations, organizations, stars, code / resource badges, missing
    dates and abstracts, each enrichment state, hostile text in every field."""
    out = list(cards)
    c = cards[0]
    hostile = '<b x="1">&\'"'
    out.append({**c, "moved_to": "2025-02-07", "authors": [f"A{i} <x>" for i in range(11)],
                "num_authors": 11, "affiliations": [f"Lab {i} & co" for i in range(8)],
                "organization": hostile, "github_stars": 42, "method": "offline"})
    out.append({**c, "published": "", "day": "", "abstract": "", "method": None, "categories": [],
                "tags": [], "affiliations": [], "organization": None, "github_stars": None,
                "links": {"arxiv": None, "pdf": None}})
    out.append({**c, "id": hostile, "slug": hostile, "title": hostile, "emoji": hostile,
                "authors": [hostile], "categories": [hostile], "tags": ["cv", "rl"],
                "links": {"arxiv": "https://a/?q=1&b=<2>", "github": "http://g/\"x"},
                "reviews": {k: {"title": hostile, "review": hostile, "fallback": f}
                            for k, f in (("en", None), ("ru", "en"), ("zh", None))}})
    out.append({**c, "reviews": {"ru": {"title": "T", "review": "R", "fallback": None}}})
    # images: card and page, only a title, only a figure, hostile caption, file name and title
    title_img = {"file": "2502.01234.title.0123abcd.webp", "w": 786, "h": 203, "bytes": 15000, "caption": ""}
    fig = {"file": 'f"<x>.webp', "w": 800, "h": 514, "bytes": 30000, "caption": hostile}
    out.append({**c, "card_img": title_img, "images": {"title": title_img, "figure": fig}})
    out.append({**c, "title": hostile, "card_img": fig, "images": {"figure": fig}})
    out.append({**c, "card_img": None, "images": {"title": title_img}})
    out.append({**c, "badges": [("code", "https://github.com/o/r", "code ★ 1.2k"),
                                ("models", "https://huggingface.co/papers/1?a=1&b=<2>", "3 models"),
                                (hostile, 'http://g/"x', hostile)]})
    return out


def test_python_card_equals_the_former_template(loaded):
    r, cards = loaded
    t = REFERENCE.get_template("_card.html")
    for c in variants(cards):
        for root in ("../", ""):
            for rank in (None, 0, 7):
                want = t.render(c=c, root=root, rank=rank, lang="en").encode()
                r._cards.clear()
                assert r.card(c, root, rank) == want, (c["id"], root, rank)


def test_python_paper_page_equals_the_former_template(loaded):
    r, cards = loaded
    t = REFERENCE.get_template("paper.html")
    for c in variants(cards):
        for sim in ([], cards[:2], variants(cards)[-3:]):
            want = t.render(site_title="papersift", langs=LANGS, lang_names=LANG_NAMES, root="../",
                            title=c["title"], page_kind="paper", c=c, similar=sim).encode()
            assert r.paper(c, sim) == want, c["id"]


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
    split = Split(n)

    def helper_side(send):
        took = []
        while (part := split.back(7)) is not None:
            took.extend(part)
        return took

    h = Helper(helper_side)
    mine = []
    while (part := split.front(3)) is not None:
        mine.extend(part)
    _, theirs = h.finish()
    assert sorted(mine + theirs) == list(range(n))
    assert not set(mine) & set(theirs)


def test_fragment_escape_is_markupsafes():
    from markupsafe import escape

    from papersift.site.fragments import _e
    for v in ['<a href="x">&\'</a>', "", "plain", "中文 📄 \u2028", "&amp;", 0, 42, None, -1.5]:
        assert _e(v) == str(escape(v)), v
