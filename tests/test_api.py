"""The JSON API and the file server, over a real uvicorn server on loopback."""

from __future__ import annotations

import socket

import httpx
import pytest
from support.live_server import LiveServer
from support.site_fixture import XSS_TITLE, open_site_store

from papersift.api.app import create_app
from papersift.site import build_site


@pytest.fixture(scope="module", params=["engine", "lexical-only"])
def server(request, tmp_path_factory):
    """The API with the real search engine, with vectors (hash embedder: no weights) and
    without an embedder (BM25 only)."""
    tmp = tmp_path_factory.mktemp("api")
    store = open_site_store(tmp / "p.db")
    factory = None
    if request.param == "engine":
        from papersift.config import Settings
        from papersift.search.embed import get_embedder
        from papersift.search.engines import engine_factory
        from papersift.search.index import build_vectors

        settings = Settings(embedder="hash", data_dir=tmp)
        build_vectors(store, get_embedder("hash", tmp))
        factory = engine_factory(settings)
        assert factory is not None
    build_site(store, tmp / "site")
    (tmp / "secret.txt").write_text("top secret")
    store.close()
    with LiveServer(create_app(tmp / "p.db", tmp / "site", engine_factory=factory)) as srv, \
            httpx.Client(base_url=srv.url, timeout=10) as client:
        yield client


def test_search_returns_ranked_results_with_highlight_spans(server):
    r = server.get("/api/search", params={"q": "diffusion"})
    assert r.status_code == 200
    body = r.json()
    assert body["total"] > 0
    for it in body["results"]:
        assert "".join(s["text"] for s in it["title_hl"]) == it["title"]
        assert any(s["type"] == "highlight" and s["text"].lower().startswith("diffusion")
                   for s in it["title_hl"])


def test_search_filters_tags_dates_upvotes_sort_and_paging(server):
    r = server.get("/api/search", params={"q": "study problem", "tags": "cv,rl", "mode": "and"})
    assert r.status_code == 200
    both = r.json()["results"]
    assert both and all({"cv", "rl"} <= set(it["tags"]) for it in both)
    assert r.json()["total"] == len(both)  # AND is a filter, not a post-filter of a page
    page = server.get("/api/search", params={"q": "study problem", "tags": "cv,rl", "mode": "and",
                                             "limit": 1, "offset": 1}).json()
    assert page["total"] == len(both) and [x["id"] for x in page["results"]] == [both[1]["id"]]
    either = server.get("/api/search", params={"q": "study problem", "tags": "cv,rl"}).json()["results"]
    assert len(either) > len(both)
    r = server.get("/api/search", params={"q": "study", "from": "2025-02-06", "to": "2025-02-07",
                                          "min_upvotes": 5, "sort": "upvotes", "limit": 3})
    res = r.json()["results"]
    assert 0 < len(res) <= 3
    assert all("2025-02-06" <= it["day"] <= "2025-02-07" and it["upvotes"] >= 5 for it in res)
    assert [it["upvotes"] for it in res] == sorted((it["upvotes"] for it in res), reverse=True)
    page2 = server.get("/api/search", params={"q": "study", "limit": 2, "offset": 2}).json()["results"]
    page1 = server.get("/api/search", params={"q": "study", "limit": 4}).json()["results"]
    assert [x["id"] for x in page2] == [x["id"] for x in page1[2:4]]


def test_tag_mode_and_its_alias_mode(server):
    def ids(**params):
        r = server.get("/api/search", params={"q": "study problem", "tags": "cv,rl", **params})
        assert r.status_code == 200, r.text
        return [x["id"] for x in r.json()["results"]]

    both, either = ids(tag_mode="and"), ids(tag_mode="or")
    assert both and len(either) > len(both)
    assert ids(mode="and") == ids(tag_mode="and", mode="and") == both
    assert ids(mode="or") == ids() == either
    r = server.get("/api/search", params={"q": "study", "tags": "cv", "tag_mode": "and", "mode": "or"})
    assert r.status_code == 422 and "disagree" in r.text
    assert server.get("/api/search", params={"q": "study", "tag_mode": "all"}).status_code == 422


@pytest.mark.parametrize("params", [
    {"q": "x" * 257}, {"q": ""}, {"q": "a", "limit": 0}, {"q": "a", "limit": 101},
    {"q": "a", "from": "2025-13-01"}, {"q": "a", "to": "yesterday"}, {"q": "a", "tags": "nope"},
    {"q": "a", "sort": "random"}, {"q": "a", "min_upvotes": -1}, {"q": "a", "offset": -5},
    {"q": "a", "from": "2025-03-01", "to": "2025-02-01"},
])
def test_bad_input_is_422_never_500(server, params):
    r = server.get("/api/search", params=params)
    assert r.status_code == 422, (params, r.text)
    assert r.json()["detail"]


def test_query_syntax_never_breaks_search(server):
    for q in ['"unbalanced', "a AND OR NOT", "title:x", "*", "(((", "NEAR(a b)", "漢字", "😀"]:
        r = server.get("/api/search", params={"q": q})
        assert r.status_code == 200, (q, r.text)


def test_paper_similar_and_day(server):
    r = server.get("/api/papers/hep-th/9901001")
    assert r.status_code == 200
    p = r.json()
    assert p["title"] == XSS_TITLE and p["slug"] == "hep-th_9901001"
    assert server.get("/api/papers/arXiv:2502.00001v2").json()["id"] == "2502.00001"
    sim = server.get("/api/papers/2502.00002/similar").json()
    assert sim["results"] and all(x["id"] != "2502.00002" for x in sim["results"])
    assert server.get("/api/papers/hep-th/9901001/similar").status_code == 200
    assert server.get("/api/papers/9999.99999").status_code == 404
    day = server.get("/api/days/2025-02-05").json()
    assert day["count"] == 6
    assert [x["upvotes"] for x in day["papers"]] == sorted((x["upvotes"] for x in day["papers"]), reverse=True)
    assert server.get("/api/days/2025-02-30").status_code == 422
    assert server.get("/api/days/2025-02-08").json()["count"] == 0


def test_openapi_docs(server):
    spec = server.get("/openapi.json").json()
    assert {"/api/search", "/api/days/{day}"} <= set(spec["paths"])
    assert server.get("/docs").status_code == 200


def test_serves_site_with_security_headers(server):
    r = server.get("/")
    assert r.status_code == 200 and "Papers of 2025-02-10" in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert server.get("/d/2025-02-05.html").status_code == 200
    assert server.get("/static/app.js").headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert server.get("/nope.html").status_code == 404


def raw_get(url: str, path: str) -> tuple[int, bytes]:
    """Send the path bytes as written (no client-side normalisation of '..')."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data


@pytest.mark.parametrize("path", [
    "/../secret.txt", "/..%2fsecret.txt", "/%2e%2e/secret.txt", "/%2e%2e%2fsecret.txt",
    "/d/../../secret.txt", "/static/..%2f..%2fsecret.txt", "/%252e%252e/secret.txt",
    "/..\\secret.txt", "/%5c..%5csecret.txt", "/etc/passwd", "//etc/passwd", "/%00index.html",
])
def test_path_traversal_is_refused(server, path):
    status, data = raw_get(str(server.base_url), path)
    assert status in (400, 404), (path, status)
    assert b"top secret" not in data and b"root:" not in data


def test_safe_path_maps_the_root_to_index_and_refuses_escapes(tmp_path):
    from papersift.api.app import _safe_path

    site = tmp_path / "site"
    (site / "d").mkdir(parents=True)
    (site / "index.html").write_text("ok")
    (tmp_path / "secret.txt").write_text("s")
    (site / "link.html").symlink_to(tmp_path / "secret.txt")
    assert _safe_path(site.resolve(), "") == site.resolve() / "index.html"
    assert _safe_path(site.resolve(), "../secret.txt") is None
    assert _safe_path(site.resolve(), "d/../../secret.txt") is None
    assert _safe_path(site.resolve(), "link.html") is None  # symlink out of the site
    assert _safe_path(site.resolve(), str(tmp_path / "secret.txt")) is None
