"""Code, stars and linked resources: the real links code against loopback GitHub and HF Hub
servers (tests/support/fake_links.py), a real SQLite store, the real CLI, site and API."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from support.fake_hf_arxiv import FakeServer, Fault, hf_paper
from support.fake_links import FakeLinks
from support.http_client import fast_http
from typer.testing import CliRunner

from papersift.cli import app
from papersift.config import load_settings
from papersift.http import HttpClient, RetryPolicy
from papersift.jobs import run_daily
from papersift.model import Paper, Provenance
from papersift.site import build_site
from papersift.site.cards import stars_text
from papersift.sources.links import (
    NEVER,
    GitHubClient,
    HFResources,
    find_github,
    find_project_page,
    refresh_links,
    repo_slug,
)
from papersift.store import open_store

DAY = dt.date(2026, 8, 14)


@pytest.mark.parametrize(("text", "repo"), [
    ("Code is available at https://github.com/foo-lab/Bar.git.", "https://github.com/foo-lab/Bar"),
    ("code: https://github.com/SII/Evoke Page: https://evoke.github.io/Evoke/", "https://github.com/SII/Evoke"),
    ("See (https://github.com/a/b-c_d.e/tree/main/src).", "https://github.com/a/b-c_d.e"),
    ("Sponsors https://github.com/sponsors/x then http://www.github.com/real/repo", "https://github.com/real/repo"),
    ("only a user https://github.com/someone and a site https://example.org", None),
    ("", None),
])
def test_find_github(text, repo):
    assert find_github(text) == repo


@pytest.mark.parametrize(("text", "page"), [
    ("Project page: https://example.org/proj/. Code soon.", "https://example.org/proj/"),
    ("Demos at https://lab.github.io/thing/index.html, code at https://github.com/lab/thing",
     "https://lab.github.io/thing/index.html"),
    ("Our website is at https://x.ai/research) and more", "https://x.ai/research"),
    ("code: https://github.com/a/b", None),
    ("project page: javascript:alert(1)", None),
])
def test_find_project_page(text, page):
    assert find_project_page(text) == page


def test_repo_slug_and_stars_text():
    assert repo_slug("https://github.com/o/r") == "o/r" and repo_slug("o/r") == "o/r"
    assert repo_slug("https://gitlab.com/o/r") is None and repo_slug(None) is None
    assert [stars_text(n) for n in (0, 999, 1000, 1234, 9960, 12_345)] == ["0", "999", "1k", "1.2k", "10k", "12k"]


def _papers() -> list[Paper]:
    src = [Provenance(source="hf")]
    return [
        Paper(arxiv_id="2608.00001", title="With HF fields", hf_date=DAY, sources=src,
              github_repo="https://github.com/hf/fields", github_stars=7, project_page="https://fields.example/"),
        Paper(arxiv_id="2608.00002", title="Repo in the abstract", hf_date=DAY, sources=src,
              abstract="We release it. Code: https://github.com/abs/repo. Project page: https://abs.github.io/repo/"),
        Paper(arxiv_id="2608.00003", title="Repo in the comment", hf_date=DAY, sources=src,
              comment="ICLR 2026; code at https://github.com/com/ment"),
        Paper(arxiv_id="2608.00004", title="No code at all", hf_date=DAY, sources=src),
        Paper(arxiv_id="2608.00005", title="Repo gone", hf_date=DAY, sources=src,
              abstract="Code: https://github.com/gone/away"),
    ]


def _fill(fake: FakeLinks) -> None:
    fake.add_repo("hf/fields", 1234)
    fake.add_repo("abs/repo", 56)
    fake.add_repo("com/ment", 0)
    fake.add_cited("2608.00001", models=3, datasets=1, spaces=2)
    fake.add_cited("2608.00002", models=2500)  # three pages of the Hub's 1000


def _clients(fake: FakeLinks, http: HttpClient, token: str | None = "gh-secret", hub: FakeLinks | None = None):
    return GitHubClient(http, fake.url, token), HFResources(http, (hub or fake).url, "hf-secret")


def test_refresh_finds_counts_and_stores_links_then_skips_fresh_papers(make_store):
    store = make_store()
    store.upsert_papers(_papers())
    with FakeLinks() as fake, fast_http() as http:
        _fill(fake)
        gh, hf = _clients(fake, http)
        res = refresh_links(store, store.papers_for_day(DAY), gh, hf, workers=2)
        assert (res.selected, res.refreshed, res.partial, res.fresh) == (5, 5, 0, 0)
        assert res.with_code == 4 and res.with_weights == 2 and not res.failed
        links = store.get_links([p.id for p in _papers()])
        a, b, c, d, e = (links[f"2608.0000{i}"] for i in range(1, 6))
        assert (a.github_repo, a.github_stars, a.project_page) == (
            "https://github.com/hf/fields", 1234, "https://fields.example/")
        assert (a.hf_models, a.hf_datasets, a.hf_spaces) == (3, 1, 2)
        assert (b.github_repo, b.github_stars, b.project_page, b.hf_models) == (
            "https://github.com/abs/repo", 56, "https://abs.github.io/repo/", 2500)
        assert (c.github_repo, c.github_stars) == ("https://github.com/com/ment", 0)
        assert (d.github_repo, d.github_stars, d.hf_models) == (None, None, 0)
        assert (e.github_repo, e.github_stars) == ("https://github.com/gone/away", None)  # 404
        assert store.get_paper("2608.00002").github_repo == "https://github.com/abs/repo"
        # paging follows the Link header: 2500 models = 3 pages of 1000
        pages = [r for r in fake.requests_to("/api/models") if "arxiv:2608.00002" in json.dumps(r.query)]
        assert len(pages) == 3 and res.github_requests == 4 and res.hf_requests == 15 + 2
        # the GitHub token goes to GitHub only, the HF token to the Hub only
        assert all(r.headers.get("Authorization") == "Bearer gh-secret" for r in fake.requests_to("/repos/"))
        assert all(r.headers.get("Authorization") == "Bearer hf-secret" for r in fake.requests_to("/api/"))
        before = len(fake.log)
        again = refresh_links(store, store.papers_for_day(DAY), gh, hf)
        assert (again.fresh, again.refreshed, again.changed) == (5, 0, 0) and len(fake.log) == before
        assert again.with_code == 4 and again.with_weights == 2
        fake.add_repo("abs/repo", 60)
        forced = refresh_links(store, store.papers_for_day(DAY), gh, hf, force=True)
        assert (forced.refreshed, forced.changed) == (5, 1) and len(fake.log) > before
        assert store.get_links(["2608.00002"])["2608.00002"].github_stars == 60


def test_spent_github_quota_stops_lookups_and_leaves_papers_due(make_store):
    store = make_store()
    store.upsert_papers(_papers())
    # GitHub and the Hub are different hosts (a spent GitHub quota pauses only GitHub's host)
    with FakeLinks(quota=2, reset_in=3600) as fake, FakeLinks() as hub, fast_http() as http:
        _fill(fake)
        _fill(hub)
        gh, hf = _clients(fake, http, token=None, hub=hub)
        res = refresh_links(store, store.papers_for_day(DAY), gh, hf, workers=1)
        # two answers spent the quota (X-RateLimit-Remaining: 0, reset in an hour): no third
        # request was made, and no 403 was earned
        assert len(fake.requests_to("/repos/")) == 2 and fake.remaining == 0
        assert res.rate_limited and "GitHub rate limit reached" in res.rate_limited
        assert "GITHUB_TOKEN" in res.rate_limited
        assert (res.refreshed, res.partial) == (3, 2)  # paper 4 has no repo: complete anyway
        links = store.get_links([p.id for p in _papers()])
        # HF counts were still looked up for every paper; the GitHub-less ones stay due
        assert links["2608.00003"].hf_models == 0 and links["2608.00003"].checked_at == NEVER
        assert links["2608.00005"].checked_at == NEVER
        assert links["2608.00001"].checked_at != NEVER
        due = refresh_links(store, store.papers_for_day(DAY), gh, hf)
        assert due.fresh == 3 and due.partial == 2  # still spent: asked for nothing new
        assert len(fake.requests_to("/repos/")) == 2


def test_github_403_rate_limit_is_waited_out_not_a_refusal(make_store):
    store = make_store()
    store.upsert_papers(_papers()[:1])
    waits: list[float] = []
    http = HttpClient(timeout=2.0, retry=RetryPolicy(attempts=3, backoff=0.01, jitter=0.0), sleep=waits.append)
    with FakeLinks() as fake, http:
        _fill(fake)
        # a secondary rate limit (403 + Retry-After), then a primary one answered early
        fake.fail_next("/repos/hf/fields", Fault.status(403, {"Retry-After": "7"}),
                       Fault.status(429, {"Retry-After": "3"}))
        res = refresh_links(store, store.papers_for_day(DAY), *_clients(fake, http))
        assert res.refreshed == 1 and not res.failed and waits == [7.0, 3.0]
        assert store.get_links(["2608.00001"])["2608.00001"].github_stars == 1234
        # a plain 403 (no quota headers) is a refusal: one request, the paper's failure
        fake.fail_next("/repos/hf/fields", Fault.status(403))
        res = refresh_links(store, store.papers_for_day(DAY), *_clients(fake, http), force=True)
        assert res.partial == 1 and "HTTP 403" in res.failed["2608.00001"]


def _env(tmp_path, fake: FakeLinks) -> dict[str, str]:
    return {"PAPERSIFT_DATA_DIR": str(tmp_path / "data"), "PAPERSIFT_SITE_DIR": str(tmp_path / "site"),
            "PAPERSIFT_CONFIG": str(tmp_path / "none.toml"), "PAPERSIFT_GITHUB_API_URL": fake.url,
            "PAPERSIFT_HF_BASE_URL": fake.url, "GITHUB_TOKEN": "ghp_never_printed",
            "PAPERSIFT_PROVIDER": "offline", "PAPERSIFT_EMBEDDER": "none"}


def test_links_command_progress_summary_and_run_record(tmp_path):
    s = open_store(tmp_path / "data" / "papersift.db")
    s.upsert_papers(_papers())
    s.close()
    runner = CliRunner()
    with FakeLinks() as fake:
        _fill(fake)
        env = _env(tmp_path, fake)
        r = runner.invoke(app, ["links", "--date", DAY.isoformat()], env=env)
        out = " ".join(r.output.split())
        assert r.exit_code == 0, r.output
        assert "links: 5 papers, 5 refreshed, 0 partial, 0 fresh" in out and "4 with code, 2 with weights" in out
        assert "ghp_never_printed" not in r.output
        r = runner.invoke(app, ["links", "--ids", "2608.00001,2608.00002"], env=env)
        assert "2 papers, 0 refreshed, 0 partial, 2 fresh" in " ".join(r.output.split())
        r = runner.invoke(app, ["links", "--ids", "2608.00001", "--force"], env=env)
        assert "1 papers, 1 refreshed" in " ".join(r.output.split())
        bad = runner.invoke(app, ["links", "--ids", "9999.99999"], env=env)
        assert bad.exit_code == 1 and "unknown paper id" in bad.output and len(bad.output.strip().splitlines()) == 1
    s = open_store(tmp_path / "data" / "papersift.db")
    runs = [x for x in s.recent_runs(10) if x.kind == "links"]
    assert len(runs) == 3 and runs[-1].counts["refreshed"] == 5 and runs[-1].status == "ok"
    s.close()


def test_daily_run_refreshes_links_and_the_site_shows_them(tmp_path, monkeypatch):
    """collect -> links -> enrich -> index -> build with HF's daily list and the Hub on one
    loopback server and GitHub on another; the day page shows the badges, sorts and filters."""
    monkeypatch.chdir(tmp_path)
    with FakeServer() as hf, FakeLinks() as gh:
        hf.add_hf_day(DAY.isoformat(), [hf_paper("2608.01001", "Has code and weights", day=DAY.isoformat(), upvotes=5),
                                        hf_paper("2608.01002", "Old api shape", day=DAY.isoformat(), upvotes=9,
                                                 new_fields=False)])
        gh.add_repo("example/2608.01001", 4321)
        gh.add_cited("2608.01001", models=2, spaces=1)
        # the Hub's listings live on the HF host: the fake HF server hands them to FakeLinks
        papers_api = hf.answer

        def hf_host(path, q):
            if path.startswith(("/api/models", "/api/datasets", "/api/spaces")):
                status, _, body = gh.answer(path, q)
                return status, "application/json", body
            return papers_api(path, q)

        hf.answer = hf_host
        settings = load_settings(data_dir=tmp_path / "data",
                                 site_dir=tmp_path / "site", hf_base_url=hf.url, github_api_url=gh.url,
                                 provider="offline", embedder="none")
        store = open_store(settings.db_target)
        try:
            rep = run_daily(store, settings, DAY)
        finally:
            store.close()
    assert rep.published and not rep.errors, rep.lines
    assert any(line.startswith("links: 2 papers, 2 refreshed") for line in rep.lines)
    page = (tmp_path / "site" / "d" / f"{DAY}.html").read_text("utf-8")
    card = re.search(r'<article class="card" id="c-2608.01001".*?</article>', page, re.S).group(0)
    assert ('<p class="res"><a class="b code" href="https://github.com/example/2608.01001" '
            'rel="noopener noreferrer">code ★ 4.3k</a>') in card
    assert ">project page</a>" in card and ">2 models</a>" in card and ">1 Space</a>" in card
    assert "dataset" not in card
    other = re.search(r'<article class="card" id="c-2608.01002".*?</article>', page, re.S).group(0)
    assert 'class="res"' not in other
    assert 'has code <span class="n">1</span>' in page and 'has weights <span class="n">1</span>' in page
    data = json.loads(re.search(r'<script type="application/json" id="page-data">(.*?)</script>', page, re.S).group(1))
    assert data["2608.01001"]["st"] == 4321 and data["2608.01001"]["code"] and data["2608.01001"]["w"]
    assert data["2608.01002"]["st"] == -1 and not data["2608.01002"]["code"] and not data["2608.01002"]["w"]
    paper = (tmp_path / "site" / "p" / "2608.01001.html").read_text("utf-8")
    assert 'class="b code"' in paper and "code ★ 4.3k" in paper
    feed = json.loads((tmp_path / "site" / "feeds" / "all.json").read_text("utf-8"))
    item = next(i for i in feed["items"] if i["id"] == "papersift:2608.01001")
    assert item["_papersift"] == {"github": "https://github.com/example/2608.01001", "github_stars": 4321,
                                  "project_page": "https://example.org/project", "hf_models": 2,
                                  "hf_datasets": 0, "hf_spaces": 1}
    assert "code ★ 4.3k: https://github.com/example/2608.01001" in item["content_text"]
    assert "Hugging Face: 2 models, 1 Space: https://huggingface.co/papers/2608.01001" in item["content_text"]
    rss = (tmp_path / "site" / "feeds" / "all.rss.xml").read_text("utf-8")
    assert "code ★ 4.3k: https://github.com/example/2608.01001" in rss


def test_offline_run_makes_no_links_call(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with FakeLinks() as gh:
        settings = load_settings(data_dir=tmp_path / "data", site_dir=tmp_path / "site",
                                 hf_base_url=gh.url, github_api_url=gh.url, provider="offline",
                                 embedder="none")
        store = open_store(settings.db_target)
        store.upsert_papers(_papers())
        try:
            rep = run_daily(store, settings, DAY, collect=False)
        finally:
            store.close()
        assert "links: skipped (--offline)" in rep.lines and gh.log == []


def test_search_api_results_carry_code_and_resources(tmp_path):
    import httpx
    from support.live_server import LiveServer

    from papersift.api.app import create_app

    db = tmp_path / "api.db"
    s = open_store(db)
    s.upsert_papers(_papers())
    with FakeLinks() as fake, fast_http() as http:
        _fill(fake)
        refresh_links(s, s.papers_for_day(DAY), *_clients(fake, http))
    s.close()
    (tmp_path / "site").mkdir()
    with LiveServer(create_app(db, tmp_path / "site")) as srv, httpx.Client(base_url=srv.url, timeout=10) as client:
        hits = client.get("/api/search", params={"q": "fields"}).json()["results"]
        hit = next(h for h in hits if h["id"] == "2608.00001")
        assert (hit["github_stars"], hit["hf_models"], hit["hf_datasets"], hit["hf_spaces"]) == (1234, 3, 1, 2)
        assert hit["links"]["github"] == "https://github.com/hf/fields"
        assert hit["links"]["project"] == "https://fields.example/"
        paper = client.get("/api/papers/2608.00002").json()
        assert paper["resources"] == {"models": 2500, "datasets": 0, "spaces": 0}
        day = client.get(f"/api/days/{DAY}").json()
        assert {p["id"]: p["github_stars"] for p in day["papers"]}["2608.00001"] == 1234


def test_site_build_without_links_is_unchanged_in_shape(tmp_path):
    """A store nobody ran `links` on: no badge row anywhere, filters count zero."""
    s = open_store(tmp_path / "s.db")
    s.upsert_papers([Paper(arxiv_id="2608.09999", title="Plain", hf_date=DAY, sources=[Provenance(source="hf")])])
    build_site(s, tmp_path / "site")
    s.close()
    page = (tmp_path / "site" / "d" / f"{DAY}.html").read_text("utf-8")
    assert 'class="res"' not in page and 'has code <span class="n">0</span>' in page
