"""The in-memory BM25 index agrees with FTS5's bm25() and caches itself correctly."""

import pytest

from papersift.model import Paper
from papersift.search.engine import Fusion, SearchEngine, SearchQuery
from papersift.search.lexical import BM25Index, BM25Params, build_from_store
from papersift.search.query import parse_query
from papersift.store.sqlite.search import fts5_match as build_match

TEXTS = [
    ("Language models are few-shot learners", "We train large language models on text data."),
    ("Data selection for language model pretraining", "Selecting data improves models."),
    ("Vision transformers", "Images are patches; transformers process the patches."),
    ("Café crème: diacritics in titles", "Naïve résumé text with accents."),
    ("Reward models for alignment", "Human preference data trains reward models for language agents."),
    ("Graph neural networks", "Message passing over graphs."),
]


@pytest.fixture()
def store(make_store):
    s = make_store()
    s.upsert_papers(Paper(arxiv_id=f"2505.{i:05d}", title=t, abstract=a, authors=[f"Author {i}"])
                    for i, (t, a) in enumerate(TEXTS))
    return s


@pytest.mark.parametrize("q", ["language models data", "transformers", "reward", "cafe naive",
                               "author"])
@pytest.mark.parametrize("weights", [(1.0, 1.0, 1.0), (4.0, 1.0, 2.0)])
@pytest.mark.parametrize("backend", ["sqlite"])  # bm25() is SQLite FTS5's
def test_scores_match_fts5_bm25(store, q, weights):
    fts = store.lexical_search(build_match(parse_query(q)), 10, weights)
    idx = build_from_store(store, BM25Params(weights=weights), None)
    ours, count = idx.top(parse_query(q).terms, 10)
    assert count == len(fts)
    assert dict(ours) == pytest.approx(dict(fts), rel=1e-4)


def test_cache_roundtrip_and_invalidation(store, tmp_path):
    cache = tmp_path / "bm25.npz"
    first = build_from_store(store, BM25Params(weights=(1.0, 1.0, 1.0)), cache)
    assert cache.exists() and first.build_seconds > 0
    again = build_from_store(store, BM25Params(weights=(1.0, 1.0, 1.0)), cache)
    assert again.build_seconds == 0 and again.ids == first.ids and again.vocab == first.vocab
    assert again.top(["graph"], 3) == first.top(["graph"], 3)
    store.upsert_papers([Paper(arxiv_id="2505.00099", title="Graph transformers", abstract="x")])
    fresh = build_from_store(store, BM25Params(weights=(1.0, 1.0, 1.0)), cache)
    assert fresh.build_seconds > 0 and "2505.00099" in fresh.row
    cache.write_bytes(b"not a numpy file")
    assert BM25Index.load(cache, fresh.version) is None  # a broken cache is rebuilt, not trusted


def test_engine_sees_new_papers_without_restart(store):
    eng = SearchEngine(store, fusion=Fusion())
    assert eng.search(SearchQuery(q="mixture experts")).total == 0
    store.upsert_papers([Paper(arxiv_id="2505.00100", title="Mixture of experts", abstract="Sparse.")])
    res = eng.search(SearchQuery(q="mixture experts"))
    assert res.total == 1 and res.hits[0].id == "2505.00100"


def test_empty_store_and_unknown_words(make_store):
    s = make_store("empty")
    eng = SearchEngine(s)
    assert eng.search(SearchQuery(q="anything")).total == 0
    assert build_from_store(s, BM25Params(weights=(1.0, 1.0, 1.0)), None).top(["zzz"], 5) == ([], 0)


def test_top_k_equals_a_full_sort_with_many_ties():
    """top() takes shortcuts (partition on the matching rows, ties kept then ordered): it must
    return exactly what sorting every score would, for small and large match sets."""
    import random

    import numpy as np

    rng = random.Random(5)
    words = ["alpha", "beta", "gamma", "delta", "epsilon"]
    rows = [(f"id{i}", " ".join(rng.choices(words, k=rng.randint(1, 3))), "x " * rng.randint(0, 2), "")
            for i in range(3000)]  # few distinct texts: scores tie heavily
    idx = BM25Index.build(rows, "v")
    for q in (["alpha"], ["beta", "gamma"], ["epsilon", "alpha", "delta"], ["nothing"]):
        s = idx.scores(q)
        for k in (1, 7, 100, 5000):
            for allowed in (None, np.array([rng.random() < 0.3 for _ in range(len(rows))])):
                got, matched = idx.top(q, k, allowed)
                if s is None:
                    assert (got, matched) == ([], 0)
                    continue
                ref = np.where(allowed, s, 0) if allowed is not None else s
                want = sorted((-float(ref[i]), i) for i in range(len(rows)) if ref[i] != 0)[:k]
                assert matched == int(np.count_nonzero(ref))
                assert [(pid, round(sc, 5)) for pid, sc in got] == \
                       [(idx.ids[i], round(-sc, 5)) for sc, i in want]
