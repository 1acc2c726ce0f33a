"""PostgreSQL's BM25 (store/postgres/ranking.py) is the in-memory index's BM25: the same
scores on text both tokenizers split alike, title above abstract, rare words above common
ones, and a paper is ranked as soon as its transaction commits."""

from __future__ import annotations

import pytest

from papersift.model import Paper
from papersift.search.lexical import BM25Index, BM25Params
from papersift.search.query import parse_query
from papersift.store.base import SearchFilters
from papersift.store.postgres import PostgresStore

# Plain words only: PostgreSQL's parser and search/lexical.py's WORD split them alike, and
# snowball's English stemmer agrees with porter on them.
TEXTS = [
    ("Robot policy learning", "We learn a robot policy from demonstrations and rewards."),
    ("Policy gradients revisited", "Gradient estimates for policy optimisation have high variance."),
    ("Graph neural networks", "Message passing over graphs with neural networks."),
    ("Reward shaping", "Dense rewards speed up learning; sparse rewards are hard for a robot."),
    ("Vision transformers", "Images are cut into patches; transformers attend over the patches."),
    ("Language models", "Large language models learn from text at scale, policy or not."),
]


@pytest.fixture
def pg(pg_databases):
    name = pg_databases.create()
    s = PostgresStore(pg_databases.url(name))
    yield s
    s.close()
    pg_databases.drop(name)


def _fill(store: PostgresStore, texts: list[tuple[str, str]], start: int = 0) -> None:
    store.upsert_papers(Paper(arxiv_id=f"2505.{start + i:05d}", title=t, abstract=a,
                              authors=[f"Author Number{start + i}"]) for i, (t, a) in enumerate(texts))


@pytest.mark.parametrize("q", ["robot policy", "rewards learning", "neural graphs message",
                               "patches", '"policy learning" robot'])
@pytest.mark.parametrize("params", [BM25Params(), BM25Params(0.9, 0.4, (1.0, 1.0, 1.0))])
def test_scores_are_the_in_memory_bm25(pg, q, params):
    _fill(pg, TEXTS)
    idx = BM25Index.build(list(pg.search_texts(with_authors=True)), "v", params)
    parsed = parse_query(q)
    words = parsed.highlight_terms if parsed.phrases else parsed.terms
    allowed = idx.mask(pg.lexical_match_ids(parsed)) if parsed.phrases else None
    mem, mem_count = idx.top(words, 10, allowed)
    got, count = pg.lexical_ranked(parsed, None, 10, params)
    assert count == mem_count > 0
    assert dict(got) == pytest.approx(dict(mem), rel=1e-4)


def test_a_title_match_ranks_above_an_abstract_match(pg):
    _fill(pg, [("Wombat ecology", "Field notes from a survey of burrows."),
               ("Field notes", "Wombat ecology from a survey of burrows.")])
    got, _ = pg.lexical_ranked(parse_query("wombat"), None, 10)
    assert [p for p, _ in got] == ["2505.00000", "2505.00001"]
    assert got[0][1] > got[1][1]


def test_a_rare_word_outweighs_a_common_one(pg):
    # "study" is in every paper, "quokka" in one: a paper with quokka beats one with study
    # said twice, though both match the query once or more.
    _fill(pg, [("Quokka study", "Notes on an island."), ("Study study", "Notes on an island.")]
          + [(f"Study number {i}", "Notes on an island.") for i in range(8)])
    got, count = pg.lexical_ranked(parse_query("quokka study"), None, 3)
    assert count == 10
    assert got[0][0] == "2505.00000"
    assert got[0][1] > 2 * got[1][1]


def test_a_written_paper_is_ranked_at_once(pg):
    _fill(pg, TEXTS)
    assert pg.lexical_ranked(parse_query("robot numbat"), None, 10)[1] == 2  # caches warmed
    _fill(pg, [("Numbat foraging", "A robot follows a numbat.")], start=len(TEXTS))
    got, count = pg.lexical_ranked(parse_query("robot numbat"), None, 10)
    assert count == 3
    assert got[0][0] == f"2505.{len(TEXTS):05d}"  # the only paper with both words


def test_the_length_of_a_paper_counts_every_field(pg):
    _fill(pg, [("Three title words", "and five abstract words here")])
    row = pg._one("SELECT doc_len FROM paper_fts")
    assert row is not None and row[0] == 3 + 5 + 2  # + "Author Number0"


@pytest.mark.parametrize("q", ["robot policy", "rewards learning robot", "quokka study",
                               "neural networks patches"])
def test_scoring_the_rarest_words_first_changes_nothing(pg, q):
    _fill(pg, TEXTS)
    _fill(pg, [("Quokka study", "Notes on an island.")]
          + [(f"Study number {i}", "Notes on a robot island.") for i in range(8)], start=len(TEXTS))
    parsed = parse_query(q)
    for k in (1, 2, 5, 20):
        whole = pg.lexical_ranked(parsed, None, k)
        pg.lexical_budget = 1  # every query over the budget: rarest word first, then the bound
        bounded = pg.lexical_ranked(parsed, None, k)
        pg.lexical_budget = type(pg).lexical_budget
        assert bounded[1] == whole[1] > 0, k
        assert [p for p, _ in bounded[0]] == [p for p, _ in whole[0]], k
        assert dict(bounded[0]) == pytest.approx(dict(whole[0]), rel=1e-6), k


def _common(store: PostgresStore, n: int) -> None:
    """n papers that all hold "study"; every fifth has "quokka" in its abstract, and paper
    0 has both words in its title."""
    _fill(store, [("Quokka study", "Notes on an island.")]
          + [(f"Study number {i}", "A quokka island." if i % 5 == 0 else "Notes on an island.")
             for i in range(1, n)])


def test_words_too_common_to_score_every_match_rank_title_holders_exactly(pg):
    _common(pg, 30)
    parsed = parse_query("quokka study")
    whole, count = pg.lexical_ranked(parsed, None, 30)
    # a big table over the cap: k candidates only
    pg.lexical_cap, pg.approx_candidates, pg.exact_below = 1, 1, 1
    got, bounded_count = pg.lexical_ranked(parsed, None, 3)
    assert bounded_count == count == 30
    # the candidates (title holding both words first) are scored as every match is
    assert [p for p, _ in got] == ["2505.00000", *(p for p, _ in got[1:])] and len(got) == 3
    assert dict(got) == pytest.approx({p: s for p, s in whole if p in dict(got)}, rel=1e-6)


def test_a_count_past_its_cap_is_a_lower_bound(pg):
    _common(pg, 30)
    pg.count_cap, pg.lexical_budget = 4, 1  # the bounded path counts apart from ranking
    _, count = pg.lexical_ranked(parse_query("quokka study"), None, 3)
    assert count == 30  # no filters: the commonest word's document frequency
    pg.lexical_cap, pg.exact_below = 1, 1
    _, count = pg.lexical_ranked(parse_query("quokka study"), SearchFilters(min_upvotes=0), 3)
    assert count == 4


def test_a_big_table_samples_its_statistics_and_estimates_common_words(pg):
    _common(pg, 40)
    exact = (pg._corpus_stats(), pg._word_stats(["study", "quokka"], 40))
    assert exact[1]["study"][1] == 40
    for cache in ("_corpus_cache", "_df_cache", "_mce_cache"):
        pg.__dict__.pop(cache, None)
    with pg._tx() as c:
        c.execute("ANALYZE paper_fts")
    pg.exact_below = 1  # as if big: the planner's count, a sample, ANALYZE's common words
    n, avg = pg._corpus_stats()
    assert (n, avg) == pytest.approx(exact[0])  # the sample is every page of a small table
    stats = pg._word_stats(["study", "quokka"], n)
    assert stats["study"][1] == pytest.approx(40)  # ANALYZE's share, 1.0, times n
    assert stats["quokka"][1] == pytest.approx(exact[1]["quokka"][1]) == 8
