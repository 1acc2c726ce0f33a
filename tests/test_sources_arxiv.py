"""arXiv client: real client code against the loopback fake export API (Atom)."""

from __future__ import annotations

import datetime as dt

import pytest
from support.fake_hf_arxiv import FakeServer, Fault, arxiv_entry, atom_entry
from support.http_client import fast_http

from papersift.http import HttpError, RetryPolicy
from papersift.ids import InvalidArxivId
from papersift.sources.arxiv import ArxivClient

PATH = "/api/query"
D1, D3 = dt.date(2025, 2, 1), dt.date(2025, 2, 3)


@pytest.fixture
def server():
    with FakeServer() as s:
        s.add_arxiv(*[arxiv_entry(f"2502.0{i:04d}", f"Language paper {i} on many things",
                                  published=f"2025-02-0{1 + i % 3}", categories=["cs.CL", "cs.AI"])
                      for i in range(1, 6)])
        s.add_arxiv(arxiv_entry("2502.09000", "Vision paper", published="2025-02-02",
                                categories=["cs.CV"]),
                    arxiv_entry("2502.09001", "Late paper", published="2025-02-05",
                                categories=["cs.CL"]),
                    arxiv_entry("2502.02671", "Cross listed with affiliations", version=3,
                                published="2025-02-02", categories=["cs.LG", "cs.CL", "68T50"],
                                affiliations=True, comment="12 pages, 3 figures",
                                journal_ref="ACL 2025", doi="10.1000/xyz123"),
                    arxiv_entry("hep-th/9901001", "An old string theory paper",
                                published="1999-01-04", categories=["hep-th"]),
                    arxiv_entry("math/0309136", "Old topology paper", published="2003-09-09",
                                categories=["math.GT"]))
        yield s


def test_category_range_pages_through_total_results(server):
    with fast_http() as h:
        client = ArxivClient(h, server.url, min_interval=0.0, page_size=2)
        pages = list(client.search_pages("cs.CL", D1, D3))
    ids = [p.id for page in pages for p in page.papers]
    assert sorted(ids) == sorted([f"2502.0{i:04d}" for i in range(1, 6)] + ["2502.02671"])
    assert [len(p.papers) for p in pages] == [2, 2, 2] and pages[0].total == 6
    reqs = server.requests_to(PATH)
    assert [r.query["start"] for r in reqs] == ["0", "2", "4"]
    assert reqs[0].query["search_query"] == "cat:cs.CL AND submittedDate:[202502010000 TO 202502032359]"
    assert reqs[0].query["sortBy"] == "submittedDate"


def test_requests_are_paced_by_the_client(server):
    with fast_http() as h:
        client = ArxivClient(h, server.url, min_interval=0.5, page_size=2)
        list(client.search_pages("cs.CL", D1, D3))
    times = [r.at for r in server.requests_to(PATH)]
    assert len(times) == 3
    assert all(b - a >= 0.5 for a, b in zip(times, times[1:], strict=False))


def test_default_interval_is_three_seconds(server):
    with fast_http() as h:
        ArxivClient(h, server.url)
        assert h.min_interval[server.url.split("//")[1]] == 3.0


def test_entry_fields(server):
    with fast_http() as h:
        (page,) = ArxivClient(h, server.url, min_interval=0).id_pages(["arXiv:2502.02671v1"])
    (p,) = page.papers
    assert (p.id, p.version) == ("2502.02671", 3)
    assert p.title == "Cross listed with affiliations"  # hard wrap collapsed
    assert p.abstract == "An abstract about Cross listed with affiliations."
    assert p.authors == ["Author 0", "Author 1"] and p.affiliations == ["Univ 0", "Univ 1"]
    assert p.categories == ["cs.LG", "cs.CL", "68T50"] and p.primary_category == "cs.LG"
    assert (p.published, p.updated) == (dt.date(2025, 2, 2), dt.date(2025, 2, 2))
    assert (p.comment, p.journal_ref, p.doi) == ("12 pages, 3 figures", "ACL 2025", "10.1000/xyz123")
    assert p.links == {"abs": "http://arxiv.org/abs/2502.02671v3", "pdf": "http://arxiv.org/pdf/2502.02671v3",
                       "doi": "http://dx.doi.org/10.1000/xyz123"}
    assert [(s.source, s.ref) for s in p.sources] == [("arxiv", "http://arxiv.org/abs/2502.02671v3")]


def test_id_batches_old_style_and_unknown_ids(server):
    ids = ["2502.00001", "https://arxiv.org/pdf/2502.00002v2.pdf", "hep-th/9901001",
           "math.GT/0309136", "2502.77777", "2502.00001v2"]
    with fast_http() as h:
        pages = list(ArxivClient(h, server.url, min_interval=0, id_batch=2).id_pages(ids))
    reqs = server.requests_to(PATH)
    assert [r.query["id_list"] for r in reqs] == [
        "2502.00001,2502.00002", "hep-th/9901001,math/0309136", "2502.77777"]
    got = [p.id for page in pages for p in page.papers]
    assert got == ["2502.00001", "2502.00002", "hep-th/9901001", "math/0309136"]
    assert pages[2].errors == ["2502.77777: not found on arXiv"]


def test_malformed_id_fails_before_any_request(server):
    with fast_http() as h, pytest.raises(InvalidArxivId, match="not-an-id"):
        ArxivClient(h, server.url, min_interval=0).id_pages(["2502.00001", "not-an-id"])
    assert server.log == []


def test_bad_category_or_range_fails_before_any_request(server):
    with fast_http() as h:
        c = ArxivClient(h, server.url, min_interval=0)
        with pytest.raises(ValueError, match="--from"):
            c.search_pages("cs.CL", D3, D1)
        with pytest.raises(ValueError, match="category"):
            c.search_pages("cs.CL OR cat:x", D1, D3)
    assert server.log == []


def test_truncated_xml_and_5xx_are_retried(server):
    server.fail_next(PATH, Fault.truncated(), Fault.status(503), Fault.cut())
    with fast_http() as h:
        client = ArxivClient(h, server.url, min_interval=0, page_size=10)
        h.retry = RetryPolicy(attempts=4, backoff=0.01, jitter=0)
        (page,) = list(client.search_pages("cs.CL", D1, D3))
    assert len(page.papers) == 6 and len(server.requests_to(PATH)) == 4


def test_spurious_empty_page_is_retried(server):
    # arXiv sometimes answers a page inside totalResults with no entries: ask again.
    empty = (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" '
             b'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">'
             b"<opensearch:totalResults>6</opensearch:totalResults></feed>")
    server.fail_next(PATH, Fault.raw(empty, "application/atom+xml"))
    with fast_http() as h:
        papers = [p for pg in ArxivClient(h, server.url, min_interval=0, page_size=3)
                  .search_pages("cs.CL", D1, D3) for p in pg.papers]
    assert len(papers) == 6 and len(server.requests_to(PATH)) == 3


def test_dtd_is_refused_without_retry(server):
    evil = (b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY x "boom">]>'
            b'<feed xmlns="http://www.w3.org/2005/Atom"><title>&x;</title></feed>')
    server.fail_next(PATH, Fault.raw(evil, "application/atom+xml"))
    with fast_http() as h, pytest.raises(HttpError, match="DTD"):
        list(ArxivClient(h, server.url, min_interval=0).search_pages("cs.CL", D1, D3))
    assert len(server.requests_to(PATH)) == 1


def test_api_error_entry_is_reported(server):
    # arXiv answers an id it cannot parse with an <entry> whose id is an api/errors URL.
    feed = ('<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" '
            'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">'
            "<opensearch:totalResults>1</opensearch:totalResults>"
            + atom_entry("bogus") + "</feed>").encode()
    server.fail_next(PATH, Fault.raw(feed, "application/atom+xml"))
    with fast_http() as h:
        (page,) = ArxivClient(h, server.url, min_interval=0).id_pages(["2502.00001"])
    assert page.papers == []
    assert page.errors[0].endswith("arXiv error: incorrect id format for bogus")
    assert page.errors[1] == "2502.00001: not found on arXiv"
