"""Search answered by PostgreSQL (search/pg_engine.py over store/postgres/ranking.py): the
same results shape as the in-memory engine, filters in SQL, hostile text safe, and a
running server finds a paper written after it started."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import time

import httpx
import pytest
from support.serve import start_serve
from support.site_fixture import fill_site_store, open_site_store

from papersift.model import Paper
from papersift.search.embed import HashingEmbedder
from papersift.search.engine import SearchEngine, SearchQuery
from papersift.search.engines import make_engine
from papersift.search.index import build_vectors
from papersift.search.pg_engine import DatabaseSearchEngine
from papersift.search.query_cache import QueryCache
from papersift.store.postgres import PostgresStore

SEMANTIC_Q = "Robot policy paper: we study problem with a new method; results improve on baselines"
HOSTILE = ["a & b | !c", "'quoted' \"half", "back\\slash \\\\ \\'", "robot:* <-> (policy",
           "author:\"O'Brien\\\"", "x" * 255, "policy " * 36, "::text); DROP TABLE papers; --"]


@pytest.fixture
def pg_url(pg_databases):
    name = pg_databases.create()
    yield pg_databases.url(name)
    pg_databases.drop(name)


@pytest.fixture
def pg_store(pg_url):
    s = PostgresStore(pg_url)
    fill_site_store(s)
    build_vectors(s, HashingEmbedder(64))
    yield s
    s.close()


def test_the_database_ranks_lexical_semantic_and_hybrid(pg_store, tmp_path):
    engine = make_engine(pg_store, HashingEmbedder(64))
    assert isinstance(engine, DatabaseSearchEngine)
    for mode in ("lexical", "semantic", "hybrid"):
        # (the hashing embedder's similarities pass fusion's floor only for near copies)
        res = engine.search(SearchQuery(q=SEMANTIC_Q, mode=mode, limit=5))
        assert res.mode == mode and res.hits, mode
        assert any("Robot" in h.paper.title for h in res.hits)
    memory = SearchEngine(open_site_store(tmp_path / "same.db"), None)
    for q in ("robot policy", '"sparse diffusion"', "author:shared study", "paper"):
        pg = engine.search(SearchQuery(q=q, mode="lexical", limit=50))
        mem = memory.search(SearchQuery(q=q, mode="lexical", limit=50))
        assert pg.total == mem.total > 0, q  # the same papers match; ranks may differ
        assert {h.id for h in pg.hits} == {h.id for h in mem.hits}, q
        assert any(span.get("type") == "highlight" for h in pg.hits for span in
                   [*map(dict, h.highlightedTitle), *map(dict, h.snippet)]), q


def test_hybrid_asks_the_vector_index_beside_bm25_with_cached_vectors_too(pg_store):
    # a serving engine's QueryCache: the second search takes the cached vector, and the
    # semantic half still runs on the second thread (semantic_beside), with equal results
    engine = make_engine(pg_store, QueryCache(HashingEmbedder(64)))
    assert engine.semantic_beside
    first = engine.search(SearchQuery(q=SEMANTIC_Q, mode="hybrid", limit=5))
    again = engine.search(SearchQuery(q=SEMANTIC_Q, mode="hybrid", limit=5))
    assert engine.embedder.hits >= 1  # type: ignore[union-attr]
    assert first.mode == again.mode == "hybrid" and first.hits
    assert [(h.id, h.score, h.found_by) for h in first.hits] == [(h.id, h.score, h.found_by) for h in again.hits]
    assert any("semantic" in h.found_by for h in again.hits)


def test_filters_are_applied_in_sql(pg_store):
    engine = make_engine(pg_store, HashingEmbedder(64))
    for mode in ("lexical", "hybrid"):
        res = engine.search(SearchQuery(q="study method", mode=mode, tags=["rl"], limit=50,
                                        date_from=dt.date(2025, 2, 6), date_to=dt.date(2025, 2, 7)))
        assert res.hits, mode
        for h in res.hits:
            assert "rl" in h.tags
            assert dt.date(2025, 2, 6) <= (h.paper.hf_date or dt.date.min) <= dt.date(2025, 2, 7)
    by_date = engine.search(SearchQuery(q="study", sort="date", limit=50))
    days = [h.paper.hf_date for h in by_date.hits]
    assert days == sorted(days, reverse=True)


def test_hostile_queries_are_text(pg_store):
    engine = make_engine(pg_store, HashingEmbedder(64))
    for q in HOSTILE:
        for mode in ("lexical", "hybrid"):
            engine.search(SearchQuery(q=q, mode=mode, limit=5))  # no error is the test
    assert pg_store.count_papers() == 22


def test_similar_uses_the_vector_index(pg_store):
    engine = make_engine(pg_store, HashingEmbedder(64))
    res = engine.similar("2502.00001", limit=5)
    assert res.mode == "semantic" and res.hits
    assert all(h.id != "2502.00001" for h in res.hits)


def test_a_serving_replica_finds_a_paper_written_after_it_started(pg_store, pg_url, tmp_path):
    env = {**os.environ, "PAPERSIFT_DATA_DIR": str(tmp_path), "PAPERSIFT_EMBEDDER": "hash64",
           "PAPERSIFT_DB": pg_url, "PAPERSIFT_SITE_DIR": str(tmp_path / "site"),
           "PAPERSIFT_CONFIG": str(tmp_path / "none.toml")}
    (tmp_path / "site").mkdir()
    proc, base = start_serve(env, tmp_path)
    try:
        with httpx.Client(base_url=base, timeout=30) as c:
            r = c.get("/api/search", params={"q": SEMANTIC_Q})
            assert r.status_code == 200 and r.json()["total"] > 0, r.text
            for q in HOSTILE:
                assert c.get("/api/search", params={"q": q}).status_code in (200, 422)
            r = c.get("/api/search", params={"q": "policy", "tags": "rl", "from": "2025-02-06",
                                             "to": "2025-02-07"})
            assert r.status_code == 200
            assert c.get("/api/search", params={"q": "wombat"}).json()["total"] == 0
            pg_store.upsert_papers([Paper(arxiv_id="2503.00001", title="Wombat burrow mapping",
                                          abstract="Wombats dig burrows.", hf_date=dt.date(2025, 3, 3))])
            deadline = time.monotonic() + 30
            total = 0
            while time.monotonic() < deadline and not total:
                total = c.get("/api/search", params={"q": "wombat"}).json()["total"]
                time.sleep(0.2)
            assert total == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
