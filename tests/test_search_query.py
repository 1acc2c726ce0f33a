"""Query parsing and MATCH building: every input, however hostile, is valid FTS5."""

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from papersift.model import Paper
from papersift.search.engine import SearchEngine, SearchQuery
from papersift.search.query import parse_query
from papersift.store.sqlite.search import fts5_match as build_match

HOSTILE = [
    "", " ", '"', '""', '"""', '"unclosed phrase', "NEAR(a b, 2)", "a AND OR NOT b", "NOT",
    "*", "foo*", "^start", "title:foo", "authors:", "author:", 'author:"', "{title abstract}: x",
    "(((", ")))", "a + b", "-minus", "'; DROP TABLE papers; --", "\x00\x01\x02", "🤖🔥 emoji",
    "中文 搜索", "Ωmega ÄÖÜ naïve", "\ue000\ue001", "a" * 10_000, "word " * 3000, "\\", "%_",
]


@pytest.fixture()
def store(make_store):
    s = make_store()
    s.upsert_papers([
        Paper(arxiv_id="2401.00001", title="Exaggeration in knowledge distillation",
              abstract="Students exaggerate the teacher's confidence.", authors=["Geoffrey Hinton"]),
        Paper(arxiv_id="2401.00002", title="Influence functions for data selection",
              abstract="We select training data with influence functions.", authors=["Ada Lovelace"]),
    ])
    return s


def test_words_phrases_and_authors_are_split():
    q = parse_query('influence of "data selection" author:Hinton on the NOT model')
    assert q.terms == ["influence", "model"]  # stopwords and operators dropped
    assert q.phrases == [["data", "selection"]]
    assert q.authors == [["hinton"]]


def test_only_stopwords_keeps_them():
    assert parse_query("the who").terms == ["the", "who"]


def test_every_token_is_quoted():
    m = build_match(parse_query("NEAR(foo bar) OR baz*"))
    assert m == '"near" OR "foo" OR "bar" OR "baz"'


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_valid_fts(store, text):
    q = parse_query(text)
    match = build_match(q)
    if match is not None:
        store.lexical_search(match, 5)  # raises sqlite3.OperationalError on bad syntax
    res = SearchEngine(store).search(SearchQuery(q=text))
    assert res.total >= 0


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_valid_fts(text):
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(title, abstract, authors, "
                 "tokenize='porter unicode61 remove_diacritics 2')")
    conn.execute("INSERT INTO t VALUES ('a title', 'an abstract', 'An Author')")
    match = build_match(parse_query(text))
    if match is not None:
        conn.execute("SELECT rowid FROM t WHERE t MATCH ?", (match,)).fetchall()


def test_author_search_matches_either_name_order(store):
    eng = SearchEngine(store)
    assert [h.id for h in eng.search(SearchQuery(q="author:hinton")).hits] == ["2401.00001"]
    assert [h.id for h in eng.search(SearchQuery(q='author:"Hinton, Geoffrey"')).hits] == ["2401.00001"]
    assert eng.search(SearchQuery(q="author:lovelace distillation")).hits[0].id == "2401.00002"


def test_exact_phrase_is_required(store):
    eng = SearchEngine(store)
    assert [h.id for h in eng.search(SearchQuery(q='"data selection"')).hits] == ["2401.00002"]
    assert eng.search(SearchQuery(q='"selection data"')).total == 0
