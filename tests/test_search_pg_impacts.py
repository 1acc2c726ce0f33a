"""The impact-ordered postings (store/postgres/impacts.py, impact_query.py) give a big table
BM25's exact top k: the same papers and scores as scoring every match, read a few entries
at a time so that bounds decide, with filters and phrases, for papers stored after the
build and merged in later, and never with postings made for other BM25 settings."""

from __future__ import annotations

import random

import numpy as np
import pytest

from papersift.model import Paper
from papersift.search.lexical import BM25Params
from papersift.search.query import parse_query
from papersift.store.base import SearchFilters
from papersift.store.postgres import PostgresStore, impact_query
from papersift.store.postgres import impacts as impacts_mod
from papersift.store.postgres.impacts import IMP, SEQ, build_impacts

# A skewed vocabulary: the first words are in most papers, the last in a few.
VOCAB = ["model", "learning", "network", "robot", "policy", "graph", "vision", "reward",
         "language", "token", "sparse", "kernel", "quokka", "numbat", "wombat", "bilby",
         "diffusion", "agent", "memory", "tensor", "search", "index", "camera", "speech",
         "protein", "molecule", "weather", "ocean", "planet", "galaxy", "music", "poem"]
DEFAULT = BM25Params()
DAYS = ["2025-05-01", "2025-06-15", "2025-09-30"]


def _papers(n: int, start: int = 0, seed: int = 5) -> list[Paper]:
    rng = random.Random(seed)
    weights = [1 / (i + 1) ** 1.1 for i in range(len(VOCAB))]
    out = []
    for i in range(start, start + n):
        title = " ".join(rng.choices(VOCAB, weights, k=rng.randint(2, 4)))
        abstract = " ".join(rng.choices(VOCAB, weights, k=rng.randint(3, 14)))
        out.append(Paper(arxiv_id=f"2505.{i:05d}", title=title.capitalize(), abstract=abstract + ".",
                         authors=[f"Author Number{i % 7}"], published=DAYS[i % 3], upvotes=i % 11))
    return out


@pytest.fixture
def pg(pg_databases):
    name = pg_databases.create()
    s = PostgresStore(pg_databases.url(name))
    s.upsert_papers(_papers(240))
    yield s
    s.close()
    pg_databases.drop(name)


def _build(store: PostgresStore, params: BM25Params = DEFAULT) -> None:
    with store.pool.connection() as c:
        c.autocommit = True
        build_impacts(c, params)
    store.__dict__.pop("_impacts_cache", None)


def _ranked(store: PostgresStore, q: str, k: int, filters=None, params=DEFAULT, big=False):
    store.exact_below = 1 if big else type(store).exact_below
    try:
        return store.lexical_ranked(parse_query(q), filters, k, params)
    finally:
        store.exact_below = type(store).exact_below


def _same_top(got, exact, every, why, rel=1e-5) -> None:
    """The same scores in the same order, each paper's its own: papers tied on the k-th
    score may differ (the lists order ties by insertion, the answer by id). rel: papers
    stored since the build move the average length, which the lists keep (impacts.py)."""
    assert [s for _, s in got] == pytest.approx([s for _, s in exact], rel=rel), why
    assert all(every[p] == pytest.approx(s, rel=rel) for p, s in got), why
    kth = exact[-1][1] if exact else None
    assert [p for p, s in got if s != pytest.approx(kth, rel=rel)] == \
        [p for p, s in exact if s != pytest.approx(kth, rel=rel)], why


def got_of(pg, q, k, filters=None):
    return _ranked(pg, q, k, filters, big=True)[0]


def _check(pg, q, k, filters=None, rel=1e-5) -> tuple[list[str], tuple[int, int]]:
    """Rank q by the lists and by scoring every match and compare: the same answer when
    the bounds proved it (or the lists declined), else the best candidates, each with its
    own score. Returns how the lists answered and both match counts."""
    exact, n_exact = _ranked(pg, q, k, filters)
    every = dict(_ranked(pg, q, 1000, filters)[0])
    before = dict(pg.impact_counts)
    got, n_got = _ranked(pg, q, k, filters, big=True)
    how = [h for h in ("exact", "bounded") if pg.impact_counts[h] != before.get(h, 0)]
    if how == ["exact"] or not how:
        _same_top(got, exact, every, (q, k, filters), rel)
    else:
        assert len(got) == len(exact) and all(
            every[p] == pytest.approx(s, rel=rel) for p, s in got), (q, k)
        assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)
    return how, (n_exact, n_got)


QUERIES = ["model", "robot policy", "quokka model learning", "numbat wombat", "bilby",
           "language token sparse kernel graph", '"robot policy"', '"model learning" quokka',
           "aardvark", "aardvark robot"]


@pytest.mark.parametrize("depth", [3, 20, 1000])
def test_the_lists_give_the_exact_top_k(pg, depth, monkeypatch):
    monkeypatch.setattr(impact_query, "READ_FIRST", depth)  # entries read first per lexeme
    _build(pg)
    seen = {"exact": 0, "bounded": 0}
    for q in QUERIES:
        for k in (1, 5, 20):
            for filters in (None, SearchFilters(min_upvotes=5)):
                how, (n_exact, n_got) = _check(pg, q, k, filters)
                seen.update({h: seen[h] + 1 for h in how})
                # the count: exact, or without filters the largest df, or (phrase, filters)
                # the papers the postings checked, a lower bound
                assert n_got == n_exact or (filters is None and not q.startswith('"')) \
                    or len(got_of(pg, q, k, filters)) <= n_got <= n_exact, (q, k, n_got, n_exact)
    # reading deeper where a prefix cannot settle it, every answer is proven
    assert seen["bounded"] == 0 and seen["exact"] >= 50, seen


def test_the_impact_path_answers_and_reads_few_papers(pg, monkeypatch):
    _build(pg)
    scored: list[int] = []
    real = PostgresStore.score_exact

    def spy(self, seqs, *a, **kw):
        scored.append(len(seqs))
        return real(self, seqs, *a, **kw)

    monkeypatch.setattr(PostgresStore, "score_exact", spy)
    got, _ = _ranked(pg, "quokka model", 5, big=True)
    assert got and scored, "the lists answered"
    # no tsvector read: every paper's score is in the postings (one lexeme per word)
    assert sum(scored) == 0, scored
    monkeypatch.setattr(impact_query, "READ_FIRST", 2)
    scored.clear()
    got2, _ = _ranked(pg, "quokka model", 5, big=True)
    assert [p for p, _ in got2] == [p for p, _ in got]
    assert [s for _, s in got2] == pytest.approx([s for _, s in got], rel=1e-6)
    holders = pg._one("SELECT count(*) FROM paper_fts WHERE tsv @@ 'model'::tsquery")[0]
    assert sum(scored) < holders  # from a short prefix, only the papers bounds leave open


def test_papers_stored_after_the_build_are_ranked(pg):
    _build(pg)
    pg.upsert_papers([Paper(arxiv_id="2506.00001", title="Quokka quokka quokka model",
                            abstract="Quokka quokka.", authors=["A B"], published="2025-07-01")])
    got, _ = _ranked(pg, "quokka model", 3, big=True)
    exact, _ = _ranked(pg, "quokka model", 3)
    assert got[0][0] == "2506.00001" == exact[0][0]
    _same_top(got, exact, dict(_ranked(pg, "quokka model", 1000)[0]), "delta", rel=1e-3)


def test_too_many_new_papers_fall_back_to_the_tsvectors(pg, monkeypatch):
    _build(pg)
    pg.upsert_papers(_papers(30, start=500, seed=9))
    monkeypatch.setattr(impact_query, "DELTA_CAP", 2)
    assert pg.impact_ranked([("model", "'model' | 'model'", 1.0)], None, [], ("true", []),
                            BM25Params(), 5) is None
    exact, _ = _ranked(pg, "robot model", 5)
    _same_top(_ranked(pg, "robot model", 5, big=True)[0], exact,
              dict(_ranked(pg, "robot model", 1000)[0]), "fallback")


def test_lists_of_other_settings_are_not_used(pg):
    _build(pg, BM25Params(0.9, 0.4, (1.0, 1.0, 1.0)))
    assert pg.impact_ranked([("model", "'model'", 1.0)], None, [], ("true", []),
                            BM25Params(), 5) is None
    params = BM25Params(0.9, 0.4, (1.0, 1.0, 1.0))
    for q in ("robot policy", '"model learning"'):
        exact, _ = _ranked(pg, q, 5, params=params)
        got, _ = _ranked(pg, q, 5, params=params, big=True)
        assert [s for _, s in got] == pytest.approx([s for _, s in exact], rel=1e-5)


def test_refresh_builds_merges_and_rebuilds(pg, monkeypatch):
    monkeypatch.setattr(impact_query, "READ_FIRST", 3)
    built = pg.refresh_impacts(DEFAULT)  # none yet
    assert built is not None and built["papers"] == 240
    assert pg.refresh_impacts(DEFAULT) is None  # nothing new
    pg.upsert_papers(_papers(40, start=900, seed=3))
    merged = pg.refresh_impacts(DEFAULT)
    assert merged is not None and "merged" in merged and merged["built"] == built["built"]
    assert merged["papers"] == 280 == pg.count_papers()
    assert merged["seq"] == pg._one("SELECT max(seq) FROM papers")[0]
    # Each row holds every paper of its lexeme in impact order, at the build's average.
    postings, args = impacts_mod.postings_sql(DEFAULT, merged["avg"])
    truth: dict[str, list[tuple[float, int]]] = {}
    for lx, seq, imp in pg._all(f"SELECT * FROM ({postings}) a", {**args, "lo": 0, "hi": merged["seq"]}):
        truth.setdefault(lx, []).append((-imp, seq))
    have = {r[0]: r[1:] for r in pg._all("SELECT lexeme, df, seqs, imps FROM lexeme_impacts")}
    assert have.keys() == truth.keys()
    for lx, entries in truth.items():
        entries.sort()
        df, seqs, imps = have[lx]
        assert df == len(entries), lx
        assert np.frombuffer(seqs, SEQ).tolist() == [q for _, q in entries], lx
        assert np.frombuffer(imps, IMP).tolist() == pytest.approx([-i for i, _ in entries], rel=1e-6), lx
    pg.__dict__.pop("_impacts_cache", None)
    assert all(_check(pg, q, 5, rel=1e-2)[0] == ["exact"] for q in QUERIES if q != "aardvark")
    # Past REBUILD_GROWTH since the build, the postings are built whole again.
    pg.upsert_papers(_papers(80, start=2000, seed=4))
    again = pg.refresh_impacts(DEFAULT)
    assert again is not None and "merged" not in again, again
    assert again["built_papers"] == pg.count_papers() > 300


def test_a_process_reads_a_lexemes_postings_once(pg, monkeypatch):
    _build(pg)
    reads: list[str] = []
    real = PostgresStore._all

    def spy(self, query, params=None):
        if "FROM lexeme_impacts l JOIN" in str(query):
            reads.append(query)
        return real(self, query, params)

    monkeypatch.setattr(PostgresStore, "_all", spy)
    first = _ranked(pg, "quokka model", 5, big=True)
    assert reads
    reads.clear()
    assert _ranked(pg, "quokka model", 5, big=True) == first and not reads  # from the cache
    pg.upsert_papers([Paper(arxiv_id="2506.00002", title="Quokka model", abstract="Quokka.",
                            authors=["C D"])])
    pg.refresh_impacts(DEFAULT)  # merged: a new watermark, so the cached fronts are stale
    got, _ = _ranked(pg, "quokka model", 5, big=True)
    assert reads and "2506.00002" in [p for p, _ in got]


def test_the_postings_cache_keeps_the_most_recent_entries():
    cache = impacts_mod.PostingsCache(entries=10)
    row = (6, np.arange(6), np.ones(6))
    cache.put(("a", "1"), row)
    cache.put(("b", "1"), row)  # 12 > 10: "a" goes
    assert cache.get(("a", "1")) is None and cache.get(("b", "1")) is row


def test_papersift_index_builds_the_postings_then_merges(pg, tmp_path):
    from papersift.config import Settings
    from papersift.search.indexing import run_index

    settings = Settings(data_dir=tmp_path, db=pg.url, embedder="none")
    report = run_index(pg, settings)
    assert report.impacts_seconds is not None and "impact postings built" in report.summary()
    meta = pg._impacts_meta(fresh=True)
    assert meta is not None and meta["papers"] == pg.count_papers()
    assert run_index(pg, settings).impacts_seconds is None  # nothing new
    pg.upsert_papers(_papers(3, start=700, seed=8))
    assert run_index(pg, settings).impacts_seconds is not None  # merged
    assert pg._impacts_meta(fresh=True)["seq"] == pg._one("SELECT max(seq) FROM papers")[0]


def test_status_tells_how_far_behind_the_postings_are(pg, tmp_path):
    from papersift.status import day_statuses

    assert day_statuses(pg, site_dir=tmp_path).postings == {}  # none built
    pg.refresh_impacts(DEFAULT)
    report = day_statuses(pg, site_dir=tmp_path)
    assert report.postings is not None and report.postings["papers"] == 240
    assert report.postings["late"] == 0
    pg.upsert_papers(_papers(2, start=800, seed=6))
    report = day_statuses(pg, site_dir=tmp_path)
    assert report.postings["late"] == 2 and report.as_json()["lexical_postings"]["late"] == 2
