"""Static site build against a real store (each backend) in tmp_path."""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re

import feedparser
import pytest
from support.site_fixture import DAYS, XSS_REVIEW, XSS_TITLE

from papersift.model import Enrichment, Paper, Review
from papersift.site import build_site
from papersift.site import output as output_mod
from papersift.site.cards import script_json


@pytest.fixture()
def built(site_store, tmp_path):
    site = tmp_path / "site"
    res = build_site(site_store, site)
    return site_store, site, res


def test_fixture_store_has_days_and_enrichments(site_store):
    assert [d for d, _ in site_store.days()] == DAYS
    assert site_store.get_enrichment("hep-th/9901001").reviews["en"].title == XSS_TITLE
    assert site_store.get_enrichment("2502.00005") is None


def page_data(text: str) -> dict:
    m = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', text, re.S)
    assert m, "page has no JSON data block"
    return json.loads(m.group(1))


def test_full_build_writes_every_kind_of_page(built):
    _, site, res = built
    assert res.mode == "full"
    for rel in ["index.html", "archive.html", "search.html", "t/index.html", "t/cv.html",
                "d/2025-02-05.html", "d/2025-02-10.html", "d/2025-02-05-zh.html",
                "w/2025-W06.html", "w/2025-W07.html", "m/2025-02.html",
                "p/2502.00001.html", "p/hep-th_9901001.html", "static/app.js", "static/style.css",
                "feeds/all.rss.xml", "feeds/all.atom.xml", "feeds/all.json", "feeds/t/cv.rss.xml"]:
        assert (site / rel).is_file(), rel
    # listing-only paper (ps- id) gets a page too
    assert list(site.glob("p/ps-*.html"))
    # index is the latest day, with every card (no 50 limit: all 5 papers of that day)
    idx = (site / "index.html").read_text()
    assert "Papers of 2025-02-10" in idx
    assert len(page_data(idx)) == 5


def test_prev_next_skip_days_without_papers(built):
    _, site, _ = built
    fri = (site / "d/2025-02-07.html").read_text()
    assert 'rel="next" href="../d/2025-02-10.html"' in fri
    assert 'rel="prev" href="../d/2025-02-06.html"' in fri
    first = (site / "d/2025-02-05.html").read_text()
    assert 'rel="prev"' not in first
    assert not (site / "d/2025-02-08.html").exists()


def test_untrusted_text_is_escaped_in_html_and_json(built):
    _, site, _ = built
    day = (site / "d/2025-02-05.html").read_text()
    assert XSS_TITLE not in day and XSS_REVIEW not in day
    assert html.escape(XSS_TITLE, quote=False) in day
    data = page_data(day)  # the JSON block survives '</script>' inside the data
    assert data["hep-th/9901001"]["rv"]["en"][0] == XSS_TITLE
    assert data["hep-th/9901001"]["rv"]["ru"][0] == "</script><b>x</b>"
    paper = (site / "p/hep-th_9901001.html").read_text()
    assert "<img src=x" not in paper and "&lt;img src=x onerror=alert(1)&gt;" in paper
    assert "</script" not in script_json({"a": "</script><!--\u2028"}).lower()


def test_enrichment_states_are_visible(built):
    store, site, _ = built
    day = (site / "d/2025-02-05.html").read_text()
    assert "offline summary" in day            # method=offline is marked
    assert "not yet enriched" in day           # paper without enrichment still shows
    assert "We study problem 5" in day         # ... with its abstract
    data = page_data(day)
    # Russian missing -> English text with a fallback flag, never empty
    ru = data["2502.00002"]["rv"]["ru"]
    assert ru[0] == "Catchy 1" and ru[2] == "en"
    assert all(v[0] and v[1] for c in data.values() for v in c["rv"].values())
    paper = (site / "p/2502.00001.html").read_text()
    assert "Заголовок 0" in paper and "标题 0" in paper and "English review 0." in paper
    assert "https://arxiv.org/pdf/2502.00001" in paper and "Lab 1" in paper


def test_week_and_month_top_rank_by_upvotes_once(built):
    store, site, _ = built
    month = (site / "m/2025-02.html").read_text()
    ids = re.findall(r'class="card" id="c-([^"]+)"', month)
    assert len(ids) == len(set(ids)) == store.count_papers()
    ups = [int(u) for u in re.findall(r'class="up"[^>]*>▲ (\d+)', month)]
    assert ups == sorted(ups, reverse=True)


def test_topic_page_and_feeds_parse(built):
    _, site, _ = built
    cv = (site / "t/cv.html").read_text()
    assert all("cv" in c["tags"] for c in page_data(cv).values())
    for rel in ["feeds/all.rss.xml", "feeds/all.atom.xml", "feeds/t/cv.rss.xml", "feeds/t/cv.atom.xml"]:
        f = feedparser.parse((site / rel).read_bytes())
        assert not f.bozo, (rel, f.get("bozo_exception"))
        assert f.entries, rel
    rss = feedparser.parse((site / "feeds/all.rss.xml").read_bytes())
    assert rss.version == "rss20"
    assert any(e.title.endswith(XSS_TITLE) for e in rss.entries)  # text, not markup
    atom = feedparser.parse((site / "feeds/all.atom.xml").read_bytes())
    assert atom.version == "atom10"
    jf = json.loads((site / "feeds/t/cv.json").read_text())
    assert jf["version"].startswith("https://jsonfeed.org/version/1")
    assert jf["items"] and all("cv" in it["tags"] for it in jf["items"])


def test_archive_calendar_and_reading_page(built):
    _, site, _ = built
    arch = (site / "archive.html").read_text()
    for d in DAYS:
        assert f'href="d/{d.isoformat()}.html"' in arch
    assert 'href="d/2025-02-08.html"' not in arch
    assert 'href="d/2025-02-05-zh.html"' in arch
    zh = (site / "d/2025-02-05-zh.html").read_text()
    assert "我们研究机器学习。" in zh and "yánjiū" in zh


def test_second_build_rewrites_nothing_and_one_change_rewrites_few(built, tmp_path):
    store, site, _ = built
    before = {p: p.stat().st_mtime_ns for p in site.rglob("*.html")}
    res = build_site(store, site)
    assert res.mode == "incremental" and res.written == 0
    assert {p: p.stat().st_mtime_ns for p in site.rglob("*.html")} == before
    # one paper of 2025-02-10 gains upvotes: its page, its day, week, month, index, feeds
    store.upsert_papers([Paper(arxiv_id="2502.00016", title="Robot policy paper 16", upvotes=999)])
    res = build_site(store, site)
    assert res.mode == "incremental"
    written = set(res.written_paths)
    assert {"p/2502.00016.html", "d/2025-02-10.html", "w/2025-W07.html", "m/2025-02.html",
            "index.html"} <= written
    assert "d/2025-02-05.html" not in written and "p/2502.00001.html" not in written
    assert res.rendered < 67  # of which 5 For-you files (its page, two static, the index and the day), static/dom.js
    assert "▲ 999" in (site / "index.html").read_text()


def test_new_day_updates_neighbours_and_enrichment_change_shows(built):
    store, site, _ = built
    store.upsert_papers([Paper(arxiv_id="2502.09999", title="A brand new day paper", hf_date=dt.date(2025, 2, 12))])
    store.save_enrichment(Enrichment(paper_id="2502.00001", method="llm", emoji="🎯", tags=["rag"],
                                     reviews={"en": Review(title="Rewritten catchy", review="New review.")}))
    res = build_site(store, site)
    assert "d/2025-02-12.html" in res.written_paths
    mon = (site / "d/2025-02-10.html").read_text()
    assert 'rel="next" href="../d/2025-02-12.html"' in mon
    assert "Rewritten catchy" in (site / "d/2025-02-05.html").read_text()
    assert "Papers of 2025-02-12" in (site / "index.html").read_text()


def test_failed_build_leaves_previous_site_intact(built, monkeypatch):
    store, site, _ = built
    old = (site / "d/2025-02-10.html").read_bytes()
    store.upsert_papers([Paper(arxiv_id="2502.00016", title="Robot policy paper 16", upvotes=500)])
    calls = {"n": 0}
    real = output_mod.atomic_write

    def flaky(target, data):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        real(target, data)

    monkeypatch.setattr(output_mod, "atomic_write", flaky)
    with pytest.raises(OSError):
        build_site(store, site)
    assert (site / "d/2025-02-10.html").read_bytes() == old
    assert not [p for p in site.rglob("*.tmp")]  # no half-written temp files left behind
    monkeypatch.setattr(output_mod, "atomic_write", real)
    res = build_site(store, site)  # the state was not advanced: the next build catches up
    assert "▲ 500" in (site / "d/2025-02-10.html").read_text()
    assert res.mode == "incremental"


def test_atomic_write_replaces_whole_file(tmp_path):
    target = tmp_path / "a.html"
    target.write_text("old")
    output_mod.atomic_write(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert os.listdir(tmp_path) == ["a.html"]


def test_writer_refuses_paths_outside_root(tmp_path):
    w = output_mod.SiteWriter(tmp_path / "site")
    with pytest.raises(ValueError):
        w.write("../evil.html", "x")
