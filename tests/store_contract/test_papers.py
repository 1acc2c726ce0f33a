"""Contract: storing papers. Upserts are idempotent, merge what is known, never lose a value,
and re-key listing papers (ps-...) to their arXiv id when it becomes known."""

import datetime as dt

from papersift.ids import title_key
from papersift.model import Enrichment, Paper, Provenance, Review
from papersift.store.base import PUBLISH_COLUMNS

ABSTRACT = ("Knowledge distillation (KD) has been widely used to improve the test accuracy of a "
            "student network by training it to mimic the soft probabilities of a teacher network.")


def paper(**kw):
    base = dict(title="Attention Is All You Need", abstract="We propose the Transformer.",
                authors=["Ashish Vaswani", "Noam Shazeer"], sources=[Provenance(source="arxiv")])
    base.update(kw)
    return Paper(**base)


def listing(title, authors=(), abstract="", source="listing", **kw):
    return Paper(title=title, authors=list(authors), abstract=abstract,
                 sources=[Provenance(source=source, ref="t:1")], **kw)


def created_at(store, pid):
    (row,) = store.publish_rows([pid])
    return row[PUBLISH_COLUMNS.index("created_at")]


def test_upsert_is_idempotent(store):
    st = store.upsert_papers([paper(arxiv_id="1706.03762", upvotes=3)])
    assert (st.inserted, st.ids) == (1, ["1706.03762"])
    st = store.upsert_papers([paper(arxiv_id="1706.03762v2", upvotes=3)])
    assert (st.inserted, st.updated, st.unchanged) == (0, 0, 1)
    assert store.count_papers() == 1


def test_newer_counts_update_and_values_never_vanish(store):
    store.upsert_papers([paper(arxiv_id="1706.03762", upvotes=3, github_repo="https://github.com/x/y")])
    st = store.upsert_papers([paper(arxiv_id="1706.03762", upvotes=10, abstract="")])
    assert st.updated == 1
    p = store.get_paper("https://arxiv.org/abs/1706.03762v5")
    assert p.upvotes == 10
    assert p.github_repo == "https://github.com/x/y"
    assert p.abstract == "We propose the Transformer."
    # a lower count from a stale source does not win
    st = store.upsert_papers([paper(arxiv_id="1706.03762", upvotes=1)])
    assert store.get_paper("1706.03762").upvotes == 10
    assert st.updated == 0


def test_reads_of_papers(store):
    a, b = paper(arxiv_id="2502.00001", title="A paper"), paper(arxiv_id="2502.00002", title="B paper")
    store.upsert_papers([a, b])
    assert store.get_paper("nope") is None
    assert set(store.get_papers(["2502.00002", "2502.00001", "nope"])) == {"2502.00001", "2502.00002"}
    assert [p.id for p in store.iter_papers(batch=1)] == ["2502.00001", "2502.00002"]
    assert store.resolve_id(" arXiv:2502.00002v3 ") == "2502.00002"
    assert store.resolve_id("2502.99999") is None
    assert [s["source"] for s in store.paper_sources("2502.00001")] == ["arxiv"]


def test_stored_paper_equals_model_construct(store):
    """Stored rows come back cheaply (model.trusted_paper): the objects must be the same in
    every way the code uses them."""
    from papersift.model import trusted_paper

    p = Paper(arxiv_id="2502.02671v2", title="A title", abstract="Text.", authors=["A B"],
              published=dt.date(2025, 2, 5), upvotes=3, links={"github": "https://github.com/x/y"})
    store.upsert_papers([p])
    got = store.get_paper("2502.02671")
    ref = Paper.model_construct(**{k: getattr(got, k) for k in Paper.model_fields})
    assert got == ref and got.model_dump() == ref.model_dump()
    assert got.model_dump_json() == ref.model_dump_json()
    assert got.model_fields_set == ref.model_fields_set
    assert got.model_copy(update={"upvotes": 9}).upvotes == 9 and got.upvotes == 3
    assert trusted_paper(dict(ref.__dict__)) == ref


def test_same_title_key_is_one_listing_paper_only_on_evidence(store):
    # Same title, nothing disagreeing: one paper under the title's ps- id.
    store.upsert_papers([paper(authors=["A. One"]), paper(authors=["A. One", "C. Three"])])
    assert store.count_papers() == 1
    # Same title, other people: a second paper, under an id of its own, on every import.
    other = paper(authors=["B. Two"])
    st = store.upsert_papers([other])
    assert store.count_papers() == 2 and st.ids[0] != other.id
    again = store.upsert_papers([paper(authors=["B. Two"]), paper(authors=["A. One"])])
    assert store.count_papers() == 2 and again.ids == [st.ids[0], other.id]


def test_listing_paper_merges_into_arxiv_paper_and_keeps_enrichment(store):
    lp = paper(authors=[], num_authors=2, sources=[Provenance(source="listing", ref="f:1")])
    store.upsert_papers([lp])
    pid = lp.id
    assert pid.startswith("ps-")
    store.save_enrichment(Enrichment(paper_id=pid, method="offline",
                                     reviews={"en": Review(title="t", review="r")}))
    st = store.upsert_papers([paper(arxiv_id="1706.03762")])
    assert st.merged == 1 and store.count_papers() == 1
    assert store.get_paper(pid).id == "1706.03762"  # the old key is an alias
    assert store.resolve_id(pid) == "1706.03762"
    assert store.get_enrichment("1706.03762") is not None
    assert store.get_enrichment(pid) is None
    assert {x["source"] for x in store.paper_sources("1706.03762")} == {"listing", "arxiv"}


def test_rename_keeps_created_at_and_everything_hung_on_the_paper(store):
    lp = paper(authors=[], sources=[Provenance(source="listing", ref="f:1")])
    store.upsert_papers([lp])
    store.record_day(dt.date(2025, 2, 6), [lp.id], "hf")
    store.put_vectors("m", [(lp.id, "h", [1.0, 0.0])])
    first = created_at(store, lp.id)
    assert first
    import time

    time.sleep(1.1)  # timestamps have one-second resolution
    st = store.upsert_papers([paper(arxiv_id="1706.03762")])
    assert (st.inserted, st.updated, st.merged) == (0, 1, 1)
    assert created_at(store, "1706.03762") == first
    assert [p.id for p in store.papers_for_day(dt.date(2025, 2, 6))] == ["1706.03762"]
    assert store.vector_hashes("m") == {"1706.03762": "h"}


def test_four_copies_in_seed_000_become_one_record(store):
    """The four listings of the same paper in seeds/000 (two with, two without authors,
    abstracts truncated differently) are one stored record with all four provenances."""
    t = "On student-teacher deviations in distillation: does it pay to disobey?"
    copies = [listing(t, abstract=ABSTRACT + " Finally, we tie these together."),
              listing(t, abstract=ABSTRACT),
              listing(t, abstract=ABSTRACT.replace("widely used", "widely-used")),
              listing(t, ["Nagarajan, Vaishnavh", "Menon, Aditya Krishna"], abstract=ABSTRACT)]
    for i, c in enumerate(copies):
        c.sources = [Provenance(source="listing", ref=f"000.txt:{i * 5 + 2}")]
    store.upsert_papers(copies)
    assert store.count_papers() == 1
    (p,) = list(store.iter_papers())
    assert p.abstract.endswith("Finally, we tie these together.")  # the fullest text
    assert p.authors == ["Nagarajan, Vaishnavh", "Menon, Aditya Krishna"]
    assert len(store.paper_sources(p.id)) == 4


def test_listing_near_duplicate_merges_into_arxiv_paper(make_store):
    """A listing copy whose title was edited (no arXiv id on that side) merges into the
    arXiv record, whichever arrives first, and re-imports stay put."""
    arxiv = listing("Understanding LLM Hallucinations in Ontology Matching Systems: A Benchmark",
                    ["Zhangcheng Qiang", "Kerry Taylor", "Weiqing Wang"], ABSTRACT, source="arxiv",
                    arxiv_id="2503.21813", published=dt.date(2025, 3, 27))
    lp = listing("Understanding Large Language Model Hallucinations in Ontology Matching "
                 "Systems: A Benchmark", ["Qiang, Zhangcheng", "Taylor, Kerry"], ABSTRACT)
    assert title_key(arxiv.title) != title_key(lp.title)
    for order in ([lp, arxiv], [arxiv, lp]):
        s = make_store(order[0].id)
        s.upsert_papers([order[0]])
        st = s.upsert_papers([order[1]])
        # the second copy merges: no new row (a re-keyed listing row counts as updated)
        assert (st.inserted, st.merged) == (0, 1), order
        assert s.count_papers() == 1, order
        assert s.get_paper(lp.id).id == "2503.21813"
        st = s.upsert_papers([lp])
        assert (st.inserted, st.updated, st.merged) == (0, 0, 0)
        assert {x["source"] for x in s.paper_sources("2503.21813")} == {"arxiv", "listing"}


def test_listing_near_duplicates_without_ids_merge(store):
    a = listing("Reminiscences on Influential Papers in Databases", ["Kenneth A. Ross"])
    b = listing("Reminiscences an Influential Papers in Databases", ["Kenneth Ross"])
    store.upsert_papers([a])
    st = store.upsert_papers([b])
    assert st.merged == 1 and store.count_papers() == 1
    assert store.resolve_id(b.id) == a.id


def test_ids_follow_input_order_within_one_call(store):
    papers = [paper(arxiv_id="2502.00002", title="B"), paper(arxiv_id="2502.00001", title="A"),
              paper(arxiv_id="2502.00002v2", title="B", upvotes=4)]
    st = store.upsert_papers(papers)
    assert st.ids == ["2502.00002", "2502.00001", "2502.00002"]
    assert (st.inserted, st.updated, st.unchanged) == (2, 0, 0)
    assert store.get_paper("2502.00002").upvotes == 4


def test_existing_ids_names_the_stored_ones(store):
    st = store.upsert_papers([Paper(arxiv_id="2501.00001", title="Kept paper", abstract="A.",
                                    sources=[Provenance(source="arxiv")])])
    assert store.existing_ids([st.ids[0], "2501.99999", "ps-0123456789ab"]) == {st.ids[0]}
    assert store.existing_ids([]) == set()


def test_has_arxiv_papers_says_whether_any_stored_paper_has_an_arxiv_id(store):
    # The planner skips the full-text title lookup (meant for arXiv papers, which carry no
    # blocking keys) while this is False.
    assert not store.has_arxiv_papers()
    store.upsert_papers([listing("A listing paper without id", ["A. One"])])
    assert not store.has_arxiv_papers()
    store.upsert_papers([paper(arxiv_id="2501.00001")])
    assert store.has_arxiv_papers()
