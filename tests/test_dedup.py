"""Duplicate detection: the matcher, blocking, and merging in a real SQLite store."""

import datetime as dt

from papersift.dedup import MatchInput, block_keys, match_score, same_paper, title_similarity
from papersift.ids import title_key
from papersift.model import Paper, Provenance
from papersift.store import SQLiteStore

ABSTRACT = ("Knowledge distillation (KD) has been widely used to improve the test accuracy of a "
            "student network by training it to mimic the soft probabilities of a teacher network.")


def p(title, authors=(), abstract="", source="listing", **kw):
    return Paper(title=title, authors=list(authors), abstract=abstract,
                 sources=[Provenance(source=source, ref="t:1")], **kw)


def test_same_title_variants_match():
    a = p("Views in a Large Scale XML Repository", ["Sophie Cluet", "Dan Vodislav"])
    b = p("Views in a large-scale XML repository", ["S. Cluet", "D. Vodislav"])
    assert same_paper(a, b)


def test_same_title_other_people_do_not_match():
    a = p("Book Review Column", ["Karl Aberer", "Ann Smith", "Bo Li"])
    b = p("Book Review Column", ["Mary Jones", "Wei Zhang", "Joe Bloggs"])
    assert not same_paper(a, b)


def test_edited_title_needs_corroboration():
    old = "OAEI-LLM-T: A TBox Benchmark Dataset for Understanding LLM Hallucinations in Ontology Matching Systems"
    new = ("OAEI-LLM-T: A TBox Benchmark Dataset for Understanding Large Language Model "
           "Hallucinations in Ontology Matching")
    assert 0.75 <= title_similarity(old, new) < 0.92
    assert same_paper(p(old, ["Zhangcheng Qiang", "Kerry Taylor"]), p(new, ["Zhangcheng Qiang"]))
    assert not same_paper(p(old, ["Zhangcheng Qiang"]), p(new, ["Someone Else"]))
    assert not same_paper(p(old), p(new))  # nothing corroborates a weaker title match


def test_unrelated_titles_never_match():
    assert match_score(MatchInput("Attention Is All You Need"), MatchInput("Deep Residual Learning")) == 0


def test_arxiv_ids_decide_when_both_have_one():
    assert not same_paper(p("Same Title", arxiv_id="2401.00001"), p("Same Title", arxiv_id="2401.00002"))
    assert same_paper(p("Title A", arxiv_id="2401.00001"), p("Totally other", arxiv_id="2401.00001v2"))


def test_blocking_puts_near_duplicates_together():
    a = block_keys("Maintenance of Automatic Summary Tables in Data Warehouses")
    b = block_keys("Maintenance of cube automatic summary tables in data warehouses")
    assert set(a) & set(b)
    assert not set(block_keys("Attention Is All You Need")) & set(block_keys("Deep Residual Learning"))


def test_four_copies_in_seed_000_become_one_record(tmp_path):
    """The four listings of the same paper in seeds/000 (two with, two without authors,
    abstracts truncated differently) are one stored record with all four provenances."""
    t = "On student-teacher deviations in distillation: does it pay to disobey?"
    copies = [p(t, abstract=ABSTRACT + " Finally, we tie these together."),
              p(t, abstract=ABSTRACT),
              p(t, abstract=ABSTRACT.replace("widely used", "widely-used")),
              p(t, ["Nagarajan, Vaishnavh", "Menon, Aditya Krishna"], abstract=ABSTRACT)]
    for i, c in enumerate(copies):
        c.sources = [Provenance(source="listing", ref=f"000.txt:{i * 5 + 2}")]
    s = SQLiteStore(tmp_path / "p.db")
    s.upsert_papers(copies)
    assert s.count_papers() == 1
    (paper,) = list(s.iter_papers())
    assert paper.abstract.endswith("Finally, we tie these together.")  # the fullest text
    assert paper.authors == ["Nagarajan, Vaishnavh", "Menon, Aditya Krishna"]
    assert len(s.paper_sources(paper.id)) == 4


def test_listing_near_duplicate_merges_into_arxiv_paper(tmp_path):
    """A listing copy whose title was edited (no arXiv id on that side) merges into the
    arXiv record, whichever arrives first, and re-imports stay put."""
    arxiv = p("Understanding LLM Hallucinations in Ontology Matching Systems: A Benchmark",
              ["Zhangcheng Qiang", "Kerry Taylor", "Weiqing Wang"], ABSTRACT, source="arxiv",
              arxiv_id="2503.21813", published=dt.date(2025, 3, 27))
    listing = p("Understanding Large Language Model Hallucinations in Ontology Matching "
                "Systems: A Benchmark", ["Qiang, Zhangcheng", "Taylor, Kerry"], ABSTRACT)
    assert title_key(arxiv.title) != title_key(listing.title)
    for order in ([listing, arxiv], [arxiv, listing]):
        s = SQLiteStore(tmp_path / f"{order[0].id}.db")
        s.upsert_papers([order[0]])
        st = s.upsert_papers([order[1]])
        # the second copy merges: no new row (a re-keyed listing row counts as updated)
        assert (st.inserted, st.merged) == (0, 1), order
        assert s.count_papers() == 1, order
        assert s.get_paper(listing.id).id == "2503.21813"
        st = s.upsert_papers([listing])
        assert (st.inserted, st.updated, st.merged) == (0, 0, 0)
        assert {x["source"] for x in s.paper_sources("2503.21813")} == {"arxiv", "listing"}


def test_listing_near_duplicates_without_ids_merge(tmp_path):
    s = SQLiteStore(tmp_path / "p.db")
    a = p("Reminiscences on Influential Papers in Databases", ["Kenneth A. Ross"])
    b = p("Reminiscences an Influential Papers in Databases", ["Kenneth Ross"])
    s.upsert_papers([a])
    st = s.upsert_papers([b])
    assert st.merged == 1 and s.count_papers() == 1
