"""A server's search processes share query vectors: a query one process encoded is not
encoded again by the next process that takes it (api/qvectors.py)."""

import numpy as np

from papersift.api import qvectors
from papersift.api.payloads import search_payload
from papersift.model import Paper
from papersift.search.embed import HashingEmbedder
from papersift.search.engine import SearchEngine
from papersift.search.index import build_vectors
from papersift.search.query_cache import QueryCache


class Counting(HashingEmbedder):
    def __init__(self):
        super().__init__(64)
        self.calls = 0

    def embed(self, texts):
        self.calls += len(texts)
        return super().embed(texts)


PARAMS = {"q": "sparse attention", "tags": [], "mode": "or", "from": None, "to": None,
          "min_upvotes": None, "sort": "relevance", "limit": 5, "offset": 0}


def test_a_vector_one_process_computed_is_used_by_the_next(make_store):
    s = make_store()
    s.upsert_papers(Paper(arxiv_id=f"2506.{i:05d}", title=f"sparse attention variant {i}",
                          abstract=f"long documents and topic {i % 5}") for i in range(40))
    build_vectors(s, HashingEmbedder(64))
    one, two = Counting(), Counting()
    engines = [SearchEngine(s, QueryCache(e)) for e in (one, two)]
    server = qvectors.SharedQueryVectors(size=2)

    def search(engine):  # what SearchPool.search and a search process do between them
        vec = server.get(PARAMS["q"])
        report = qvectors.before_search(engine, PARAMS["q"], vec)
        payload = search_payload(engine, ["en"], PARAMS)
        new = qvectors.after_search(engine, report)
        if new is not None:
            server.put(PARAMS["q"], new)
        return payload, new

    first, sent = search(engines[0])
    assert one.calls == 1 and sent is not None and len(sent) == 64 * 4
    assert first["engine"] == "hybrid"
    second, again = search(engines[1])
    assert two.calls == 0 and again is None  # filed from the server, nothing encoded
    assert [r["id"] for r in second["results"]] == [r["id"] for r in first["results"]]
    search(engines[0])
    assert one.calls == 1  # its own cache: nothing sent back either way


def test_bad_or_missing_vectors_are_ignored_and_the_server_copy_is_bounded():
    cache = QueryCache(HashingEmbedder(64))

    class Engine:
        embedder = cache

    assert qvectors.before_search(Engine(), "graph networks", b"\x00" * 12) is None  # wrong size
    assert cache.cached("graph networks") is None
    assert qvectors.before_search(Engine(), "   ", None) is None
    assert qvectors.before_search(object(), "graph networks", None) is None  # no query cache
    server = qvectors.SharedQueryVectors(size=2)
    for q in ("a", "b", "c"):
        server.put(q, np.zeros(64, np.float32).tobytes())
    assert server.get("a") is None and server.get("c") is not None
