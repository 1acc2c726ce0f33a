"""SQLite store against a real file: upsert idempotence, merging, days, FTS sync."""

import datetime as dt

from papersift.model import Enrichment, Paper, Provenance, Review
from papersift.store import SQLiteStore


def paper(**kw):
    base = dict(title="Attention Is All You Need", abstract="We propose the Transformer.",
                authors=["Ashish Vaswani", "Noam Shazeer"], sources=[Provenance(source="arxiv")])
    base.update(kw)
    return Paper(**base)


def test_upsert_is_idempotent(tmp_path):
    s = SQLiteStore(tmp_path / "p.db")
    st = s.upsert_papers([paper(arxiv_id="1706.03762", upvotes=3)])
    assert st.inserted == 1
    st = s.upsert_papers([paper(arxiv_id="1706.03762v2", upvotes=3)])
    assert (st.inserted, st.updated, st.unchanged) == (0, 0, 1)
    assert s.count_papers() == 1


def test_newer_counts_update_and_values_never_vanish(tmp_path):
    s = SQLiteStore(tmp_path / "p.db")
    s.upsert_papers([paper(arxiv_id="1706.03762", upvotes=3, github_repo="https://github.com/x/y")])
    st = s.upsert_papers([paper(arxiv_id="1706.03762", upvotes=10, abstract="")])
    assert st.updated == 1
    p = s.get_paper("https://arxiv.org/abs/1706.03762v5")
    assert p.upvotes == 10
    assert p.github_repo == "https://github.com/x/y"
    assert p.abstract == "We propose the Transformer."
    # a lower count from a stale source does not win
    s.upsert_papers([paper(arxiv_id="1706.03762", upvotes=1)])
    assert s.get_paper("1706.03762").upvotes == 10


def test_listing_paper_merges_into_arxiv_paper_and_keeps_enrichment(tmp_path):
    s = SQLiteStore(tmp_path / "p.db")
    listing = paper(authors=[], num_authors=2, sources=[Provenance(source="listing", ref="f:1")])
    s.upsert_papers([listing])
    pid = listing.id
    assert pid.startswith("ps-")
    s.save_enrichment(Enrichment(paper_id=pid, method="offline",
                                 reviews={"en": Review(title="t", review="r")}))
    st = s.upsert_papers([paper(arxiv_id="1706.03762")])
    assert st.merged == 1 and s.count_papers() == 1
    assert s.get_paper(pid).id == "1706.03762"
    assert s.get_enrichment("1706.03762") is not None
    assert {x["source"] for x in s.paper_sources("1706.03762")} == {"listing", "arxiv"}


def test_same_title_different_authors_stay_apart(tmp_path):
    s = SQLiteStore(tmp_path / "p.db")
    s.upsert_papers([paper(authors=["A. One"]), paper(authors=["B. Two"])])
    # same title key -> same ps- id; the second is a different paper only if ids differ,
    # so listing records with different author sets under one title are merged by key.
    assert s.count_papers() == 1


def test_fts_follows_updates(tmp_path):
    s = SQLiteStore(tmp_path / "p.db")
    s.upsert_papers([paper(arxiv_id="1706.03762")])
    assert [i for i, _ in s.lexical_search("transformer", 5)] == ["1706.03762"]
    s.upsert_papers([paper(arxiv_id="1706.03762", abstract="We propose recurrent magic.",
                           sources=[Provenance(source="arxiv")])])
    assert s.lexical_search("transformer", 5) == []
    assert [i for i, _ in s.lexical_search("magic", 5)] == ["1706.03762"]


def test_days_merge_never_shrink_and_record_moves(tmp_path):
    s = SQLiteStore(tmp_path / "p.db")
    s.upsert_papers([paper(arxiv_id="2502.00001", title="A"), paper(arxiv_id="2502.00002", title="B")])
    d1, d2 = dt.date(2025, 2, 6), dt.date(2025, 2, 7)
    s.record_day(d1, ["2502.00001", "2502.00002"], "hf")
    st = s.record_day(d2, ["2502.00002"], "hf")
    assert st.moved == [("2502.00002", "2025-02-06")]
    assert {p.id for p in s.papers_for_day(d1)} == {"2502.00001", "2502.00002"}
    assert s.moved_papers(d1) == {"2502.00002": "2025-02-07"}


def test_runs_and_reopen(tmp_path):
    s = SQLiteStore(tmp_path / "p.db")
    rid = s.start_run("import", {"paths": ["x"]})
    s.finish_run(rid, {"inserted": 2}, [])
    s.close()
    s = SQLiteStore(tmp_path / "p.db")
    assert s.recent_runs()[0].counts == {"inserted": 2}


def test_trusted_paper_equals_model_construct(tmp_path):
    """Stored rows come back through model.trusted_paper (a cheaper model_construct): the
    objects must be the same in every way the code uses them."""
    from papersift.model import trusted_paper

    s = SQLiteStore(tmp_path / "t.db")
    p = Paper(arxiv_id="2502.02671v2", title="A title", abstract="Text.", authors=["A B"],
              published=dt.date(2025, 2, 5), upvotes=3, links={"github": "https://github.com/x/y"})
    s.upsert_papers([p])
    got = s.get_paper("2502.02671")
    ref = Paper.model_construct(**{k: getattr(got, k) for k in Paper.model_fields})
    assert got == ref and got.model_dump() == ref.model_dump()
    assert got.model_dump_json() == ref.model_dump_json()
    assert got.model_fields_set == ref.model_fields_set
    assert got.model_copy(update={"upvotes": 9}).upvotes == 9 and got.upvotes == 3
    assert trusted_paper(dict(ref.__dict__)) == ref
    s.close()
