"""The site in a real Chromium (Debian's /usr/bin/chromium driven by Playwright; never a
browser download): from file:// with no server, and served with the search API."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.browser import needs_chromium
from support.live_server import LiveServer
from support.site_fixture import DAYS, XSS_REVIEW, XSS_TITLE, build_fixture_site, open_site_store

from papersift.api.app import create_app
from papersift.site import build_site

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build_fixture_site(tmp_path_factory.mktemp("browser"))


def url(site: Path, rel: str) -> str:
    return (site / "site" / rel).as_uri()


def visible_ids(pg) -> list[str]:
    return pg.eval_on_selector_all(".card:not([hidden])", "els => els.map(e => e.dataset.id)")


def test_file_page_is_safe_offline_and_screenshotted(site, page):
    page.goto(url(site, "d/2025-02-05.html"))
    card = page.locator('.card[data-id="hep-th/9901001"]')
    assert card.locator(".ctitle a").inner_text() == XSS_TITLE
    assert card.locator(".review").inner_text() == XSS_REVIEW
    page.locator("button.lang[data-lang=ru]").click()  # the ru title holds '</script><b>'
    assert card.locator(".ctitle a").inner_text() == "</script><b>x</b>"
    page.locator("button.lang[data-lang=en]").click()
    assert page.locator("img").count() == 0
    assert page.dialogs == [] and page.errors == []
    assert page.external == []  # no CDN, no fonts, nothing from outside
    assert page.locator("#search-form").is_visible()  # the static index answers it on file://
    assert "ago" in page.locator("#updated").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "daily-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page scrolls sideways on a phone ({width}px)"
    page.screenshot(path=str(ARTIFACTS / "daily-phone.png"), full_page=True)


def test_tag_filter_and_or_in_url_and_restored(site, page):
    page.goto(url(site, "d/2025-02-05.html"))
    assert len(visible_ids(page)) == 6
    page.locator("button.ftag[data-tag=cv]").click()
    cv = set(visible_ids(page))
    page.locator("button.ftag[data-tag=rl]").click()
    either = set(visible_ids(page))
    assert cv < either
    page.locator("#mode").click()
    both = set(visible_ids(page))
    assert both < cv and both
    assert "tags=cv%2Crl" in page.url and "mode=and" in page.url
    page.goto(url(site, "d/2025-02-05.html") + "?tags=cv,rl&mode=and")
    assert set(visible_ids(page)) == both
    assert page.locator("#mode").inner_text() == "AND"
    assert page.locator("button.ftag[data-tag=cv]").get_attribute("aria-pressed") == "true"


def test_sort_is_applied_and_remembered(site, page):
    page.goto(url(site, "d/2025-02-06.html"))

    def ups():
        return [int(t.split()[-1]) for t in page.locator(".card .up").all_inner_texts()]

    assert ups() == sorted(ups(), reverse=True)
    page.select_option("#sort", "pub")
    pubs = page.eval_on_selector_all(".card", "els => els.map(e => JSON.parse("
                                     "document.getElementById('page-data').textContent)[e.dataset.id].pub)")
    assert pubs == sorted(pubs, reverse=True) and ups() != sorted(ups(), reverse=True)
    page.goto(url(site, "d/2025-02-07.html"))
    assert page.locator("#sort").input_value() == "pub"


def test_language_switch_falls_back_to_english(site, page):
    page.goto(url(site, "d/2025-02-05.html"))
    first = page.locator('.card[data-id="2502.00001"]')
    page.locator("button.lang[data-lang=ru]").click()
    assert first.locator(".ctitle a").inner_text() == "Заголовок 0"
    no_ru = page.locator('.card[data-id="2502.00002"]')
    assert no_ru.locator(".ctitle a").inner_text() == "Catchy 1"
    assert no_ru.locator(".fb").is_visible()
    page.locator("button.lang[data-lang=zh]").click()
    assert first.locator(".review").inner_text() == "中文评论 0。"
    for t in page.locator(".card .ctitle a").all_inner_texts() + page.locator(".card .review").all_inner_texts():
        assert t.strip(), "a card went empty"
    page.goto(url(site, "d/2025-02-06.html"))  # remembered across pages
    assert page.locator("button.lang[data-lang=zh]").get_attribute("aria-pressed") == "true"


def test_theme_toggle_and_system_dark(site, browser):
    ctx = browser.new_context(color_scheme="dark")
    pg = ctx.new_page()
    pg.goto(url(site, "index.html"))
    bg = "getComputedStyle(document.body).backgroundColor"
    dark = pg.evaluate(bg)
    pg.locator("#theme-toggle").click()
    assert pg.evaluate("document.documentElement.dataset.theme") == "light"
    light = pg.evaluate(bg)
    assert dark != light
    pg.reload()
    assert pg.evaluate(bg) == light  # the choice is remembered
    ctx.close()


def test_open_paper_and_follow_prev_next(site, page):
    page.goto(url(site, "d/2025-02-07.html"))
    page.locator('a[rel="next"]').first.click()
    assert page.url.endswith("d/2025-02-10.html")  # skipped the empty weekend
    page.locator('a[rel="prev"]').first.click()
    assert page.url.endswith("d/2025-02-07.html")
    page.locator(".card .ctitle a").first.click()
    assert "/p/" in page.url
    assert page.locator("article.paper h1").inner_text()
    assert page.locator(".review-lang").count() == 3


def test_search_through_the_api_when_served(site, page):
    with LiveServer(create_app(site / "p.db", site / "site")) as srv:
        page.goto(srv.url + "/index.html")
        box = page.locator("#search-form input")
        assert box.is_visible()
        box.fill("diffusion")
        box.press("Enter")
        page.wait_for_selector("#results li")
        assert "results for" in page.locator("#search-status").inner_text()
        marks = page.locator("#results mark").all_inner_texts()
        assert marks and all(m.lower().startswith("diffus") for m in marks)
        page.locator("#results li a").first.click()
        assert "/p/" in page.url
        page.wait_for_selector("ul.similar li")  # similar papers fetched from the API
        page.goto(srv.url + "/p/hep-th_9901001.html")
        assert page.locator("article.paper h1").inner_text() == XSS_TITLE
    assert page.dialogs == [] and page.errors == []


# -- code and linked resources: stars sort, has code / has weights filters (from file://) --

@pytest.fixture(scope="module")
def links_site(tmp_path_factory):
    from papersift.store.base import PaperLinks

    tmp = tmp_path_factory.mktemp("browser-links")
    store = open_site_store(tmp / "p.db")
    day = [p.id for p in store.papers_for_day(DAYS[0])]
    # 2502.00001: code ★ 90 + weights; 00002: code ★ 900; 00003: weights only; 00004: code, stars unknown
    store.save_links([PaperLinks("2502.00001", "https://github.com/a/one", 90, None, 2, 0, 0),
                      PaperLinks("2502.00002", "https://github.com/a/two", 900, "https://two.example/", 0, 1, 0),
                      PaperLinks("2502.00003", None, None, None, 5, 0, 3),
                      PaperLinks("2502.00004", "https://github.com/a/four", None, None, 0, 0, 0)])
    build_site(store, tmp / "site")
    store.close()
    return tmp, day


def test_day_page_sorts_by_stars_and_filters_code_and_weights(links_site, page):
    tmp, day = links_site
    page.goto(url(tmp, "d/2025-02-05.html"))
    assert len(visible_ids(page)) == len(day) == 6
    assert page.locator('.card[data-id="2502.00002"] .res a.code').inner_text() == "code ★ 900"
    page.select_option("#sort", "st")
    order = page.eval_on_selector_all(".card", "els => els.map(e => e.dataset.id)")
    assert order[:3] == ["2502.00002", "2502.00001", "2502.00004"]  # 900, 90, repo without stars
    page.locator("button.fres[data-res=code]").click()
    assert set(visible_ids(page)) == {"2502.00001", "2502.00002", "2502.00004"}
    assert page.locator("#shown").inner_text() == "3 of 6 papers"
    page.locator("button.fres[data-res=w]").click()
    assert visible_ids(page) == ["2502.00001"]  # code and weights
    assert "has=code%2Cw" in page.url
    page.locator("button.fres[data-res=code]").click()
    assert set(visible_ids(page)) == {"2502.00001", "2502.00003"}
    page.goto(url(tmp, "d/2025-02-05.html") + "?has=code")
    assert set(visible_ids(page)) == {"2502.00001", "2502.00002", "2502.00004"}
    assert page.locator("button.fres[data-res=code]").get_attribute("aria-pressed") == "true"
    assert page.locator("#sort").input_value() == "st"  # remembered
    assert page.dialogs == [] and page.errors == [] and page.external == []
