"""Duplicate detection needs positive evidence: the rules of papersift.dedup.match_score, on
the issue's real false merges and on true duplicates that must still merge; then the same
shapes through a real store (a Cranfield-like corrupted title, id-less re-imports)."""

import datetime as dt

import pytest

from papersift.dedup import abstract_similarity, same_paper, title_difference
from papersift.model import Paper, Provenance

SURVEY_AUTHORS = ["Cheng Wang", "Yue Liu", "Baolong Bi", "Duzhen Zhang"]
SAFETY = ("Large Reasoning Models (LRMs) have exhibited extraordinary prowess in tasks like mathematics "
          "and coding, leveraging their advanced reasoning capabilities. Nevertheless, as these "
          "capabilities progress, significant concerns regarding their vulnerabilities and safety "
          "have arisen. This survey explores safety risks, attacks and defense strategies for LRMs.")
EFFICIENT = ("Reasoning models have demonstrated remarkable progress in solving complex and logic-intensive "
             "tasks by generating extended Chain-of-Thoughts prior to arriving at a final answer. Yet "
             "the emergence of this slow-thinking style raises a significant challenge: a substantial "
             "computational overhead. This survey reviews methods for efficient reasoning.")
BIELIK = ("We present Bielik, a family of generative text models for the Polish language. The models "
          "were trained on a curated Polish corpus and evaluated on Polish benchmarks, where they "
          "reach the quality of much larger models while staying cheap to deploy.")
NTIRE_AUTHORS = ["Radu Timofte", "Zongwei Wu", "Florin-Alexandru Vasluianu", "Marcos V. Conde"]
# Real NTIRE reports open alike and then describe their own task, data and tracks.
NTIRE_TEMPLATE = ("This paper reviews the NTIRE 2025 challenge on {task}, highlighting the proposed "
                  "solutions and the final results. {data}")


def rec(title, authors=(), abstract="", source="listing", **kw):
    return Paper(title=title, authors=list(authors), abstract=abstract,
                 sources=[Provenance(source=source, ref="t:1")], **kw)


# -- two papers --------------------------------------------------------------------------

def test_a_differing_content_word_is_two_papers():
    a = rec("Safety in Large Reasoning Models: A Survey", SURVEY_AUTHORS, SAFETY)
    b = rec("Efficient Reasoning Models: A Survey", SURVEY_AUTHORS, EFFICIENT)
    assert not same_paper(a, b)
    # Even with no abstracts to compare, the changed words outweigh shared authors here.
    assert not same_paper(rec(a.title, SURVEY_AUTHORS), rec(b.title, ["Someone Else"]))


def test_another_version_or_size_is_another_paper_whatever_else_agrees():
    a = rec("Bielik v3 Small: Technical Report", ["Krzysztof Ociepa", "Lukasz Flis"], BIELIK)
    b = rec("Bielik 11B v2 Technical Report", ["Krzysztof Ociepa", "Lukasz Flis"], BIELIK)
    diff, hard, _ = title_difference(a.title, b.title)
    assert {"v2", "v3", "11b"} <= hard
    assert not same_paper(a, b)  # identical abstracts and authors do not override a version


@pytest.mark.parametrize("other", ["Qwen-Image Technical Report", "Qwen-Image-2.1 Technical Report"])
def test_a_number_separates_model_reports_even_with_one_abstract(other):
    assert not same_paper(rec("Qwen-Image-2.0 Technical Report", ["Chenfei Wu"], BIELIK),
                          rec(other, ["Chenfei Wu"], BIELIK))


def test_an_added_name_with_its_own_abstract_is_another_report():
    assert not same_paper(rec("Qwen-Image-2.0 Technical Report", ["Chenfei Wu"], BIELIK),
                          rec("Qwen-Image-2.0-RL Technical Report", ["Chenfei Wu"], EFFICIENT))


@pytest.mark.parametrize(("a", "b"), [("PolGS: Polarimetric Gaussian Splatting", "PolGS++: Polarimetric Gaussian Splatting"),
                                      ("ARCHITECTS I: Impact of subgrid physics", "ARCHITECTS II: Impact of subgrid physics"),
                                      ("Power System Stability -- Part I", "Power System Stability -- Part II"),
                                      ("The Tenth Efficient Super-Resolution Challenge", "The Eleventh Efficient Super-Resolution Challenge")])
def test_plus_part_and_ordinal_are_distinguishing(a, b):
    assert title_difference(a, b)[1]
    assert not same_paper(rec(a, ["A. Author"], SAFETY), rec(b, ["A. Author"], SAFETY))


# Four NTIRE 2025 reports: (title, task, data) of each.
NTIRE_REPORTS = {
    "raindrop": ("NTIRE 2025 Challenge on Day and Night Raindrop Removal for Dual-Focused Images: Methods and Results",
                 "day and night raindrop removal", "We collect a real dual-focused raindrop dataset of "
                 "daytime and nighttime scenes with paired clean images, and rank entries by PSNR and SSIM on it."),
    "shadow": ("NTIRE 2025 Challenge on Image Shadow Removal: Methods and Results",
               "image shadow removal", "Two tracks measured fidelity and perceptual quality of the "
               "shadow-free images, with a user study deciding the perceptual ranking among the finalists."),
    "kwaisr": ("NTIRE 2025 Challenge on Short-form UGC Video Quality Assessment and Enhancement: KwaiSR Dataset and Study",
               "short-form UGC video super-resolution", "We introduce KwaiSR, a dataset of synthetic "
               "and wild short videos from the Kwai platform, and study how current restoration models fail."),
    "kvq": ("NTIRE 2025 Challenge on Short-form UGC Video Quality Assessment and Enhancement: Methods and Results",
            "short-form UGC video quality assessment", "Participants predicted quality scores "
            "on the KVQ database, and the winning methods correlate with human opinion far better than before."),
}


@pytest.mark.parametrize(("one", "other"), [("raindrop", "shadow"), ("kwaisr", "kvq"), ("raindrop", "kwaisr")])
def test_ntire_reports_on_different_tasks_are_different_papers(one, other):
    x, y = (rec(title, NTIRE_AUTHORS, NTIRE_TEMPLATE.format(task=task, data=data))
            for title, task, data in (NTIRE_REPORTS[one], NTIRE_REPORTS[other]))
    assert not same_paper(x, y), (x.title, y.title)


def test_one_title_with_strongly_different_abstracts_is_two_papers():
    title = "free-flight measurements of the static and dynamic ."
    x = rec(title, abstract="the real-gas hypersonic flow parameters for helium have been calculated for "
                            "stagnation temperatures from 0 f to 600 f and stagnation pressures up to 6,000 "
                            "pounds per square inch absolute and presented as simple charts .")
    y = rec(title, abstract="the effects of contamination of helium by air upon static-pressure, total-pressure, "
                            "heat-transfer, and temperature measurements have been investigated in the 2-inch "
                            "helium tunnel at the langley research center within the scope of the tests .")
    assert abstract_similarity(x.abstract, y.abstract) < 0.3
    assert not same_paper(x, y)


# -- one paper ---------------------------------------------------------------------------

@pytest.mark.parametrize("variant", ["SAFETY IN LARGE REASONING MODELS: A SURVEY",
                                     "Safety in large reasoning models - a survey.",
                                     "Safety in Large Reasoning Modéls: a Survey"])
def test_case_punctuation_and_accents_still_merge(variant):
    assert same_paper(rec("Safety in Large Reasoning Models: A Survey", SURVEY_AUTHORS, SAFETY),
                      rec(variant, ["Wang, Cheng", "Liu, Yue"], SAFETY))


def test_v1_listing_and_v2_arxiv_record_of_one_paper_merge():
    v1 = rec("Safety in Large Reasoning Models: A Survey", SURVEY_AUTHORS, SAFETY)
    v2 = rec("Safety in Large Reasoning Models: A Survey", SURVEY_AUTHORS + ["Xu Li"],
             SAFETY.replace("This survey explores", "This survey comprehensively explores"),
             source="arxiv", arxiv_id="2504.17704v2")
    assert same_paper(v1, v2)
    assert same_paper(rec("T", arxiv_id="2504.17704v1"), rec("T", arxiv_id="2504.17704v2"))


def test_a_listing_title_that_differs_slightly_from_its_arxiv_record_merges():
    arxiv = rec("OAEI-LLM-T: A TBox Benchmark Dataset for Understanding Large Language Model "
                "Hallucinations in Ontology Matching", ["Zhangcheng Qiang", "Kerry Taylor"], SAFETY,
                source="arxiv", arxiv_id="2503.21813")
    listing = rec("OAEI-LLM-T: A TBox Benchmark Dataset for Understanding LLM Hallucinations in "
                  "Ontology Matching Systems", ["Qiang, Zhangcheng"], SAFETY[:240])
    assert same_paper(arxiv, listing)
    # A revised title with a near-identical abstract is the same paper too.
    assert same_paper(rec("ACoRN: Noise-Robust Abstractive Compression in Retrieval-Augmented Language Models",
                          SURVEY_AUTHORS, EFFICIENT),
                      rec("Noise-Robust Abstractive Compression in Retrieval-Augmented Language Models",
                          SURVEY_AUTHORS, EFFICIENT))


def test_bibliographic_annotations_and_spellings_are_not_differences():
    assert same_paper(rec("Indexing Multimedia Databases (Tutorial)", ["Christos Faloutsos"]),
                      rec("Indexing multimedia databases", ["C. Faloutsos"]))
    assert same_paper(rec("SQL: 1999, formerly known as SQL 3", ["Andrew Eisenberg", "Jim Melton"]),
                      rec("SQL: 1999, formerly known as SQL3", ["Eisenberg, Andrew", "Melton, Jim"]))
    assert same_paper(rec("Report on the 4th International Workshop on Next Generation Systems", ["A. Bo"]),
                      rec("Report on the fourth international workshop on next generation systems", ["Ann Bo"]))


# -- through a real store -------------------------------------------------------------------

def test_cranfield_like_corrupted_titles_with_unrelated_abstracts_stay_apart(store):
    """Documents that carry a neighbour's title but abstracts of their own (as ids 1003-1011 of
    Cranfield do) are different papers; a true copy of one of them still merges."""
    title = "free-flight measurements of the static and dynamic ."
    topics = ["the real-gas hypersonic flow parameters for helium have been calculated for stagnation "
              "temperatures and pressures and the results are presented as simple charts for tunnel use .",
              "the effects of contamination of helium by air upon static-pressure and heat-transfer "
              "measurements have been investigated in a small helium tunnel at a research center .",
              "equations based on newtonian impact theory have been derived and a computational procedure "
              "developed to find the aerodynamic forces and moments acting on bodies of revolution .",
              "an experimental investigation of the buckling of thin cylindrical shells under axial "
              "compression was made and the test results are compared with the classical theory here ."]
    docs = [rec(title, abstract=t) for t in topics]
    st = store.upsert_papers(docs)
    assert store.count_papers() == 4 and len(set(st.ids)) == 4
    # Re-importing the same records (ids derived again) maps each onto itself.
    again = store.upsert_papers([rec(title, abstract=t) for t in topics])
    assert again.ids == st.ids and store.count_papers() == 4
    # A copy of the third one with a truncated abstract is that paper.
    copy = store.upsert_papers([rec(title.upper(), abstract=topics[2][:150])])
    assert copy.ids == [st.ids[2]] and store.count_papers() == 4


def test_id_less_distinct_papers_in_one_call_and_arxiv_record_later(store):
    a = rec("Efficient Reasoning Models: A Survey", SURVEY_AUTHORS, EFFICIENT)
    b = rec("Safety in Large Reasoning Models: A Survey", SURVEY_AUTHORS, SAFETY)
    same_title_other = rec("Efficient Reasoning Models: A Survey", ["Other Person"], SAFETY)
    st = store.upsert_papers([a, b, same_title_other])
    assert store.count_papers() == 3 and len(set(st.ids)) == 3
    # The arXiv record of `a` arrives: it merges into a, not into the other same-title paper.
    arxiv = rec("Efficient Reasoning Models: A Survey", SURVEY_AUTHORS, EFFICIENT, source="arxiv",
                arxiv_id="2504.10903", published=dt.date(2025, 4, 15))
    got = store.upsert_papers([arxiv])
    assert got.merged == 1 and store.count_papers() == 3
    assert store.resolve_id(a.id) == "2504.10903"
    assert store.get_paper(st.ids[2]).authors == ["Other Person"]
