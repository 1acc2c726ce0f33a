"""The site's search box in a real Chromium (Debian's /usr/bin/chromium, never a download):
the static index from file:// (no server at all), and the API when `papersift serve` serves
the site."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path

import feedparser
import httpx
import pytest
import Stemmer
from support.browser import needs_chromium
from support.live_server import LiveServer
from support.site_fixture import XSS_TITLE, open_site_store

from papersift.api.app import create_app
from papersift.model import Paper
from papersift.site import build_site

REPO = Path(__file__).resolve().parent.parent

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("search")
    store = open_site_store(tmp / "p.db")
    time.sleep(2)  # built_at has 1 s steps: the second build then sees only the new paper
    build_site(store, tmp / "site")
    # A paper added after the first build: the incremental build puts it in the index's delta.
    store.upsert_papers([Paper(arxiv_id="2502.09999", title="Zebrafish embryo segmentation",
                               abstract="Segmenting zebrafish embryos under a microscope.",
                               authors=["Late Author"], hf_date=dt.date(2025, 2, 10), upvotes=3)])
    res = build_site(store, tmp / "site")
    assert res.mode == "incremental"
    store.close()
    return tmp


def search(pg, q: str) -> list[str]:
    """Type q into the search page's own box and press Enter; the result slugs."""
    n = pg.evaluate("Number(document.getElementById('results').dataset.done || 0)")
    pg.fill("#search-page-form input[name=q]", q)
    pg.press("#search-page-form input[name=q]", "Enter")
    pg.wait_for_function(f"Number(document.getElementById('results').dataset.done || 0) > {n}")
    return pg.eval_on_selector_all("#results li", "els => els.map(e => e.dataset.slug)")


def open_search(pg, site: Path, query: str = "") -> None:
    pg.goto((site / "site" / "search.html").as_uri() + query)
    pg.wait_for_selector("#results[data-done]", state="attached")


def test_header_box_on_a_file_page_searches_the_static_index(site, page):
    page.goto((site / "site" / "d" / "2025-02-05.html").as_uri())
    box = page.locator("#search-form input[name=q]")
    assert box.is_visible()
    box.fill("robot policy")
    box.press("Enter")
    page.wait_for_selector("#results[data-done]", state="attached")
    assert page.url.startswith("file://") and "search.html?q=robot" in page.url
    slugs = page.eval_on_selector_all("#results li", "els => els.map(e => e.dataset.slug)")
    titles = page.locator("#results li .ctitle a").all_inner_texts()
    assert len(slugs) == 10 and all(t.startswith("Robot policy paper") for t in titles)  # a page of 10
    assert page.locator("#search-status").inner_text().startswith("12 results")  # the fixture's robot papers
    assert "search index of this site" in page.locator("#search-status").inner_text()
    marks = [m.lower() for m in page.locator("#results li:first-child .ctitle mark").all_inner_texts()]
    assert set(marks) == {"robot", "policy"}
    page.locator("#results li a").first.click()
    # the click starts a navigation: is_visible() does not wait for the new page to load
    page.locator("article.paper h1").wait_for(state="visible", timeout=10_000)
    assert "/p/" in page.url and page.locator("article.paper h1").is_visible()
    assert page.errors == [] and page.dialogs == []
    assert page.external == []  # no CDN, no font, nothing from outside


def test_abstract_words_authors_and_the_delta_are_searched(site, page):
    open_search(page, site)
    assert search(page, "zebrafish") == ["2502.09999"]  # added by the incremental build
    assert page.locator("#results .snippet mark").first.inner_text().lower() == "zebrafish"
    assert "2502.00007" in search(page, "Author 7")
    assert "2502.00001" in search(page, "Catchy 0")  # review text (the catchy title)
    assert search(page, "xylophonequartz") == []
    assert page.locator("#search-status").inner_text().startswith("0 results")


def test_tag_and_date_filters(site, page):
    open_search(page, site)
    everything = search(page, "study paper")
    page.select_option("#search-page-form select[name=tag]", "cv")
    cv = search(page, "study paper")
    assert cv and len(cv) < len(everything)
    tags = page.eval_on_selector_all("#results li", "els => els.map(e => [...e.querySelectorAll('.tag')]"
                                     ".map(t => t.textContent))")
    assert all("#cv" in t for t in tags)
    assert "tag=" not in page.url and "tags=cv" in page.url  # the URL can be shared
    page.select_option("#search-page-form select[name=tag]", "")
    page.fill("#search-page-form input[name=from]", "2025-02-07")
    page.fill("#search-page-form input[name=to]", "2025-02-07")
    days = search(page, "study paper")
    metas = page.locator("#results .meta").all_inner_texts()
    assert days and all(m.startswith("2025-02-07") for m in metas)
    # from a shared link: the filters are restored into the form
    open_search(page, site, "?q=study&tags=rl&from=2025-02-06")
    assert page.locator("#search-page-form select[name=tag]").input_value() == "rl"
    assert page.locator("#search-page-form input[name=from]").input_value() == "2025-02-06"
    metas = page.locator("#results .meta").all_inner_texts()
    assert metas and all(m[:10] >= "2025-02-06" for m in metas)


def test_hostile_title_is_text(site, page):
    open_search(page, site)
    slugs = search(page, "script alert")
    assert "hep-th_9901001" in slugs
    card = page.locator('#results li[data-slug="hep-th_9901001"]')
    assert card.locator(".ctitle a").inner_text() == XSS_TITLE
    assert page.locator("#results script, #results img").count() == 0
    assert page.dialogs == [] and page.errors == []


def test_stems_match_the_index_builder(site, page):
    """The page's Porter stemmer must agree with PyStemmer's, which built the index: every
    word of the project's own docs, plus the rules' edge cases."""
    text = " ".join(p.read_text(encoding="utf-8") for p in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))])
    words = sorted(set(re.findall(r"[a-z0-9]+", text.lower())) | {
        "grokking", "oy", "ies", "sses", "hopping", "agreed", "feed", "relational", "conditional",
        "generalization", "hopeful", "electricity", "adjustment", "controllable", "rolling", "filing"})
    open_search(page, site)
    got = page.evaluate("ws => ws.map(PS_STEM)", words)
    want = Stemmer.Stemmer("porter").stemWords(words)
    assert len(words) > 500
    assert [w for w, a, b in zip(words, got, want, strict=True) if a != b] == []


def test_served_box_uses_the_api_and_offers_feeds(site, page):
    with LiveServer(create_app(site / "p.db", site / "site")) as srv:
        page.goto(srv.url + "/index.html")
        page.locator("#search-form input[name=q]").fill("diffusion")
        page.locator("#search-form input[name=q]").press("Enter")
        page.wait_for_selector("#results[data-done]", state="attached")
        assert any("/api/search?" in u and "q=diffusion" in u for u in page.requests)
        assert not any("/search/" in u and u.endswith(".js") and "index.js" not in u for u in page.requests)
        assert "(lexical)" in page.locator("#search-status").inner_text()
        marks = page.locator("#results mark").all_inner_texts()
        assert marks and all(m.lower().startswith("diffus") for m in marks)
        follow = page.locator("#follow")
        assert follow.is_visible()
        href = follow.locator("a[data-format=atom]").get_attribute("href")
        assert href.startswith("api/feed?") and "q=diffusion" in href and "format=atom" in href
        body = httpx.get(f"{srv.url}/{href}", timeout=10).content
        parsed = feedparser.parse(body)
        assert not parsed.bozo and len(parsed.entries) == len(page.locator("#results li").all())
        jhref = follow.locator("a[data-format=json]").get_attribute("href")
        assert json.loads(httpx.get(f"{srv.url}/{jhref}", timeout=10).content)["version"].endswith("1.1")
    assert page.errors == [] and page.dialogs == []
