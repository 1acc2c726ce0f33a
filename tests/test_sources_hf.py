"""Hugging Face client: real client code against the loopback fake HF API."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.fake_hf_arxiv import FakeServer, Fault, hf_paper
from support.http_client import fast_http

from papersift.sources import RecordError
from papersift.sources.hf import HFClient, parse_item, parse_items

DAY = "2025-02-06"  # a Thursday
PATH = "/api/daily_papers"


@pytest.fixture
def server():
    with FakeServer() as s:
        s.add_hf_day(DAY, [hf_paper(f"2502.0{i:04d}", f"Paper number {i} about things", day=DAY,
                                    upvotes=i) for i in range(1, 8)])
        s.add_hf_day("2025-02-07", [hf_paper("2502.09999", "Friday paper", day="2025-02-07")])
        s.add_hf_day("2025-03-03", [hf_paper("2503.00001", "March paper", day="2025-03-03")])
        yield s


def test_pages_until_a_short_page(server):
    with fast_http() as h:
        pages = list(HFClient(h, server.url, page_size=3).daily_pages(date=dt.date(2025, 2, 6)))
    assert [len(p.papers) for p in pages] == [3, 3, 1]
    reqs = server.requests_to(PATH)
    assert [(r.query["p"], r.query["limit"], r.query["date"]) for r in reqs] == [
        ("0", "3", DAY), ("1", "3", DAY), ("2", "3", DAY)]
    ids = [p.id for page in pages for p in page.papers]
    assert ids == [f"2502.0{i:04d}" for i in range(1, 8)]
    assert all(p.hf_date == dt.date(2025, 2, 6) for page in pages for p in page.papers)


def test_full_last_page_asks_once_more_and_stops_on_empty(server):
    server.hf_days[DAY] = server.hf_days[DAY][:6]
    with fast_http() as h:
        papers = HFClient(h, server.url, page_size=3).daily_papers(date=dt.date(2025, 2, 6))
    assert len(papers) == 6 and len(server.requests_to(PATH)) == 3


def test_weekend_is_empty_not_an_error(server):
    with fast_http() as h:
        pages = list(HFClient(h, server.url).daily_pages(date=dt.date(2025, 2, 8)))
    assert [(p.papers, p.errors) for p in pages] == [([], [])]


def test_week_and_month_and_sort(server):
    with fast_http() as h:
        c = HFClient(h, server.url)
        week = c.daily_papers(week="2025-W06")
        month = c.daily_papers(month="2025-03")
        trending = c.daily_papers(date=dt.date(2025, 2, 6), sort="trending")
    assert {p.id for p in week} == {f"2502.0{i:04d}" for i in range(1, 8)} | {"2502.09999"}
    # Each paper keeps the day HF listed it on, not the week.
    assert {p.hf_date for p in week} == {dt.date(2025, 2, 6), dt.date(2025, 2, 7)}
    assert [p.id for p in month] == ["2503.00001"]
    assert [p.upvotes for p in trending] == [7, 6, 5, 4, 3, 2, 1]
    assert server.requests_to(PATH)[-1].query["sort"] == "trending"


@pytest.mark.parametrize("kw,msg", [
    ({"week": "2025-6"}, "YYYY-Www"), ({"month": "2025-13"}, "YYYY-MM"),
    ({"date": dt.date(2025, 2, 6), "sort": "best"}, "sort"), ({}, "exactly one"),
])
def test_bad_arguments_fail_before_any_request(server, kw, msg):
    with fast_http() as h, pytest.raises(ValueError, match=msg):
        HFClient(h, server.url).daily_pages(**kw)
    assert server.log == []


def test_token_is_sent_as_bearer_to_hf_only(server):
    with fast_http() as h:
        HFClient(h, server.url, token="hf_secret").daily_papers(date=dt.date(2025, 2, 6))
        HFClient(h, server.url).daily_papers(date=dt.date(2025, 2, 6))
    auth = [r.headers.get("Authorization") for r in server.requests_to(PATH)]
    assert auth == ["Bearer hf_secret", None]


def test_retries_inside_paging(server):
    server.fail_next(PATH, Fault.status(500), Fault.truncated())
    with fast_http() as h:
        papers = HFClient(h, server.url, page_size=3).daily_papers(date=dt.date(2025, 2, 6))
    assert len(papers) == 7


def test_server_ignoring_p_does_not_loop(server):
    server.hf_days[DAY] = server.hf_days[DAY][:3]
    # A server that answers every page with page 0: simulate by scripting identical bodies.
    body = json.dumps(server.hf_days[DAY]).encode()
    server.fail_next(PATH, Fault.raw(body), Fault.raw(body))
    with fast_http() as h:
        pages = list(HFClient(h, server.url, page_size=3).daily_pages(date=dt.date(2025, 2, 6)))
    assert len(pages) == 2 and "repeated the previous page" in pages[1].errors[0]


def test_search_and_single_paper(server):
    with fast_http() as h:
        c = HFClient(h, server.url)
        page = c.search("friday")
        one = c.paper("2502.00003")
        missing = c.paper("2502.55555")
    assert [p.id for p in page.papers] == ["2502.09999"]
    assert page.papers[0].hf_date == dt.date(2025, 2, 7)  # from submittedOnDailyAt
    assert one is not None and one.id == "2502.00003" and one.upvotes == 3
    assert missing is None


def test_parse_new_fields_and_hard_wraps():
    item = hf_paper("2502.02671", "A long title that arXiv wraps over lines", day=DAY, upvotes=42)
    p = parse_item(item, ref="daily_papers?date=2025-02-06", daily=True)
    assert p.id == "2502.02671" and p.title == "A long title that arXiv wraps over lines"
    assert "\n" not in p.abstract and p.abstract.startswith("We study a long title")
    assert p.published == dt.date(2025, 2, 6) and p.hf_date == dt.date(2025, 2, 6)
    assert (p.upvotes, p.num_comments, p.github_stars) == (42, 3, 7)
    assert p.github_repo == "https://github.com/example/2502.02671"
    assert p.project_page == "https://example.org/project"
    assert p.organization == "Example Org"
    assert p.ai_summary and p.ai_keywords == ["kw one", "kw two"]
    assert p.authors == ["Author 0 of 2502.02671", "Author 1 of 2502.02671"]
    assert p.links["hf"] == "https://huggingface.co/papers/2502.02671"
    assert p.links["thumbnail"].endswith("2502.02671.png")
    assert [(s.source, s.ref) for s in p.sources] == [("hf", "daily_papers?date=2025-02-06")]


def test_parse_old_shape_without_newer_fields():
    item = hf_paper("2410.17243", "Breaking the Memory Barrier", day="2024-10-25", new_fields=False,
                    published="2024-10-22")
    p = parse_item(item, ref="r", daily=True)
    assert p.published == dt.date(2024, 10, 22) and p.hf_date == dt.date(2024, 10, 25)
    assert p.ai_summary is None and p.github_repo is None and p.organization is None


def test_bad_items_are_named_and_the_rest_kept():
    good = hf_paper("2502.00001", "Good paper", day=DAY)
    no_id = hf_paper("2502.00002", "No id", day=DAY)
    del no_id["paper"]["id"]
    no_title = hf_paper("2502.00003", "x", day=DAY)
    no_title["paper"]["title"] = "  "
    no_title["title"] = None
    hostile = hf_paper("2502.00004", "Hostile links", day=DAY)
    hostile["paper"].update(githubRepo="javascript:alert(1)", upvotes="many", githubStars=True,
                            ai_keywords="not a list", organization=5)
    page = parse_items([good, no_id, "junk", no_title, hostile], ref="daily_papers?date=x", daily=True)
    assert [p.id for p in page.papers] == ["2502.00001", "2502.00004"]
    assert page.errors == [
        "daily_papers?date=x item 1: no paper id; skipped",
        "daily_papers?date=x item 2: expected an object, got str",
        "daily_papers?date=x item 3: paper 2502.00003 has no title; skipped",
    ]
    h = page.papers[1]
    assert (h.github_repo, h.upvotes, h.github_stars, h.ai_keywords, h.organization) == (
        None, None, None, [], None)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20)


@given(st.dictionaries(st.sampled_from(["id", "title", "summary", "authors", "publishedAt", "upvotes",
                                         "githubRepo", "githubStars", "organization", "ai_keywords",
                                         "ai_summary", "projectPage", "submittedOnDailyAt"]),
                       json_values),
       st.dictionaries(st.sampled_from(["publishedAt", "title", "numComments", "thumbnail"]), json_values),
       st.one_of(st.just("2502.02671"), st.just("hep-th/9901001"), json_values),
       st.one_of(st.just("A title\n  wrapped"), json_values))
def test_any_json_gives_a_paper_or_a_record_error(paper, outer, pid, title):
    # Whatever shape a response has, parsing yields a valid Paper or a named RecordError;
    # no KeyError/TypeError ever escapes to stop the rest of the page.
    paper = {**paper, "id": pid, "title": title}
    try:
        p = parse_item({**outer, "paper": paper}, ref="r", daily=True)
    except RecordError as e:
        assert str(e)
    else:
        assert p.id and p.title
        assert p.github_repo is None or p.github_repo.startswith(("http://", "https://"))
        assert p.upvotes is None or p.upvotes >= 0
