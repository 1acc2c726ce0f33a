"""SearchEngine on a small corpus written here: ranking, merging, filters, highlights,
sorting, pagination, similar papers and incremental vectors (a real store of each backend,
hashing embedder)."""

import datetime as dt

import numpy as np
import pytest

from papersift.model import Enrichment, Paper, Provenance
from papersift.search.embed import HashingEmbedder
from papersift.search.engine import SearchEngine, SearchQuery
from papersift.search.highlight import text_of
from papersift.search.index import build_vectors

D = dt.date


def P(aid, title, abstract, authors=("A. Author",), day=None, upvotes=None, cats=("cs.LG",),
      source="arxiv", pid=""):
    return Paper(id=pid, arxiv_id=aid, title=title, abstract=abstract, authors=list(authors),
                 published=day, upvotes=upvotes, categories=list(cats),
                 sources=[Provenance(source=source, ref="test")])


CORPUS = [
    P("2501.00001", "On student-teacher deviations in distillation: does it pay to disobey?",
      "Knowledge distillation students systematically exaggerate the confidence of the teacher; "
      "KD exaggerates the implicit bias of gradient descent.",
      ["Vaishnavh Nagarajan", "Aditya Menon"], D(2025, 1, 3), 40, ["cs.LG"]),
    P("2501.00002", "Influence functions for training data selection",
      "We use influence functions to select the most useful training examples for fine-tuning.",
      ["Pang Wei Koh"], D(2025, 2, 1), 12, ["cs.LG", "stat.ML"]),
    P("2501.00003", "Introspection in large language models",
      "Can language models report on their own internal states? We test introspection.",
      ["Jack Lindsey"], D(2025, 3, 1), 90, ["cs.CL"], source="hf"),
    P("2501.00004", "Diffusion models for image synthesis",
      "Denoising diffusion probabilistic models generate high quality images.",
      ["Jonathan Ho"], D(2024, 6, 1), 5, ["cs.CV"]),
    P("2501.00005", "Scaling laws for neural language models",
      "Loss scales as a power law with model size, dataset size and compute.",
      ["Jared Kaplan"], D(2024, 1, 20), 70, ["cs.CL"], source="hf"),
    P("2501.00006", "Reinforcement learning from human feedback",
      "We fine-tune language models with a reward model trained on human preferences.",
      ["Paul Christiano"], D(2025, 2, 15), 30, ["cs.AI"]),
    # Same title as the first paper, different authors: the store keeps it apart,
    # search must still show the title once.
    P(None, "On student-teacher deviations in distillation: does it pay to disobey?",
      "Knowledge distillation has been widely used; the student exaggerates the teacher.",
      ["Someone Else"], D(2025, 1, 4), 3, [], source="listing"),
]


@pytest.fixture()
def store(make_store):
    s = make_store()
    s.upsert_papers(CORPUS)
    s.save_enrichment(Enrichment(paper_id="2501.00002", method="offline", tags=["data", "training"]))
    s.save_enrichment(Enrichment(paper_id="2501.00006", method="offline", tags=["rlhf", "training"]))
    return s


@pytest.fixture()
def engine(store):
    emb = HashingEmbedder()
    build_vectors(store, emb)
    return SearchEngine(store, emb)


@pytest.mark.parametrize("q, first", [
    ("exaggeration", "2501.00001"),
    ("influence functions data selection", "2501.00002"),
    ("introspection", "2501.00003"),
    ("scaling law", "2501.00005"),
    ("RLHF human feedback reward", "2501.00006"),
    ("author:kaplan", "2501.00005"),
])
@pytest.mark.parametrize("mode", ["hybrid", "lexical"])
def test_right_paper_first(engine, q, first, mode):
    res = engine.search(SearchQuery(q=q, mode=mode))
    assert res.hits and res.hits[0].id == first


def test_same_title_shown_once(engine, store):
    assert store.count_papers() == 7  # different authors: stored as two papers
    res = engine.search(SearchQuery(q="exaggeration distillation"))
    titles = [h.paper.title for h in res.hits]
    assert titles.count(CORPUS[0].title) == 1
    assert len(res.hits[0].duplicates) == 1
    assert res.total == len(res.hits)


def test_highlights_concatenate_to_original_and_mark_stems(engine):
    hit = engine.search(SearchQuery(q="exaggeration", mode="lexical")).hits[0]
    assert text_of(hit.highlightedTitle) == hit.paper.title
    assert text_of(hit.highlightedSummary) == hit.paper.abstract
    marked = {s["text"].lower() for s in hit.highlightedSummary if s["type"] == "highlight"}
    assert {"exaggerate", "exaggerates"} <= marked  # porter stemming, as the ranking
    assert any(s["type"] == "highlight" for s in hit.snippet)
    dumped = hit.model_dump(mode="json")
    assert dumped["highlightedTitle"][0]["type"] in ("text", "highlight")


@pytest.mark.parametrize("mode", ["hybrid", "lexical", "semantic"])
def test_filters_are_exact(engine, mode):
    def ids(**kw):
        return {h.id for h in engine.search(SearchQuery(q="models language data", mode=mode,
                                                        limit=50, **kw)).hits}
    cases = [
        (dict(date_from=D(2025, 2, 1), date_to=D(2025, 2, 28)), {"2501.00002", "2501.00006"}),
        (dict(tags=["#RLHF"]), {"2501.00006"}),
        (dict(min_upvotes=60), {"2501.00003", "2501.00005"}),
        (dict(sources=["hf"]), {"2501.00003", "2501.00005"}),
        (dict(categories=["stat.ML"]), {"2501.00002"}),
        (dict(tags=["nonexistent"]), set()),
    ]
    for kw, allowed in cases:
        got = ids(**kw)
        assert got <= allowed, kw
        if mode != "semantic":  # every allowed paper holds a query word: lexical finds all
            assert got == allowed, kw


def test_filters_exact_without_query(engine):
    res = engine.search(SearchQuery(date_from=D(2025, 1, 1), sort="date", limit=50))
    assert res.mode == "browse"
    days = [h.paper.day for h in res.hits]
    assert days == sorted(days, reverse=True) and min(days) >= D(2025, 1, 1)
    assert res.total == 5
    assert [h.id for h in engine.search(SearchQuery(tags=["training"], sort="upvotes")).hits] == [
        "2501.00006", "2501.00002"]


def test_sort_and_pagination(engine):
    q = "models"
    full = engine.search(SearchQuery(q=q, mode="lexical", sort="upvotes", limit=50))
    ups = [h.paper.upvotes or 0 for h in full.hits]
    assert ups == sorted(ups, reverse=True)
    page2 = engine.search(SearchQuery(q=q, mode="lexical", sort="upvotes", limit=1, offset=1))
    assert page2.hits[0].id == full.hits[1].id and page2.total == full.total
    by_date = engine.search(SearchQuery(q=q, mode="lexical", sort="date", limit=50))
    days = [h.paper.day for h in by_date.hits]
    assert days == sorted(days, reverse=True)


def test_total_counts_all_lexical_matches_beyond_depth(make_store):
    s = make_store("many")
    s.upsert_papers(Paper(arxiv_id=f"2502.{i:05d}", title=f"Transformer variant {i}",
                          abstract="A transformer.") for i in range(130))
    res = SearchEngine(s).search(SearchQuery(q="transformer", limit=5, offset=100))
    assert res.total == 130 and len(res.hits) == 5


def test_tags_and_found_by_on_hits(engine):
    hit = engine.search(SearchQuery(q="influence functions")).hits[0]
    assert hit.tags == ["data", "training"]
    assert "lexical" in hit.found_by


def test_similar_excludes_itself_and_its_duplicates(engine):
    res = engine.similar("https://arxiv.org/abs/2501.00001v2", limit=3)
    ids = [h.id for h in res.hits]
    assert "2501.00001" not in ids and len(ids) == 3
    assert all(h.paper.title != CORPUS[0].title for h in res.hits)
    with pytest.raises(KeyError):
        engine.similar("9999.99999")


def test_similar_falls_back_to_lexical_without_vectors(store):
    res = SearchEngine(store).similar("2501.00005", limit=2)
    assert res.mode == "lexical" and res.hits[0].id == "2501.00003"  # "language models"


def test_vectors_are_incremental_and_engine_reloads(store):
    emb = HashingEmbedder(64)
    first = build_vectors(store, emb)
    assert (first.papers, first.embedded) == (7, 7)
    engine = SearchEngine(store, emb)
    assert engine.semantic_ready() and len(engine.vectors) == 7
    again = build_vectors(store, emb)
    assert (again.embedded, again.unchanged) == (0, 7)
    store.upsert_papers([P("2501.00004", "Diffusion models for video synthesis",
                           "Video diffusion.", ["Jonathan Ho"], D(2024, 6, 1)),
                         P("2501.00009", "Mixture of experts routing", "Sparse experts.")])
    third = build_vectors(store, emb)
    assert (third.embedded, third.unchanged) == (2, 6)
    assert engine.search(SearchQuery(q="mixture experts", mode="semantic")).hits[0].id == "2501.00009"
    ids, mat = store.load_vectors(emb.key)
    assert mat.dtype == np.float32 and mat.shape == (8, 64)
    assert np.allclose(np.linalg.norm(mat, axis=1), 1.0, atol=1e-5)


def test_hybrid_without_vectors_runs_lexical(store):
    res = SearchEngine(store, HashingEmbedder()).search(SearchQuery(q="introspection"))
    assert res.mode == "lexical" and res.hits[0].id == "2501.00003"
