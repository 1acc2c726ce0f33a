"""Vector builds that stop and resume, search while a build is partial, recipes recorded."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from papersift.model import Paper
from papersift.search.embed import HashingEmbedder, recipe, vector_key
from papersift.search.engine import SearchEngine, SearchQuery
from papersift.search.index import LocalBacklog, build_vectors, vector_recipe, vectors_version_key
from papersift.search.query import parse_query
from papersift.store import open_store

TOPICS = ["graph neural networks for molecules", "speech recognition in noisy rooms",
          "reinforcement learning for robot grasping", "protein structure prediction",
          "sparse mixture of experts routing", "diffusion models for video synthesis",
          "retrieval augmented question answering"]


def papers(n: int) -> list[Paper]:
    return [Paper(arxiv_id=f"2501.{i:05d}", title=f"{TOPICS[i % len(TOPICS)]} part {i}",
                  abstract=f"We study {TOPICS[i % len(TOPICS)]} and report result {i}. " * (1 + i % 4))
            for i in range(n)]


class StopsAfter(HashingEmbedder):
    """A real hashing embedder whose process is stopped (Ctrl-C) during its `calls`+1-th batch."""

    def __init__(self, calls: int, dim: int = 64):
        super().__init__(dim)
        self.calls = calls

    def embed(self, texts):
        if self.calls == 0:
            raise KeyboardInterrupt
        self.calls -= 1
        return super().embed(texts)


def test_a_stopped_build_keeps_its_batches_publishes_them_and_resumes(store):
    store.upsert_papers(papers(10))
    with pytest.raises(KeyboardInterrupt):
        build_vectors(store, StopsAfter(calls=2), batch=3)
    emb = HashingEmbedder(64)
    assert len(store.vector_hashes(emb.key)) == 6  # two committed batches; the third was lost
    engine = SearchEngine(store, emb)
    res = engine.search(SearchQuery(q="protein structure prediction"))
    # Published on the way out: search already uses the six vectors, BM25 ranks the rest.
    assert res.mode == "hybrid" and res.semantic_coverage == pytest.approx(0.6)
    rest = build_vectors(store, emb, batch=3)
    assert (rest.embedded, rest.unchanged, rest.complete) == (4, 6, True)
    assert engine.search(SearchQuery(q="protein structure prediction")).semantic_coverage == 1.0


def test_papers_without_vectors_rank_as_bm25_ranks_them(store):
    """Fusion over a partial index: a missing vector is not a bad semantic score."""
    store.upsert_papers(papers(6))
    emb = HashingEmbedder(64)
    build_vectors(store, emb)
    engine = SearchEngine(store, emb)
    engine.semantic_ready()
    without = "2501.00000"
    store.delete_vectors(emb.key, [without])
    store.set_meta(vectors_version_key(emb.key), "after-delete")
    engine.semantic_ready()
    assert without not in engine.vectors.row and "2501.00001" in engine.vectors.row
    lex = [(without, 10.0), ("2501.00001", 8.0), ("2501.00002", 2.0)]
    sem = [("2501.00001", 0.9), ("2501.00002", 0.5)]
    fused = dict(engine.fuse(lex, sem))
    alpha = engine.fusion.alpha
    # Its lexical share (1.0, the best BM25 score) stands in for the semantic half it lacks.
    assert fused[without] == pytest.approx(1.0)
    assert fused["2501.00001"] == pytest.approx((1 - alpha) * 0.75 + alpha * 1.0)
    assert fused["2501.00002"] == pytest.approx(0.0)
    assert max(fused, key=fused.get) == without  # counting it as 0 would have put it second
    # Through a whole search too: it is found, and the result says the index is partial.
    res = engine.search(SearchQuery(q=TOPICS[0]))
    assert res.mode == "hybrid" and without in [h.id for h in res.hits]
    assert res.semantic_coverage == pytest.approx(5 / 6, abs=1e-3)
    assert engine.lexical(parse_query(TOPICS[0]), 3)


def test_vectors_record_their_recipe_and_a_new_recipe_rebuilds(store):
    store.upsert_papers(papers(5))
    old = HashingEmbedder(64)
    build_vectors(store, old)
    assert vector_recipe(store, old.key) == recipe("hash64", dim=64)

    class LongerText(HashingEmbedder):  # same model name, another way to make vectors
        def __init__(self):
            super().__init__(64)
            self.recipe = {**self.recipe, "text": "title. abstract. authors"}
            self.key = vector_key(self.name, self.recipe)

    new = LongerText()
    assert new.name == old.name and new.key != old.key
    engine = SearchEngine(store, new)
    assert not engine.semantic_ready()  # old-recipe vectors are never mixed in
    st = build_vectors(store, new)
    assert (st.embedded, st.retired) == (5, 5)  # all rebuilt; the old recipe's dropped after
    assert store.vector_hashes(old.key) == {} and len(store.vector_hashes(new.key)) == 5
    assert json.loads(store.get_meta(f"vectors_recipe:{new.key}"))["text"] == "title. abstract. authors"
    assert engine.semantic_ready()


def test_vectors_from_before_recipes_are_retired(store):
    store.upsert_papers(papers(3))
    store.put_vectors("hash64", [(p.id, "h", np.ones(64, np.float32) / 8) for p in papers(3)])
    st = build_vectors(store, HashingEmbedder(64))
    assert (st.embedded, st.retired) == (3, 3) and store.vector_hashes("hash64") == {}


def test_backlog_sorts_by_length_within_chunks():
    jobs = [(str(i), "h", "x" * n) for i, n in enumerate([5, 1, 3, 9, 2, 8])]
    bl = LocalBacklog(jobs, chunk=3)
    got = [len(t) for part in iter(lambda: bl.claim(2), []) for _, _, t in part]
    assert got == [1, 3, 5, 2, 8, 9] and bl.remaining() == 0


def test_killed_index_command_resumes_where_it_stopped(tmp_path):
    """`papersift index` killed with SIGKILL mid-build: at most one batch is lost, and the
    next run embeds only the papers still missing."""
    data = tmp_path / "data"
    s = open_store(data / "papersift.db")
    s.upsert_papers(papers(3000))
    key = HashingEmbedder(256).key
    env = {**os.environ, "PAPERSIFT_DATA_DIR": str(data), "PAPERSIFT_EMBEDDER": "hash"}
    cmd = [sys.executable, "-m", "papersift", "index", "--batch", "1"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while proc.poll() is None and len(s.vector_hashes(key)) < 50:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    kept = len(s.vector_hashes(key))
    if kept == 3000:
        pytest.skip("the build finished before it could be killed")
    assert kept >= 50
    out = subprocess.run(cmd[:-2], env=env, capture_output=True, text=True, check=True).stdout
    out = " ".join(out.split())
    assert f"{3000 - kept} embedded" in out and f"{kept} unchanged" in out
    assert len(s.vector_hashes(key)) == 3000
    s.close()


def test_cli_search_and_stats_say_when_the_index_is_partial(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from papersift.cli import app

    monkeypatch.setenv("PAPERSIFT_EMBEDDER", "hash")
    data = tmp_path / "data"
    s = open_store(data / "papersift.db")
    s.upsert_papers(papers(8))
    with pytest.raises(KeyboardInterrupt):
        build_vectors(s, StopsAfter(calls=1, dim=256), batch=2)  # what `hash` loads
    s.close()
    runner = CliRunner()
    r = runner.invoke(app, ["search", "protein structure", "--data-dir", str(data)], catch_exceptions=False)
    out = " ".join(r.output.split())
    assert r.exit_code == 0 and "hybrid (hash256)" in out and "vectors for 25% of papers so far" in out
    r = runner.invoke(app, ["stats", "--data-dir", str(data)], catch_exceptions=False)
    out = " ".join(r.output.split())
    assert "2 of 8 papers (25%): search is hybrid for those and lexical for the rest" in out

