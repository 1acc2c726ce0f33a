"""Duplicate detection: the matcher and blocking (merging in a store: store_contract/test_papers.py)."""

from papersift.dedup import MatchInput, block_keys, match_score, same_paper, title_similarity
from papersift.model import Paper, Provenance


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
