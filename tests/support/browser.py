"""Debian's Chromium (/usr/bin/chromium) driven by Playwright for the browser tests; never a
browser download. The fixtures `browser` (one Chromium a module) and `page` (a desktop page
that records what the tests check) reach every test module through `pytest_plugins` in
tests/conftest.py; a browser test module sets `pytestmark = needs_chromium`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
LOCAL = ("file://", "http://127.0.0.1", "data:")  # what a page may load without going outside
DESKTOP = {"width": 1280, "height": 900}

needs_chromium = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium not installed at /usr/bin/chromium "
                       "(apt-get install chromium); browser tests need it"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def watch(pg: Any, local: tuple[str, ...] = LOCAL) -> Any:
    """Records on the page what the tests check: `dialogs` (each dismissed), `errors` (uncaught
    page errors), `requests` (every URL asked for) and `external` (those not under `local`)."""
    pg.dialogs, pg.errors, pg.requests, pg.external = [], [], [], []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.on("request", lambda r: pg.requests.append(r.url))
    pg.on("request", lambda r: pg.external.append(r.url) if not r.url.startswith(local) else None)
    return pg


def new_page(browser: Any, local: tuple[str, ...] = LOCAL, **context: Any) -> tuple[Any, Any]:
    """A fresh context (its options: `context`) and a watched page in it; the caller closes
    the context."""
    ctx = browser.new_context(**context)
    return ctx, watch(ctx.new_page(), local)


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    """A watched desktop page (1280x900) in a context of its own."""
    ctx, pg = new_page(browser, viewport=DESKTOP)
    yield pg
    ctx.close()
