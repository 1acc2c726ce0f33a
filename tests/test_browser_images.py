"""A 40-paper day with title images in a real Chromium, from file:// at desktop and phone
widths: every card image loads from the site's own img/ folder, nothing is requested from
outside, space is reserved before an image loads (width/height), images below the fold wait
(loading=lazy), the dark theme dims them. Page weight and the time to the first card are
measured and written to test-artifacts/images/ with the screenshots (figures, not asserts)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from support.browser import needs_chromium, watch
from support.fake_hf_arxiv import FakeServer
from support.pdfs import day_papers, serve_paper

from papersift.http import HttpClient, RetryPolicy
from papersift.images.files import ImageFiles
from papersift.images.pipeline import arxiv_sources, run_images
from papersift.model import Paper
from papersift.site import build_site
from papersift.store import open_store

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "images"
DAY = "2025-03-03"
N = 40
# When the first card enters the DOM, seen from the page itself.
FIRST_CARD = """
window.__firstCard = null;
new MutationObserver((_, obs) => {
  if (document.querySelector('.card')) { window.__firstCard = performance.now(); obs.disconnect(); }
}).observe(document, {childList: true, subtree: true});
"""

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser-images")
    store = open_store(tmp / "p.db")
    specs = day_papers(DAY, N)
    with FakeServer() as server:
        for i, p in enumerate(specs):
            serve_paper(server, p, html=i % 4 == 0, seed=i)
        store.upsert_papers([Paper(arxiv_id=p["arxiv_id"], title=p["title"], authors=p["authors"],
                                   hf_date=dt.date.fromisoformat(DAY), upvotes=p["upvotes"],
                                   abstract="An abstract.") for p in specs])
        store.record_day(dt.date.fromisoformat(DAY), [p["arxiv_id"] for p in specs], "hf")
        with HttpClient(timeout=10, retry=RetryPolicy(attempts=2, backoff=0.01)) as http:
            rep = run_images(store, store.papers_for_day(dt.date.fromisoformat(DAY)), http,
                             ImageFiles(tmp / "data" / "images"), sources=arxiv_sources(server.url))
    assert rep.made["title"] == N
    build_site(store, tmp / "site", images_dir=tmp / "data" / "images")
    store.close()
    return tmp / "site"


def _file_size(url: str) -> int:
    p = Path(unquote(urlsplit(url).path))
    return p.stat().st_size if p.is_file() else 0


@pytest.mark.parametrize("name,viewport,mobile", [("desktop", {"width": 1280, "height": 900}, False),
                                                  ("phone", {"width": 390, "height": 844}, True)])
def test_day_of_40_cards_with_images(site, browser, name, viewport, mobile):
    ctx = browser.new_context(viewport=viewport, is_mobile=mobile, has_touch=mobile,
                              device_scale_factor=2 if mobile else 1)
    ctx.add_init_script(FIRST_CARD)
    page = watch(ctx.new_page())
    requests, errors = page.requests, page.errors
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    try:
        page.goto((site / "d" / f"{DAY}.html").as_uri(), wait_until="load")
        first = {
            "first_card_ms": page.evaluate("window.__firstCard"),
            "dom_content_loaded_ms": page.evaluate(
                "performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"),
            "first_contentful_paint_ms": page.evaluate(
                "(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || null"),
            "bytes_at_load": sum(_file_size(u) for u in set(requests)),
            "images_at_load": len({u for u in requests if "/img/" in u}),
        }
        # Every image has its box before it loads (no layout shift), and the far ones wait.
        boxes = page.eval_on_selector_all(".card img", "els => els.map(e => e.getBoundingClientRect().height)")
        assert len(boxes) == N and all(h > 20 for h in boxes)
        assert first["images_at_load"] < N
        # Scroll through the day: each image loads, from this site's img/ folder.
        height = page.evaluate("document.documentElement.scrollHeight")
        for y in range(0, height + viewport["height"], viewport["height"]):
            page.evaluate(f"window.scrollTo(0, {y})")
            page.wait_for_timeout(30)
        page.wait_for_function("[...document.querySelectorAll('.card img')].every(i => i.complete)")
        imgs = page.eval_on_selector_all(
            ".card img", "els => els.map(e => [e.currentSrc, e.naturalWidth, e.alt, e.loading])")
        root = (site / "img").as_uri() + "/"
        for src, natural, alt, loading in imgs:
            assert src.startswith(root) and natural > 0 and alt and loading == "lazy", src
        assert failed == [] and errors == []
        assert [u for u in requests if not u.startswith("file://")] == []  # nothing from outside
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"the page scrolls sideways ({width}px)"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(ARTIFACTS / f"day40-{name}.png"), full_page=False)
        # The dark theme dims the white paper of the images.
        page.evaluate("localStorage.setItem('ps-theme', 'dark')")
        page.reload(wait_until="load")
        filt = page.eval_on_selector(".card img", "e => getComputedStyle(e).filter")
        assert "brightness" in filt
        page.screenshot(path=str(ARTIFACTS / f"day40-{name}-dark.png"), full_page=False)
        metrics = {**first, "viewport": viewport, "cards": N,
                   "bytes_all_images": sum(_file_size(u) for u in set(requests) if "/img/" in u),
                   "bytes_total": sum(_file_size(u) for u in set(requests)),
                   "html_bytes": (site / "d" / f"{DAY}.html").stat().st_size}
        (ARTIFACTS / f"day40-{name}.json").write_text(json.dumps(metrics, indent=1))
        print(f"\n{name}: {json.dumps(metrics)}")
    finally:
        ctx.close()
