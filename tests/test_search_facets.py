"""In-memory filters and sorts (search/facets.py) must answer exactly what the SQL filters
answer, and must follow enrichment changes (a real store of each backend, random corpus)."""

import datetime as dt
import random

import numpy as np
import pytest

from papersift.model import Enrichment, Paper, Provenance
from papersift.search.engine import SearchEngine, SearchQuery, store_filters
from papersift.store import SearchFilters
from papersift.taxonomy import TAGS

TAG_NAMES = sorted(TAGS)


@pytest.fixture()
def corpus(make_store):
    rng = random.Random(3)
    s = make_store()
    papers = []
    for i in range(300):
        day = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(700)) if rng.random() > 0.1 else None
        papers.append(Paper(arxiv_id=f"2501.{i:05d}", title=f"Paper {i} about topic {i % 7}",
                            abstract=f"abstract words number {i % 11} and learning", authors=["A. B"],
                            published=day, upvotes=rng.choice([None, 0, 1, 5, 20, 100]),
                            categories=[rng.choice(["cs.LG", "cs.CL", "cs.CV"])],
                            sources=[Provenance(source=rng.choice(["arxiv", "hf"]), ref="t")]))
    s.upsert_papers(papers)
    for p in papers[::2]:
        s.save_enrichment(Enrichment(paper_id=p.arxiv_id, method="offline",
                                     tags=rng.sample(TAG_NAMES[:6], rng.randint(0, 4))))
    return s, rng


def _random_filters(rng: random.Random) -> dict:
    f = {}
    if rng.random() < 0.5:
        f["date_from"] = (dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(700))).isoformat()
    if rng.random() < 0.5:
        f["date_to"] = (dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(700))).isoformat()
    if rng.random() < 0.4:
        f["min_upvotes"] = rng.choice([0, 1, 5, 50])
    if rng.random() < 0.5:
        f["tags"] = rng.sample(TAG_NAMES[:6], rng.randint(1, 3))  # few names: "all" can match
        f["tag_mode"] = rng.choice(["any", "all"])
    if rng.random() < 0.2:
        f["sources"] = ["hf"]
    if rng.random() < 0.2:
        f["categories"] = ["cs.CL", "cs.CV"]
    return f


def test_in_memory_filters_equal_sql(corpus):
    s, rng = corpus
    eng = SearchEngine(s)
    idx = eng.bm25()
    for _ in range(200):
        f = _random_filters(rng)
        mask = eng.allowed_rows(f)
        want = s.search_filter_ids(store_filters(f)) if f else set(idx.ids)
        got = set(idx.ids) if mask is None else {idx.ids[i] for i in np.flatnonzero(mask)}
        assert got == want, f


def test_all_mode_needs_every_tag(corpus):
    s, rng = corpus
    eng = SearchEngine(s)
    idx = eng.bm25()
    enr = s.get_enrichments(idx.ids)
    two = TAG_NAMES[:2]
    want = {pid for pid, e in enr.items() if set(two) <= set(e.tags)}
    assert want, "the fixture should have papers with both tags"
    mask = eng.allowed_rows({"tags": two, "tag_mode": "all"})
    assert {idx.ids[i] for i in np.flatnonzero(mask)} == want
    res = eng.search(SearchQuery(q="paper", tags=two, tag_mode="all", limit=200))
    assert {h.id for h in res.hits} == want and res.total == len(want)


def test_unknown_tag_goes_to_sql(corpus):
    s, _ = corpus
    s.save_enrichment(Enrichment(paper_id="2501.00001", method="hfday", tags=["not_a_taxonomy_tag"]))
    eng = SearchEngine(s)
    mask = eng.allowed_rows({"tags": ["not_a_taxonomy_tag"]})
    assert {eng.bm25().ids[i] for i in np.flatnonzero(mask)} == {"2501.00001"}


def test_tags_follow_enrichment_changes(corpus):
    s, _ = corpus
    eng = SearchEngine(s)
    before = s.enrichments_version()
    assert "2501.00003" not in s.search_filter_ids(SearchFilters(tags=("rlhf",)))
    res = eng.search(SearchQuery(q="paper", tags=["rlhf"], limit=200))
    assert "2501.00003" not in {h.id for h in res.hits}
    s.save_enrichment(Enrichment(paper_id="2501.00003", method="offline", tags=["rlhf"]))
    assert s.enrichments_version() != before
    res = eng.search(SearchQuery(q="paper", tags=["rlhf"], limit=200))
    assert "2501.00003" in {h.id for h in res.hits}


def test_sorted_pool_matches_paper_fields(corpus):
    s, _ = corpus
    eng = SearchEngine(s)
    for sort in ("upvotes", "date"):
        res = eng.search(SearchQuery(q="learning", sort=sort, limit=200))
        papers = [h.paper for h in res.hits]
        assert len(papers) > 100

        pairs = [(p.upvotes or 0, (p.day or dt.date.min).toordinal()) for p in papers]
        keys = pairs if sort == "upvotes" else [(d, u) for u, d in pairs]
        assert keys == sorted(keys, reverse=True), sort


def test_server_engine_sees_changes_after_version_ttl(corpus):
    import time

    s, _ = corpus
    eng = SearchEngine(s)
    eng.version_ttl = 0.3  # what a server does: re-read store versions at most this often
    assert "2501.00005" not in {h.id for h in eng.search(SearchQuery(q="paper", tags=["rlhf"], limit=200)).hits}
    s.save_enrichment(Enrichment(paper_id="2501.00005", method="offline", tags=["rlhf"]))
    time.sleep(0.35)
    assert "2501.00005" in {h.id for h in eng.search(SearchQuery(q="paper", tags=["rlhf"], limit=200)).hits}


def test_a_search_uses_one_index_snapshot_while_papers_arrive(corpus):
    """An import committing during a filtered search: the row mask and the ranking must come
    from the same BM25 index (a mask of 300 rows against a 301-row index raised before)."""
    s, _ = corpus
    eng = SearchEngine(s)
    eng.search(SearchQuery(q="paper", date_from=dt.date(2024, 3, 1)))
    real_bm25 = eng.bm25
    calls = {"n": 0}

    def bm25_with_import_after_first_call():
        idx = real_bm25()
        calls["n"] += 1
        if calls["n"] == 1:
            s.upsert_papers([Paper(arxiv_id="2509.99999", title="Paper arriving mid-search",
                                   abstract="learning", published=dt.date(2024, 6, 1))])
        return idx

    eng.bm25 = bm25_with_import_after_first_call
    res = eng.search(SearchQuery(q="paper learning", date_from=dt.date(2024, 3, 1), limit=50))
    assert res.hits and all(h.paper.day >= dt.date(2024, 3, 1) for h in res.hits)
