"""Embedders: the deterministic hashing one always; the real minilm where it is installed."""

import importlib.util

import numpy as np
import pytest

from papersift.model import Paper
from papersift.search.embed import EmbedderError, HashingEmbedder, get_embedder, minilm_available
from papersift.search.engine import SearchEngine, SearchQuery
from papersift.search.index import build_vectors


def test_hashing_is_deterministic_and_unit_length():
    a = HashingEmbedder(128).embed(["graph neural networks", "", "graph neural networks"])
    assert a.shape == (3, 128) and a.dtype == np.float32
    assert np.array_equal(a[0], a[2])
    assert np.isclose(np.linalg.norm(a[0]), 1.0) and not a[1].any()
    b = HashingEmbedder(128).embed(["graph neural network", "protein folding"])
    assert a[0] @ b[0] > a[0] @ b[1]


def test_unknown_embedder_is_a_clear_error():
    with pytest.raises(EmbedderError, match="unknown embedder 'bert'"):
        get_embedder("bert")
    assert get_embedder("none") is None


needs_minilm = pytest.mark.skipif(not minilm_available(), reason="embed extra not installed")


@pytest.fixture(scope="module")
def minilm():
    e = get_embedder("minilm")
    e.fast_queries = True  # as a serving engine sets it
    return e


@pytest.mark.slow
@needs_minilm
def test_minilm_loads_offline_from_the_wheel(minilm, monkeypatch):
    v = minilm.embed(["a car drove down the road", "an automobile on the street", "banana bread recipe"])
    assert v.shape == (3, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2
    import os
    assert os.environ["HF_HUB_OFFLINE"] == "1"


@pytest.mark.slow
@needs_minilm
def test_minilm_traced_query_matches_the_eager_model(minilm):
    """A one-text call runs the TorchScript trace; it must give the eager fp32 model's
    vector for every query length it serves, and a text past its limit runs eager."""
    from papersift.search.minilm_graphs import TRACED_QUERY_TOKENS

    words = ["graph", "neural", "network", "diffusion", "3D", "données", "中文", "attention", "of", "the"]
    minilm.graphs.use_onnx = False  # the path a machine without ONNX Runtime takes
    try:
        for n in (1, 2, 5, 12, 30, 50):
            q = " ".join(words[i % len(words)] for i in range(n))
            got = minilm.embed([q])[0]
            ref = minilm._encode(minilm.model, [q])[0]
            assert float(got @ (ref / np.linalg.norm(ref))) > 0.99999, q
        assert minilm.graphs.traced not in (None, False)  # the trace ran, not the eager fallback
        long = " ".join(["transformer"] * (TRACED_QUERY_TOKENS + 10))
        assert minilm.graphs.trace_query(long) is None
        assert minilm.embed([long]).shape == (1, 384)
    finally:
        minilm.graphs.use_onnx = True


@pytest.mark.slow
@needs_minilm
def test_minilm_queries_through_onnx_runtime_match_the_eager_model(minilm):
    """Queries run the model exported to ONNX Runtime: the eager fp32 model's vector for
    short and long queries and for a call of several; without ONNX the trace answers."""
    pytest.importorskip("onnxruntime")
    words = ["graph", "neural", "network", "diffusion", "3D", "données", "中文", "attention", "of", "the"]
    texts = [" ".join(words[i % len(words)] for i in range(n)) for n in (1, 3, 8, 40, 150)]
    for t in texts:
        ref = minilm._encode(minilm.model, [t])[0]
        assert float(minilm.embed([t])[0] @ (ref / np.linalg.norm(ref))) > 0.99999, t
    assert minilm.graphs.session not in (None, False)  # ONNX Runtime answered, not a fallback
    several = minilm.embed(texts[:3])
    assert np.allclose(several, np.stack([minilm.embed([t])[0] for t in texts[:3]]), atol=1e-5)
    minilm.graphs.use_onnx = False
    try:
        assert float(minilm.embed([texts[1]])[0] @ several[1]) > 0.99999  # the trace's vector
    finally:
        minilm.graphs.use_onnx = True
    minilm.fast_queries = False  # a one-off search: the eager model, the same vector
    try:
        assert float(minilm.embed([texts[1]])[0] @ several[1]) > 0.99999
    finally:
        minilm.fast_queries = True


@pytest.mark.slow
@needs_minilm
def test_minilm_keeps_its_onnx_export_for_the_next_process(tmp_path, monkeypatch):
    """With a cache dir the export is written once (atomically) and the next embedder loads
    it without exporting; a truncated file is exported again."""
    pytest.importorskip("onnxruntime")
    import torch

    from papersift.search.embed import MiniLMEmbedder

    first = MiniLMEmbedder(cache_dir=tmp_path)
    first.fast_queries = True
    want = first.embed(["retrieval augmented generation"])[0]
    files = list(tmp_path.glob("minilm-query-*.onnx"))
    assert len(files) == 1 and not list(tmp_path.glob("*.tmp"))

    def no_export(*a, **k):
        raise AssertionError("exported again")

    monkeypatch.setattr(torch.onnx, "export", no_export)
    second = MiniLMEmbedder(cache_dir=tmp_path)
    second.fast_queries = True
    assert np.allclose(second.embed(["retrieval augmented generation"])[0], want, atol=1e-6)
    assert second.graphs.session not in (None, False)
    monkeypatch.undo()
    files[0].write_bytes(files[0].read_bytes()[:1000])  # a truncated file
    third = MiniLMEmbedder(cache_dir=tmp_path)
    third.fast_queries = True
    assert np.allclose(third.embed(["retrieval augmented generation"])[0], want, atol=1e-6)
    assert files[0].stat().st_size > 1_000_000  # exported again and replaced


@pytest.mark.slow
@needs_minilm
def test_minilm_batches_side_by_side_give_the_serial_vectors(minilm):
    """Documents run whole batches on two threads; the batches are the serial loop's, so
    the vectors are identical, and torch's thread count is restored afterwards."""
    import torch

    texts = [f"paper {i}: " + " ".join(["sparse attention for long documents"] * (1 + i % 9)) for i in range(40)]
    torch.set_num_threads(2)
    minilm.parallel_batches = False
    serial = minilm.embed(texts)
    minilm.parallel_batches = True
    parallel = minilm.embed(texts)
    assert np.array_equal(serial, parallel)
    assert torch.get_num_threads() == 2


@pytest.mark.slow
@needs_minilm
def test_minilm_finds_papers_without_shared_words(minilm, make_store):
    s = make_store()
    s.upsert_papers([
        Paper(arxiv_id="2503.00001", title="Protein structure prediction with deep networks",
              abstract="We predict the 3D folding of amino acid chains."),
        Paper(arxiv_id="2503.00002", title="Stock market forecasting",
              abstract="Predicting equity prices with time series models."),
        Paper(arxiv_id="2503.00003", title="Speech recognition for low-resource languages",
              abstract="Automatic transcription of spoken audio."),
    ])
    build_vectors(s, minilm)
    eng = SearchEngine(s, minilm)
    res = eng.search(SearchQuery(q="how do proteins fold", mode="semantic"))
    assert res.hits[0].id == "2503.00001"
    res = eng.search(SearchQuery(q="turning voice into text"))
    assert res.mode == "hybrid" and res.hits[0].id == "2503.00003"
    assert eng.similar("2503.00001", limit=1).hits


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("skeletoken") is None or not minilm_available(),
                    reason="model2vec[distill] not installed")
def test_model2vec_distills_locally_and_caches(tmp_path):
    emb = get_embedder("model2vec", tmp_path)
    assert (tmp_path / "models" / "model2vec-minilm-256" / "config.json").exists()
    v = emb.embed(["reinforcement learning agent", "policy gradient for agents", "cooking pasta"])
    assert v.shape[1] == emb.dim and v[0] @ v[1] > v[0] @ v[2]
    again = get_embedder("model2vec", tmp_path)  # from the cache, same vectors
    assert np.allclose(again.embed(["cooking pasta"])[0], v[2], atol=1e-6)
    # The API embeds queries from several threads at once: the Rust tokenizer under
    # model2vec raised "Already borrowed" until embed() took a lock.
    from concurrent.futures import ThreadPoolExecutor

    texts = [f"query number {i} about sparse attention and retrieval" for i in range(400)]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda t: again.embed([t])[0], texts))
    assert np.allclose(np.stack(got), again.embed(texts), atol=1e-5)


def test_query_cache_repeats_no_encode_and_hands_out_read_only_rows():
    from papersift.search.query_cache import QueryCache

    inner = HashingEmbedder(64)
    cache = QueryCache(inner, size=2)
    assert (cache.name, cache.key, cache.dim) == (inner.name, inner.key, 64)
    a = cache.embed(["sparse attention"])
    assert np.array_equal(a, inner.embed(["sparse attention"])) and (cache.hits, cache.misses) == (0, 1)
    b = cache.embed(["sparse attention"])
    assert np.array_equal(a, b) and (cache.hits, cache.misses) == (1, 1)
    with pytest.raises(ValueError):
        b[0, 0] = 5.0  # a caller cannot change what the next caller gets
    cache.embed(["graph networks"])
    cache.embed(["protein folding"])  # size 2: the least recently used one goes
    cache.embed(["sparse attention"])
    assert cache.misses == 4
    both = cache.embed(["graph networks", "protein folding"])  # batches pass through
    assert both.shape == (2, 64) and cache.misses == 4
    assert cache.peek("never embedded") is None and cache.misses == 4  # peek never encodes
    assert np.array_equal(cache.peek("sparse attention"), a) and cache.hits == 2
