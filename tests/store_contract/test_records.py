"""Contract: enrichments, failures, readings, the cache, vectors, runs, meta and the import
ledger round-trip."""

import datetime as dt

import numpy as np

from papersift.model import Enrichment, Paper, Reading, Review, VocabItem


def test_enrichments_round_trip_and_clear_failures(store):
    store.upsert_papers([Paper(arxiv_id="2502.00001", title="A")])
    store.record_failure("2502.00001", "timeout")
    store.record_failure("2502.00001", "rate limited")
    assert store.failures() == {"2502.00001": "rate limited"}
    e = Enrichment(paper_id="2502.00001", method="llm", model="m", tags=["rl"], emoji="🤖",
                   reviews={"en": Review(title="t", review="r")})
    store.save_enrichment(e)
    assert store.get_enrichment("2502.00001") == e
    assert store.get_enrichments(["2502.00001", "x"]) == {"2502.00001": e}
    assert store.get_enrichment("x") is None
    assert store.failures() == {}  # a success clears the failure
    e2 = e.model_copy(update={"method": "offline", "tags": []})
    store.save_enrichment(e2)
    assert store.get_enrichment("2502.00001") == e2


def test_readings_round_trip(store):
    day = dt.date(2025, 2, 6)
    assert store.get_reading(day) is None
    r = Reading(day=day, title="标题", text="文本。", pinyin="wén běn", translation="Text.",
                vocab=[VocabItem(word="文本", pinyin="wén běn", trans="text")], source_paper_id="2502.00001")
    store.save_reading(r)
    assert store.get_reading(day) == r
    r2 = r.model_copy(update={"text": "新文本。"})
    store.save_reading(r2)
    assert store.get_reading(day) == r2


def test_cache(store):
    assert store.cache_get("k") is None
    store.cache_put("k", {"emoji": "🤖", "tags": ["rl"], "n": 1.5})
    assert store.cache_get("k") == {"emoji": "🤖", "tags": ["rl"], "n": 1.5}
    store.cache_put("k", [1, 2])
    assert store.cache_get("k") == [1, 2]


def test_vectors(store):
    ids, mat = store.load_vectors("m")
    assert ids == [] and mat.shape[0] == 0
    v1, v2 = np.array([1, 0, 0], np.float32), np.array([0, 0.5, 0.25], np.float32)
    store.put_vectors("m", [("b", "hb", v2), ("a", "ha", v1)])
    store.put_vectors("other", [("a", "x", v2)])
    ids, mat = store.load_vectors("m")
    assert ids == ["a", "b"] and mat.dtype == np.float32
    assert np.array_equal(mat, np.stack([v1, v2]))
    assert store.vector_hashes("m") == {"a": "ha", "b": "hb"}
    store.put_vectors("m", [("a", "ha2", v2)])  # replaced
    assert store.vector_hashes("m")["a"] == "ha2"
    store.delete_vectors("m", ["a", "nope"])
    assert store.vector_hashes("m") == {"b": "hb"}
    assert store.vector_hashes("other") == {"a": "x"}


def test_runs_survive_reopening(make_store):
    s = make_store("runs")
    rid = s.start_run("import", {"paths": ["x"], "when": dt.date(2025, 2, 6)})
    assert s.recent_runs()[0].status == "running"
    s.finish_run(rid, {"inserted": 2}, ["bad line"], status="partial")
    rid2 = s.start_run("index", {})
    s.finish_run(rid2, {}, [])
    s.close()
    s = make_store("runs")
    runs = s.recent_runs()
    assert [r.id for r in runs] == [rid2, rid]  # newest first
    assert (runs[1].kind, runs[1].status, runs[1].counts, runs[1].errors) == \
           ("import", "partial", {"inserted": 2}, ["bad line"])
    assert runs[1].params == {"paths": ["x"], "when": "2025-02-06"}
    assert runs[1].finished_at is not None and runs[0].status == "ok"
    assert [r.id for r in s.recent_runs(1)] == [rid2]


def test_meta(store):
    assert store.get_meta("k") is None
    store.set_meta("k", "1")
    store.set_meta("k", "2")
    assert store.get_meta("k") == "2"


def test_import_ledger(store):
    assert store.seen_records([1, 2, 3]) == set()
    store.mark_records([3, 1, 1, -(2 ** 63)])
    assert store.seen_records([1, 2, 3, -(2 ** 63), 2 ** 63 - 1]) == {1, 3, -(2 ** 63)}
    assert store.seen_records([]) == set()
