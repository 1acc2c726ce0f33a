"""Contract: what search/ reads. Filters (each SearchFilters field), full-text matches of a
parsed query, browsing order and paging, texts, facets and the change versions."""

import datetime as dt
import json

import pytest

from papersift.ids import title_key
from papersift.model import Enrichment, Paper, Provenance
from papersift.store.base import LexicalQuery, SearchFilters

P1, P2, P3, P4 = "2501.00001", "2501.00002", "2501.00003", "2501.00004"
ALL = {P1, P2, P3, P4}


def add(store, pid, title, source, day=None, upvotes=None, categories=(), authors=(), tags=None):
    store.upsert_papers([Paper(arxiv_id=pid, title=title, abstract=f"About {title.lower()}.",
                               published=day, upvotes=upvotes, categories=list(categories),
                               authors=list(authors), sources=[Provenance(source=source)])])
    if tags is not None:
        store.save_enrichment(Enrichment(paper_id=pid, method="offline", tags=tags))


@pytest.fixture
def corpus(store):
    add(store, P1, "Attention is all you need", "hf", dt.date(2025, 1, 10), 5, ["cs.CL"],
        ["Ashish Vaswani"], ["rl"])
    add(store, P2, "Vision transformers at scale", "arxiv", dt.date(2025, 1, 20), None, ["cs.CV"],
        tags=["rl", "cv"])
    add(store, P3, "Reinforcement learning from human feedback", "listing", None, 10)
    add(store, P4, "Scaling attention for vision", "hf", dt.date(2025, 2, 1), 1, ["cs.CL", "cs.LG"],
        ["Geoffrey Hinton"], ["cv"])
    return store


@pytest.mark.parametrize("filters, want", [
    (None, ALL),
    (SearchFilters(), ALL),
    (SearchFilters(date_from=dt.date(2025, 1, 15)), {P2, P4}),
    (SearchFilters(date_to=dt.date(2025, 1, 20)), {P1, P2}),  # no day: fails any date bound
    (SearchFilters(date_from=dt.date(2025, 1, 10), date_to=dt.date(2025, 1, 10)), {P1}),
    (SearchFilters(min_upvotes=5), {P1, P3}),
    (SearchFilters(min_upvotes=0), ALL),
    (SearchFilters(sources=("hf",)), {P1, P4}),
    (SearchFilters(sources=("arxiv", "listing")), {P2, P3}),
    (SearchFilters(categories=("cs.CL",)), {P1, P4}),
    (SearchFilters(categories=("cs.CV", "cs.LG")), {P2, P4}),
    (SearchFilters(tags=("rl",)), {P1, P2}),
    (SearchFilters(tags=("rl", "cv")), {P1, P2, P4}),
    (SearchFilters(tags=("rl", "cv"), tag_mode="all"), {P2}),
    (SearchFilters(tags=("nothing",)), set()),
    (SearchFilters(sources=("hf",), tags=("cv",), min_upvotes=1), {P4}),
])
def test_filters(corpus, filters, want):
    assert corpus.search_filter_ids(filters) == want


def test_browse_orders_and_pages(corpus):
    assert corpus.browse_ids(None, "date", 10) == ([P4, P2, P1, P3], 4)
    assert corpus.browse_ids(None, "upvotes", 10) == ([P3, P1, P4, P2], 4)
    assert corpus.browse_ids(None, "upvotes", 2, 1) == ([P1, P4], 4)
    assert corpus.browse_ids(None, "date", 2, 10) == ([], 4)
    assert corpus.browse_ids(SearchFilters(sources=("hf",)), "date", 1) == ([P4], 2)


@pytest.mark.parametrize("query, filters, want", [
    (LexicalQuery(terms=["vision"]), None, {P2, P4}),
    (LexicalQuery(terms=["vision", "attention"]), None, {P1, P2, P4}),  # free words: any
    (LexicalQuery(phrases=[["attention", "is", "all"]]), None, {P1}),
    (LexicalQuery(phrases=[["all", "attention"]]), None, set()),
    (LexicalQuery(terms=["transformers"], phrases=[["scaling", "attention"]]), None, {P4}),
    (LexicalQuery(authors=[["hinton"]]), None, {P4}),
    (LexicalQuery(authors=[["hinton", "geoffrey"]]), None, {P4}),  # words, not a phrase
    (LexicalQuery(authors=[["vision"]]), None, set()),  # author: looks at authors only
    (LexicalQuery(terms=["vision"]), SearchFilters(min_upvotes=1), {P4}),
    (LexicalQuery(), None, set()),
    (LexicalQuery(terms=['a"b', "NEAR(", "*", "or"], phrases=[['"', "^"]]), None, set()),
])
def test_lexical_match_ids(corpus, query, filters, want):
    assert corpus.lexical_match_ids(query, filters) == want


def test_texts_facets_and_title_keys(corpus):
    texts = list(corpus.search_texts(batch=2))
    assert [t[0] for t in texts] == [P1, P2, P3, P4]
    assert texts[0] == (P1, "Attention is all you need", "About attention is all you need.")
    with_authors = list(corpus.search_texts(with_authors=True))
    assert len(with_authors[0]) == 4 and "Ashish Vaswani" in with_authors[0][3]
    facets = {f[0]: f[1:] for f in corpus.search_facets()}
    assert facets[P1] == ("2025-01-10", 5, ["rl"])
    assert facets[P3] == (None, 10, [])
    assert corpus.title_keys([P1, "nope"]) == {P1: title_key("Attention is all you need")}


def test_versions_move_on_writes_only(store):
    pv, ev = store.papers_version(), store.enrichments_version()
    add(store, P1, "Attention is all you need", "hf")
    pv1 = store.papers_version()
    assert pv1 != pv and store.enrichments_version() == ev
    add(store, P1, "Attention is all you need", "hf")  # unchanged
    assert store.papers_version() == pv1
    store.save_enrichment(Enrichment(paper_id=P1, method="offline", tags=["rl"]))
    ev1 = store.enrichments_version()
    assert ev1 != ev and store.papers_version() == pv1
    store.save_enrichment(Enrichment(paper_id=P1, method="offline", tags=["cv"]))
    assert store.enrichments_version() != ev1
    store.set_meta("x", "1")
    store.record_day(dt.date(2025, 1, 1), [P1], "hf")
    assert store.papers_version() == pv1


def test_papers_version_moves_on_update_and_rename(store):
    import time

    # A change is told by a new row or a newer timestamp (one-second resolution): the
    # renamed row may take the rowid its old key had, so wait out the second.
    lp = Paper(title="Scaling attention for vision", sources=[Provenance(source="listing")])
    store.upsert_papers([lp])
    v0 = store.papers_version()
    time.sleep(1.1)
    store.upsert_papers([Paper(arxiv_id=P4, title="Scaling attention for vision")])  # rename
    v1 = store.papers_version()
    assert v1 != v0
    time.sleep(1.1)
    store.upsert_papers([Paper(arxiv_id=P4, title="Scaling attention for vision", upvotes=3)])
    assert store.papers_version() != v1


def test_facet_tags_are_json_lists(corpus):
    # tags come back as lists whatever the backend stores them as
    assert all(isinstance(f[3], list) for f in corpus.search_facets())
    assert json.dumps(sorted(t for f in corpus.search_facets() for t in f[3])) == \
        json.dumps(["cv", "cv", "rl", "rl"])
