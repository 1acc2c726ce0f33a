"""/api/feed: a search as Atom, RSS and JSON Feed, over a real uvicorn server on loopback,
parsed back with feedparser (XML) and checked against JSON Feed 1.1."""

from __future__ import annotations

import datetime as dt
import json

import feedparser
import httpx
import pytest
from support.live_server import LiveServer
from support.site_fixture import XSS_TITLE, build_fixture_site

from papersift.api.app import create_app


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    tmp = build_fixture_site(tmp_path_factory.mktemp("feed"))
    with LiveServer(create_app(tmp / "p.db", tmp / "site")) as srv, \
            httpx.Client(base_url=srv.url, timeout=10) as c:
        yield c


def feed(client, fmt: str, **params):
    r = client.get("/api/feed", params={**params, "format": fmt})
    assert r.status_code == 200, r.text
    return r


@pytest.mark.parametrize("fmt, media", [("atom", "application/atom+xml"), ("rss", "application/rss+xml")])
def test_xml_feeds_parse_back_with_the_matching_papers(client, fmt, media):
    r = feed(client, fmt, q="diffusion")
    assert r.headers["content-type"].startswith(media)
    parsed = feedparser.parse(r.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == ("atom10" if fmt == "atom" else "rss20")
    assert "diffusion" in parsed.feed.title
    titles = [e.title for e in parsed.entries]
    # The fixture's "Sparse diffusion study" papers, shown by their catchy or original title.
    assert len(titles) == 8
    links = [e.link for e in parsed.entries]
    assert all(link.startswith(str(client.base_url)) and "/p/" in link for link in links)
    days = [e.get("published_parsed") or e.get("updated_parsed") for e in parsed.entries]
    assert days == sorted(days, reverse=True), "newest first"


def test_json_feed_1_1_fields(client):
    r = feed(client, "json", q="diffusion", tags="rl")
    assert r.headers["content-type"].startswith("application/feed+json")
    doc = json.loads(r.content)
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(doc["title"], str) and "#rl" in doc["title"]
    assert doc["feed_url"].startswith(str(client.base_url)) and "/api/feed?" in doc["feed_url"]
    assert "tags=rl" in doc["feed_url"] and "format=json" in doc["feed_url"]
    assert doc["home_page_url"].startswith("http://127.0.0.1")
    assert doc["items"], "the fixture has diffusion papers tagged rl"
    for it in doc["items"]:
        assert isinstance(it["id"], str) and it["id"]
        assert it["url"].startswith("http://") and "content_text" in it
        dt.datetime.fromisoformat(it["date_published"])
        assert "rl" in it["tags"]
        assert all(isinstance(a["name"], str) for a in it["authors"])


def test_filters_narrow_the_feed(client):
    everything = json.loads(feed(client, "json").content)["items"]
    assert len(everything) >= 20  # no query: every paper, newest first
    later = json.loads(feed(client, "json", **{"from": "2025-02-07"}).content)["items"]
    assert later and len(later) < len(everything)
    assert all(it["date_published"][:10] >= "2025-02-07" for it in later)
    popular = json.loads(feed(client, "json", min_upvotes=20).content)["items"]
    assert popular and len(popular) < len(everything)
    both = json.loads(feed(client, "json", tags="cv,rl", tag_mode="and").content)["items"]
    assert both and all({"cv", "rl"} <= set(it["tags"]) for it in both)


def test_hostile_title_is_escaped_in_every_format(client):
    for fmt in ("atom", "rss"):
        body = feed(client, fmt, q="old-style").content
        assert b"<script>" not in body
        parsed = feedparser.parse(body)
        assert not parsed.bozo
        assert any(XSS_TITLE in e.title for e in parsed.entries)
    items = json.loads(feed(client, "json", q="old-style").content)["items"]
    assert any(XSS_TITLE in it["title"] for it in items)


@pytest.mark.parametrize("params, field", [({"format": "pdf"}, "format"), ({"tags": "nope"}, "tags"),
                                           ({"from": "2025-13-01"}, "from"), ({"min_upvotes": "-1"}, "min_upvotes")])
def test_bad_parameters_are_422_naming_the_field(client, params, field):
    r = client.get("/api/feed", params=params)
    assert r.status_code == 422
    assert field in json.dumps(r.json()["detail"])
