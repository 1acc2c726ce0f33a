"""The saved-listing parser: HF page text and title/authors/abstract listings."""

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from papersift.sources.listing import is_hf_listing, page_year, parse_date, parse_listing
from papersift.sources.records import BadRecord as RecordError  # the report, renamed
from papersift.sources.records import Record

ABSTRACT = ("We study how language models look inward. " * 8).strip()

HF_PAGE = f"""new

Get trending papers in your email inbox!

Subscribe

Daily Papers

byAK and the research community

Jun 30

Introspective Diffusion Language Models

{ABSTRACT}

  • 15 authors
·
Apr 12 4

Zero-Overhead Introspection for Adaptive Test-Time Compute

{ABSTRACT} Second paper.

Qwen Qwen
·
Dec 1, 2025

Permissive Information-Flow Analysis for Large Language Models

{ABSTRACT} Third.

  • 10 authors
·
Oct 3, 2024 11
"""

BIBLIO = f"""exaggeration
On student-teacher deviations in distillation: does it pay to disobey?
{ABSTRACT}
Generative Exaggeration in LLM Social Agents: Consistency, Bias, and Toxicity
Nudo, Jacopo, Pandolfo, Mario Edoardo, Loru, Edoardo
{ABSTRACT} Social agents.
On student-teacher deviations in distillation: does it pay to disobey?
Nagarajan, Vaishnavh, Menon, Aditya Krishna
{ABSTRACT} KD.
"""


def records(text, **kw):
    return [r for r in parse_listing(text, "page.txt", **kw) if isinstance(r, Record)]


def test_hf_page_cards():
    got = records(HF_PAGE)
    assert [r.paper.title for r in got] == [
        "Introspective Diffusion Language Models",
        "Zero-Overhead Introspection for Adaptive Test-Time Compute",
        "Permissive Information-Flow Analysis for Large Language Models"]
    a, b, c = (r.paper for r in got)
    # year-less dates belong to the year after the latest explicit one (HF omits the
    # current year only)
    assert a.published == dt.date(2026, 4, 12) and a.upvotes == 4 and a.num_authors == 15
    assert b.published == dt.date(2025, 12, 1) and b.upvotes is None and b.organization == "Qwen"
    assert c.published == dt.date(2024, 10, 3) and c.upvotes == 11
    assert a.abstract == ABSTRACT
    assert got[0].ref == "page.txt:13"
    assert all(r.paper.id.startswith("ps-") for r in got)
    assert all(r.paper.sources[0].source == "listing" for r in got)


def test_year_option_wins():
    got = records(HF_PAGE, year=2030)
    assert got[0].paper.published == dt.date(2030, 4, 12)
    assert got[1].paper.published == dt.date(2025, 12, 1)


def test_bad_date_is_one_error_and_the_rest_is_kept():
    text = HF_PAGE.replace("Dec 1, 2025", "Dec 41, 2025")
    out = list(parse_listing(text, "page.txt"))
    errors = [r for r in out if isinstance(r, RecordError)]
    assert len(errors) == 1
    assert str(errors[0]).startswith("page.txt:") and "'date'" in str(errors[0])
    assert len([r for r in out if isinstance(r, Record)]) == 2


def test_truncated_page_reports_the_last_card():
    text = HF_PAGE + "\nA Title Without Its Card Footer\n\n" + ABSTRACT + "\n"
    out = list(parse_listing(text, "page.txt"))
    assert len([r for r in out if isinstance(r, Record)]) == 3
    (err,) = [r for r in out if isinstance(r, RecordError)]
    assert "truncated" in err.message


def test_biblio_listing():
    got = records(BIBLIO)
    assert [r.paper.title[:20] for r in got] == ["On student-teacher d", "Generative Exaggerat",
                                                 "On student-teacher d"]
    assert got[0].paper.authors == []
    assert got[1].paper.authors == ["Jacopo Nudo", "Mario Edoardo Pandolfo", "Edoardo Loru"]
    assert got[2].paper.authors == ["Vaishnavh Nagarajan", "Aditya Krishna Menon"]
    assert got[0].paper.id == got[2].paper.id  # same title -> same key
    assert got[1].ref == "page.txt:4"


def test_detection():
    assert is_hf_listing(HF_PAGE)
    assert not is_hf_listing(BIBLIO)


def test_page_year():
    assert page_year(["Oct 3, 2024", "Jun 30", "Dec 1, 2025 3"]) == 2026
    assert page_year(["Jun 30"], today=dt.date(2031, 1, 1)) == 2031


MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2090, 12, 31)),
       st.one_of(st.none(), st.integers(0, 99999)), st.booleans())
def test_date_lines_round_trip(d, upvotes, with_year):
    line = f"{MONTHS[d.month - 1]} {d.day}" + (f", {d.year}" if with_year else "")
    if upvotes is not None:
        line += f" {upvotes}"
    assert parse_date(line, None if with_year else d.year) == (d, upvotes)


title_text = st.text(st.characters(whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters=" -:"),
                     min_size=3, max_size=80).filter(lambda s: s.strip() and s.strip() != "·")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(title_text, st.integers(1, 40), st.dates(dt.date(2000, 1, 1),
                                                                 dt.date(2025, 12, 31))),
                min_size=1, max_size=6))
def test_generated_pages_parse_back(cards):
    parts = ["Daily Papers", "", "Jan 7", ""]
    for title, n, d in cards:
        parts += [title, "", ABSTRACT, "", f"  • {n} authors", "·",
                  f"{MONTHS[d.month - 1]} {d.day}, {d.year}", ""]
    got = records("\n".join(parts))
    assert [(r.paper.title, r.paper.num_authors, r.paper.published) for r in got] == [
        (" ".join(t.split()), n, d) for t, n, d in cards]
