"""Images on the site, end to end through the real CLI: `papersift run` collects a day from
the loopback HF server, makes title images and figures from the loopback arXiv server and
builds; the site holds its own copies in img/, cards and pages point at them (sized, lazy,
alt text escaped), feeds carry them, incremental builds copy only what is new and drop what
no page shows, and a paper without an image still gets a clean card."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest
from support.fake_hf_arxiv import FakeServer, hf_paper
from support.pdfs import day_papers, serve_paper
from typer.testing import CliRunner

from papersift.cli import app
from papersift.config import load_settings
from papersift.jobs import build
from papersift.store import open_store
from papersift.store.base import ImageRecord

DAY = "2025-02-06"
HOSTILE = 'Attention <img src=x onerror=alert(1)> & "friends"'


def _env(tmp_path, server, **more):
    return {"PAPERSIFT_DATA_DIR": str(tmp_path / "data"), "PAPERSIFT_SITE_DIR": str(tmp_path / "site"),
            "PAPERSIFT_PROVIDER": "offline", "PAPERSIFT_EMBEDDER": "none",
            "PAPERSIFT_CONFIG": str(tmp_path / "none.toml"), "PAPERSIFT_HF_BASE_URL": server.url,
            "PAPERSIFT_ARXIV_WEB_URL": server.url, **more}


@pytest.fixture()
def day(tmp_path):
    """A served HF day of 4 papers: 3 with PDFs and HTML versions (one with a hostile
    title), one whose PDF is missing."""
    with FakeServer() as server:
        ps = day_papers(DAY, 4)
        ps[1]["title"] = HOSTILE
        for i, p in enumerate(ps[:3]):
            serve_paper(server, p, seed=i)
        server.add_hf_day(DAY, [hf_paper(p["arxiv_id"], p["title"], day=DAY, upvotes=p["upvotes"])
                                for p in ps])
        yield server, ps


def test_run_makes_images_and_the_site_shows_its_own_copies(tmp_path, day):
    server, ps = day
    env = _env(tmp_path, server)
    res = CliRunner().invoke(app, ["run", "--date", DAY], env=env)
    assert res.exit_code == 0, res.output
    assert "images: 4 papers: made 3 figure, 3 title" in " ".join(res.output.split())
    site = tmp_path / "site"
    imgs = sorted(p.name for p in (site / "img").iterdir())
    assert len(imgs) == 6 and all(n.endswith(".webp") for n in imgs)
    day_html = (site / "d" / f"{DAY}.html").read_text()
    tags = re.findall(r"<img [^>]*>", day_html)
    assert len(tags) == 3  # the paper without a PDF has a card without an image
    for t in tags:
        src = re.search(r'src="([^"]+)"', t).group(1)
        assert src.startswith("../img/") and (site / "d" / src).resolve().is_file()
        assert 'loading="lazy"' in t and re.search(r'width="\d+" height="\d+"', t)
    assert 'alt="Attention &lt;img src=x onerror=alert(1)&gt; &amp; &#34;friends&#34;"' in day_html
    assert "<img src=x" not in day_html
    missing = ps[3]["arxiv_id"]
    card = re.search(rf'<article class="card" id="c-{re.escape(missing)}".*?</article>', day_html, re.S).group(0)
    assert "<img" not in card and "card-img" not in card
    page = (site / "p" / f"{ps[0]['arxiv_id']}.html").read_text()
    assert page.count('<img src="../img/') == 2 and '<figure class="teaser">' in page
    assert f"Figure 1: Overview of {ps[0]['title']}." in page
    # feeds point at the site's copies
    rss = ET.parse(site / "feeds" / "all.rss.xml").getroot()
    enc = [e.attrib for e in rss.iter("enclosure")]
    assert len(enc) == 3 and all(e["type"] == "image/webp" and "/img/" in e["url"] and int(e["length"]) > 0
                                 for e in enc)
    atom = ET.parse(site / "feeds" / "all.atom.xml").getroot()
    assert len([e for e in atom.iter("{http://www.w3.org/2005/Atom}link") if e.get("rel") == "enclosure"]) == 3
    items = json.loads((site / "feeds" / "all.json").read_text())["items"]
    assert sum(1 for i in items if i.get("image", "").startswith("http://localhost:8000/img/")) == 3
    # the second run downloads nothing and renders nothing
    n = len([r for r in server.log if r.path.startswith(("/pdf/", "/html/"))])
    again = CliRunner().invoke(app, ["run", "--date", DAY], env=env)
    assert again.exit_code == 0, again.output
    out = " ".join(again.output.split())  # the console wraps long lines
    assert "made nothing new" in out and "0 PDF downloads" in out
    assert len([r for r in server.log if r.path.startswith(("/pdf/", "/html/"))]) == n


def test_images_command_and_incremental_site_copies(tmp_path, day):
    server, ps = day
    env = _env(tmp_path, server)
    runner = CliRunner()
    assert runner.invoke(app, ["collect", "hf", "--date", DAY], env=env).exit_code == 0
    first = ps[0]["arxiv_id"]
    res = runner.invoke(app, ["images", "--ids", first, "--kind", "title"], env=env)
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())
    assert "made 1 title" in out and "affiliations 1 read" in out
    bad = runner.invoke(app, ["images", "--kind", "poster"], env=env)
    assert bad.exit_code == 1 and "not an image kind" in bad.output
    s = load_settings(None, data_dir=tmp_path / "data", site_dir=tmp_path / "site", embedder="none")
    store = open_store(s.db_target)
    try:
        r1 = build(store, s, similar=False)
        assert r1.mode == "full" and len(list((tmp_path / "site" / "img").iterdir())) == 1
        res = runner.invoke(app, ["images", "--date", DAY], env=env)
        assert res.exit_code == 0 and "made 3 figure, 2 title" in " ".join(res.output.split()), res.output
        r2 = build(store, s, similar=False)
        assert r2.mode == "incremental" and r2.images_added == 5 and r2.images_removed == 0
        # an image replaced by a failure leaves the site (and its page) on the next build
        gone = store.get_images([first])[first]["figure"].file
        store.save_images([ImageRecord(first, "figure", failure="no arXiv HTML version")])
        r3 = build(store, s, similar=False)
        assert r3.images_removed == 1 and not (tmp_path / "site" / "img" / gone).exists()
        page = (tmp_path / "site" / "p" / f"{first}.html").read_text()
        assert 'class="teaser"' not in page and 'class="title-img"' in page
        # cards without images when the setting says so; pages keep theirs
        s2 = s.model_copy(update={"card_image": "none"})
        r4 = build(store, s2, similar=False)
        assert r4.mode == "full"
        assert "card-img" not in (tmp_path / "site" / "d" / f"{DAY}.html").read_text()
        assert 'class="title-img"' in (tmp_path / "site" / "p" / f"{first}.html").read_text()
        # card_image = figure: the figure where there is one, else the title image
        s3 = s.model_copy(update={"card_image": "figure"})
        build(store, s3, similar=False)
        html = (tmp_path / "site" / "d" / f"{DAY}.html").read_text()
        shown = re.findall(r'class="card-img"[^>]*><img src="\.\./img/([^"]+)"', html)
        assert len(shown) == 3 and sum(".figure." in f for f in shown) == 2
        assert any(f.startswith(first + ".title.") for f in shown)
        # a record whose file is missing from the data dir is not shown (no broken image)
        store.save_images([ImageRecord(ps[3]["arxiv_id"], "title", file="nowhere.webp", bytes=1,
                                       width=1, height=1, hash="x", source_hash="img-v1:x")])
        build(store, s, similar=False)
        assert "nowhere.webp" not in (tmp_path / "site" / "d" / f"{DAY}.html").read_text()
    finally:
        store.close()
