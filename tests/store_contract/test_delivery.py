"""Contract: library lookups by DOI and title, vectors of a few papers, the digest send log."""

import datetime as dt

import numpy as np

from papersift.ids import title_key
from papersift.model import Paper
from papersift.store.base import SendRecord

D = dt.date(2025, 2, 6)


def test_library_lookups_by_doi_title_and_vectors(store):
    store.upsert_papers([
        Paper(arxiv_id="2502.00001", title="Sparse Attention Is Enough", doi="10.1000/ABC.1"),
        Paper(arxiv_id="2502.00002", title="Robot Policies at Scale"),
        Paper(title="A listing-only paper")])
    assert store.ids_by_doi(["10.1000/abc.1", " 10.1000/ABC.1 ", "10.9/none"]) == {"10.1000/abc.1": "2502.00001"}
    keys = [title_key("robot policies at scale!"), title_key("A Listing-Only Paper"), title_key("unknown")]
    got = store.ids_by_title_key(keys)
    assert got[keys[0]] == "2502.00002"
    assert got[keys[1]].startswith("ps-")
    assert keys[2] not in got
    v = np.arange(4, dtype=np.float32)
    store.put_vectors("m", [("2502.00001", "h1", v), ("2502.00002", "h2", v + 1)])
    got_v = store.vectors_for("m", ["2502.00001", "2502.00002", "2502.99999"])
    assert set(got_v) == {"2502.00001", "2502.00002"}
    assert np.array_equal(got_v["2502.00002"], v + 1)
    assert store.vectors_for("other-model", ["2502.00001"]) == {}


def test_send_log_keeps_one_record_per_profile_day_channel(store):
    assert store.sends_for(D) == {}
    store.record_send(SendRecord("alice", D, "email:a@x.org", "failed", attempts=3, reason="500 boom"))
    store.record_send(SendRecord("alice", D, "json:1", "sent", parts=2))
    store.record_send(SendRecord("bob", D + dt.timedelta(days=1), "email:b@x.org", "sent"))
    got = store.sends_for(D)
    assert set(got) == {("alice", "email:a@x.org"), ("alice", "json:1")}
    assert got[("alice", "email:a@x.org")].status == "failed"
    assert got[("alice", "email:a@x.org")].reason == "500 boom"
    assert got[("alice", "email:a@x.org")].attempts == 3
    assert got[("alice", "json:1")].parts == 2 and got[("alice", "json:1")].at
    # a retry that succeeds replaces the failure
    store.record_send(SendRecord("alice", D, "email:a@x.org", "sent", attempts=1, parts=1))
    assert store.sends_for(D)[("alice", "email:a@x.org")].status == "sent"
    assert len(store.sends_for(D)) == 2
    recent = store.recent_sends(10)
    assert len(recent) == 3 and {r.profile for r in recent} == {"alice", "bob"}
    assert len(store.recent_sends(1)) == 1
