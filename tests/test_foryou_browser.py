"""The For-you page in a real Chromium (Debian's /usr/bin/chromium driven by Playwright),
from file:// and from a static HTTP server on loopback: likes (on a day page and on the
page), a hide, rules, the ranking and its explanations against the published data, and the
profile exported (a real download) and imported back (a real upload) in a fresh browser."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from pathlib import Path

import pytest
from support.browser import DESKTOP, needs_chromium, new_page
from support.foryou_fixture import HOSTILE, build_foryou_site, expected_ranking, pid, read_published

pytestmark = needs_chromium

LOCAL = ("file://", "data:", "blob:")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return build_foryou_site(tmp_path_factory.mktemp("foryou"))


def foryou_page(browser, local=LOCAL):
    ctx, pg = new_page(browser, local, viewport=DESKTOP, accept_downloads=True)
    # Every file the pages ask for exists (the browser's own /favicon.ico guess aside).
    pg.on("response", lambda r: pg.errors.append(f"{r.status} {r.url}")
          if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    pg.on("requestfailed", lambda r: pg.errors.append(f"failed {r.url}"))
    return ctx, pg


def open_foryou(pg, base: str) -> None:
    pg.goto(base + "foryou.html")
    pg.wait_for_selector("#fy-status[data-ready]")


def shown(pg) -> list[tuple[str, float, list[str]]]:
    return [tuple(r) for r in pg.eval_on_selector_all(
        "#fy-results .fy-card",
        "els => els.map(e => [e.dataset.id, parseFloat(e.dataset.score),"
        " Array.from(e.querySelectorAll('.fy-why li')).map(li => li.textContent)])")]


def removed(pg) -> list[tuple[str, str]]:
    return [tuple(r) for r in pg.eval_on_selector_all(
        "#fy-removed li", "els => els.map(e => [e.dataset.id, e.querySelector('.fy-why-inline').textContent])")]


def add_rule(pg, kind: str, value: str) -> None:
    form = pg.locator(f'form.fy-rule[data-list="{kind}"]')
    form.locator("input").fill(value)
    form.locator("button[type=submit]").click()


def check_ranking(pg, site: Path, profile: dict) -> None:
    index, papers = read_published(site)
    want, want_removed = expected_ranking(index, papers, profile)
    got = shown(pg)
    assert [g[0] for g in got] == [w[0] for w in want]
    for (gid, gs, gwhy), (_, ws, wwhy) in zip(got, want, strict=True):
        assert gwhy == wwhy, gid
        assert abs(gs - ws) < 1e-3, gid
    assert removed(pg) == [(i, f" — {w}") for i, w in want_removed]


def test_like_hide_rules_rank_export_import_from_file(site, browser, tmp_path):
    base = site.as_uri() + "/"
    ctx, pg = foryou_page(browser)
    a, b, hidden = pid(0), pid(1), pid(2)  # diffusion (image), robot, a close diffusion paper
    # Like the first paper on its day page: a card button, kept in localStorage.
    pg.goto(base + "d/2025-03-03.html")
    like = pg.locator(f'.card[data-id="{a}"] .fy-like')
    like.click()
    assert like.get_attribute("aria-pressed") == "true"
    open_foryou(pg, base)
    assert "12 papers of the last 3 days" in pg.locator("#fy-status").inner_text()
    assert "hash256 vectors (int8, 256 bytes a paper)" in pg.locator("#fy-status").inner_text()
    assert pg.locator(f'#fy-liked li[data-id="{a}"] a').inner_text() == "Sparse diffusion models for image generation"
    first = shown(pg)
    assert first and all(w[0] == "close to your paper Sparse diffusion models for image generation" for _, _, w in first)
    ids = [g[0] for g in first]
    assert hidden in ids and a not in ids  # a liked paper is not offered again
    # A keyword brings the robot papers in; the second like and the hide from the page's
    # own cards; then the other rules.
    add_rule(pg, "keywords", "Manipulation")
    assert "keyword Manipulation" in dict((g[0], g[2]) for g in shown(pg))[b]
    pg.locator(f'#fy-results .fy-card[data-id="{b}"] .fy-like').click()
    pg.locator(f'#fy-results .fy-card[data-id="{hidden}"] .fy-hide').click()
    add_rule(pg, "negative_keywords", "video")
    add_rule(pg, "authors", "bo chen")
    add_rule(pg, "tags", "rl")
    profile = {"liked": [a, b], "hidden": [hidden], "keywords": ["Manipulation"], "authors": ["bo chen"],
               "negative_keywords": ["video"], "tags": ["rl"]}
    check_ranking(pg, site, profile)
    got = shown(pg)
    ids = [g[0] for g in got]
    assert hidden not in ids and pid(3) not in ids  # hidden; removed by "video"
    assert removed(pg) == [(pid(3), " — removed by negative keyword video")]
    whys = {g[0]: g[2] for g in got}
    assert "close to your paper Robot manipulation policies from demonstrations" in whys[pid(5)]
    assert "keyword Manipulation" in whys[pid(5)]
    assert "author bo chen" in whys[pid(10)]
    assert "tag rl" in whys[pid(11)]
    scores = [g[1] for g in got]
    assert scores == sorted(scores, reverse=True)
    # The hostile title is text, never markup.
    if pid(8) in ids:
        assert pg.locator(f'.fy-card[data-id="{pid(8)}"] .otitle').inner_text() == HOSTILE
    assert pg.locator("#fy-results img").count() == 0
    assert pg.locator(f'#fy-hidden li[data-id="{hidden}"]').count() == 1

    pg.locator("#fy-name").fill("my-topics")
    pg.locator("#fy-name").press("Tab")
    with pg.expect_download() as dl:
        pg.locator("#fy-export").click()
    assert dl.value.suggested_filename == "my-topics.papersift-profile.json"
    exported = tmp_path / dl.value.suggested_filename
    dl.value.save_as(exported)
    data = json.loads(exported.read_text(encoding="utf-8"))
    assert data["papersift_profile"] == 1 and data["name"] == "my-topics"
    assert {k: data[k] for k in profile} == profile
    assert set(data["seeds"]) == {a, b}  # ignored by the CLI; keeps the liked vectors
    assert pg.dialogs == [] and pg.errors == [] and pg.external == []
    ctx.close()

    # A fresh browser (empty storage): nothing ranked until the file is imported.
    ctx, pg = foryou_page(browser)
    open_foryou(pg, base)
    assert shown(pg) == []
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"papersift_profile": 1, "liked": "2503.00001"}), encoding="utf-8")
    pg.set_input_files("#fy-import", str(bad))
    pg.wait_for_function("document.getElementById('fy-message').textContent.length > 0")
    assert pg.locator("#fy-message").inner_text() == 'Import failed: bad.json: "liked" must be a list of strings'
    assert shown(pg) == []
    pg.set_input_files("#fy-import", str(exported))
    pg.wait_for_function("document.getElementById('fy-message').textContent.startsWith('Imported')")
    assert pg.locator("#fy-message").inner_text() == (
        "Imported my-topics.papersift-profile.json: 2 liked, 1 hidden, 4 rules.")
    assert shown(pg) == got
    check_ranking(pg, site, profile)
    # Kept across reloads (localStorage), and the day page shows the like and the hide.
    pg.goto(base + "d/2025-03-05.html")
    assert pg.locator(f'.card[data-id="{hidden}"]').get_attribute("class").split() == ["card", "fy-hidden"]
    pg.goto(base + "d/2025-03-04.html")
    assert pg.locator(f'.card[data-id="{b}"] .fy-like').inner_text() == "♥ liked"
    assert pg.dialogs == [] and pg.errors == [] and pg.external == []
    ctx.close()


def test_served_by_a_static_host(site, browser):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    origin = f"http://127.0.0.1:{srv.server_address[1]}/"
    try:
        ctx, pg = foryou_page(browser, local=(origin, "data:", "blob:"))
        pg.goto(origin + "d/2025-03-04.html")
        pg.locator(f'.card[data-id="{pid(4)}"] .fy-like').click()  # the LLM reasoning paper
        open_foryou(pg, origin)
        add_rule(pg, "keywords", "language models")
        profile = {"liked": [pid(4)], "hidden": [], "keywords": ["language models"], "authors": [],
                   "negative_keywords": [], "tags": []}
        check_ranking(pg, site, profile)
        assert shown(pg)[0][0] == pid(7)  # speech with language models: both signals
        assert pg.errors == [] and pg.external == []
        ctx.close()
    finally:
        srv.shutdown()
        srv.server_close()
