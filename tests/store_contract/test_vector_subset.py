"""Contract: get_vectors reads only the asked papers' vectors (the site's For-you data)."""

import numpy as np


def test_get_vectors_returns_only_asked_stored_ids_sorted(store):
    ids, mat = store.get_vectors("m", ["a"])
    assert ids == [] and mat.shape[0] == 0
    va, vb, vc = (np.array(v, dtype=np.float32) for v in ([1, 0, 0], [0, 1, 0], [0, 0, 1]))
    store.put_vectors("m", [("c", "hc", vc), ("a", "ha", va), ("b", "hb", vb)])
    store.put_vectors("other", [("b", "x", va)])
    ids, mat = store.get_vectors("m", ["c", "b", "missing", "c"])
    assert ids == ["b", "c"]
    assert mat.dtype == np.float32 and np.array_equal(mat, np.stack([vb, vc]))
    ids, mat = store.get_vectors("other", ["a", "b"])
    assert ids == ["b"] and np.array_equal(mat[0], va)
    many = [f"x{i:04d}" for i in range(2000)]  # more than one batch of bound parameters
    store.put_vectors("m", [(i, "h", va) for i in many])
    ids, mat = store.get_vectors("m", many)
    assert ids == many and mat.shape == (2000, 3)
