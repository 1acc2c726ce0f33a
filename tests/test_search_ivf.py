"""The IVF index finds what an exact scan finds, and the engine uses it only when it should."""

import numpy as np

from papersift.model import Paper
from papersift.search.embed import HashingEmbedder
from papersift.search.index import VectorIndex, build_vectors
from papersift.search.ivf import IVF


def clustered(n=4000, dim=32, centers=40, seed=1):
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centers, dim))
    x = c[rng.integers(0, centers, n)] + 0.35 * rng.normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_ivf_agrees_with_exact_scan():
    m = clustered()
    ivf = IVF(m)
    assert ivf.offsets[-1] == len(m) and sorted(ivf.order) == list(range(len(m)))
    overlap = 0.0
    for q in m[:50]:
        truth = set(np.argsort(-(m @ q))[:10])
        rows, scores = ivf.search(q, 10)
        assert np.all(np.diff(scores) <= 1e-6)  # best first
        assert np.allclose(scores, m[rows] @ q, atol=1e-5)  # scores are true cosines
        overlap += len(truth & set(rows)) / 10 / 50
    assert overlap >= 0.95


def test_ivf_is_deterministic():
    m = clustered(n=1000)
    a, b = IVF(m), IVF(m)
    assert np.array_equal(a.order, b.order) and np.array_equal(a.centroids, b.centroids)
    from papersift.search.ivf import _chain

    order = _chain(a.centroids)
    assert sorted(order.tolist()) == list(range(len(a.centroids)))  # a permutation of the lists


def test_vector_index_uses_ivf_only_when_large(make_store, monkeypatch):
    s = make_store()
    s.upsert_papers(Paper(arxiv_id=f"2506.{i:05d}", title=f"topic {i % 7} paper {i}",
                          abstract=f"words about subject {i % 7}") for i in range(300))
    emb = HashingEmbedder(64)
    build_vectors(s, emb)
    monkeypatch.setattr(VectorIndex, "ANN_MIN", 100)
    vi = VectorIndex(s, emb.key)
    vi.refresh()
    assert vi.ivf is not None
    q = emb.embed(["topic 3 subject 3"])[0]
    approx = vi.top(q, 5)
    exact = vi.top(q, 5, exact=True)
    assert approx[0][0] == exact[0][0]
    allowed = {"2506.00010", "2506.00011"}
    # Two allowed rows: the probed lists may hold neither, and the exact scan answers.
    assert {p for p, _ in vi.top(q, 5, allowed=allowed)} == allowed


def test_a_filter_scans_the_probed_lists_and_falls_back_when_they_hold_too_few():
    """A filtered query keeps the IVF (its answers agree with the exact filtered scan as an
    unfiltered query's do); a filter the probed lists hold fewer than k rows of gets fewer
    back, which VectorIndex answers with the exact scan."""
    m = clustered(n=6000, dim=384, centers=60, seed=5)
    ivf = IVF(m)
    mask = np.random.default_rng(0).random(len(m)) < 0.4
    overlap = 0.0
    for q in m[:50]:
        truth = set(np.argsort(-np.where(mask, m @ q, -np.inf))[:10])
        rows, scores = ivf.search(q, 10, mask)
        assert mask[rows].all() and np.allclose(scores, m[rows] @ q, atol=1e-5)
        overlap += len(truth & set(rows)) / 10 / 50
    assert overlap >= 0.95
    few = np.zeros(len(m), dtype=bool)
    few[np.argsort(m @ m[0])[:3]] = True  # the three rows farthest from the query
    rows, _ = ivf.search(m[0], 10, few)
    assert len(rows) < 3
    assert len(ivf.search(m[0], 10, np.zeros(len(m), dtype=bool))[0]) == 0


def test_wide_vectors_scan_a_projection_and_return_exact_scores():
    """Vectors wider than PROJECT_DIMS are scanned in the PCA projection, then the best
    candidates are re-scored in full: the same agreement, and true cosines."""
    from papersift.search.ivf import PROJECT_DIMS

    m = clustered(n=6000, dim=384, centers=60, seed=3)
    ivf = IVF(m)
    assert ivf.reduced is not None and ivf.reduced.shape == (len(m), PROJECT_DIMS)
    overlap = 0.0
    for q in m[:50]:
        truth = set(np.argsort(-(m @ q))[:10])
        rows, scores = ivf.search(q, 10)
        assert np.all(np.diff(scores) <= 1e-6)
        assert np.allclose(scores, m[rows] @ q, atol=1e-5)
        overlap += len(truth & set(rows)) / 10 / 50
    assert overlap >= 0.95
    assert IVF(m[:, :64] / np.linalg.norm(m[:, :64], axis=1, keepdims=True)).reduced is None
