"""Small files shaped like the real archives (the shapes of ../shared/data, built here), and
hypothesis strategies that damage them: one JSON value replaced by a hostile one, or bytes
flipped, inserted, deleted or cut off.

Every builder returns good records only, with their paper ids, so a test can check that the
records a mutation did not touch are still imported.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

from hypothesis import strategies as st

from support.fake_hf_arxiv import arxiv_entry, atom_entry, hf_paper

ABS = "We propose a method that works on every benchmark we tried, and explain why. " * 3

# -- the formats ------------------------------------------------------------------------


def hfday_current() -> dict[str, Any]:
    """top_papers/2025-12-31.json: en/ru/zh reviews, authors, affiliations, a zh block."""
    papers = []
    for i, aid in enumerate(("2512.21185", "2512.21186", "2512.21187")):
        papers.append({
            "id": f"https://huggingface.co/papers/{aid}", "title": f"UltraShape {i}: 3D shapes",
            "url": f"https://huggingface.co/papers/{aid}", "abstract": ABS, "score": 13 + i,
            "issue_id": 337, "pub_date": "2025-12-24",
            "pub_date_card": {"ru": "24 декабря", "en": "December 24", "zh": "12月24日"},
            "hash": f"4014d3ded953ca2{i}", "authors": ["Tanghui Jia", "Dongyu Yan"],
            "affiliations": ["National University of Singapore"],
            "pdf_title_img": f"assets/pdf/title_img/{aid}.jpg",
            "data": {"categories": ["#3d", "#diffusion", "#open_source"], "emoji": "🧊",
                     "ru": {"title": "Формы", "desc": "Статья про формы."},
                     "en": {"title": "Shapes", "desc": "A paper about shapes."},
                     "zh": {"title": "形状", "desc": "关于形状的文章。"}}})
    return {"date": {"ru": "31 декабря", "en": "December 31", "zh": "12月31日"},
            "time_utc": "2025-12-31 15:22", "weekday": 2, "issue_id": 343,
            "home_page_url": "https://huggingface.co/papers", "papers": papers,
            "link_prev": "2025-12-30.html", "link_next": "2026-01-01.html",
            "categories": {"#3d": 3},
            "zh": {"text": "这篇文章介绍了一种方法。", "title": "UltraShape 0: 3D shapes",
                   "pinyin": "Zhè piān", "trans": "This article introduces a method.",
                   "vocab": json.dumps([{"word": "方法", "pinyin": "fāngfǎ", "trans": "method"}],
                                       ensure_ascii=False)}}


def hfday_oldest() -> dict[str, Any]:
    """top_papers/2024-10-08.json: flat Russian data, no authors."""
    papers = [{"id": f"https://huggingface.co/papers/{aid}", "title": f"Only-IF {i}",
               "url": f"https://huggingface.co/papers/{aid}", "abstract": ABS, "score": 13,
               "issue_id": 25, "pub_date": "2024-10-07", "pub_date_ru": "7 октября",
               "data": {"desc": "Статья исследует обобщение.", "tags": ["#data"], "emoji": "🧠",
                        "title": "Разнообразие данных", "categories": ["#dataset", "#medicine"]}}
              for i, aid in enumerate(("2410.04717", "2410.04718", "2410.04719"))]
    return {"date": "8 октября", "issue_id": 34, "home_page_url": "https://huggingface.co/papers",
            "weekday": 1, "time_utc": "2024-10-08 20:26", "papers": papers}


def daily_arxiv_rows() -> list[dict[str, Any]]:
    """arxiv/arxiv-papers.jsonl.gz lines."""
    return [{"id": f"2503.{11677 + i:05d}", "title": f"Simulation of prosthetic vision {i}",
             "abstract": ABS, "authors": ["Jungyeon Park", "Anna Kochnev Goldstein"],
             "categories": ["eess.IV", "cs.CV"], "published": "2025-03-18", "comment": "12 pages",
             "source": "daily-arxiv"} for i in range(4)]


def hf_archive_rows() -> list[dict[str, Any]]:
    """hf/hf-daily-archive.jsonl.gz lines: one scraped day per line."""
    def paper(aid: str, i: int) -> dict[str, Any]:
        return {"title": f"Qwen3-VL Technical Report {i}",
                "paper_url": f"https://huggingface.co/papers/{aid}", "authors": ["Xiu Li", "Ling Pan"],
                "stars": "7", "details": {"title": f"Qwen3-VL Technical Report {i}", "abstract": ABS,
                                          "arxiv_page_url": f"https://arxiv.org/abs/{aid}",
                                          "github_links": ["https://github.com/QwenLM/Qwen3-VL"],
                                          "metadata": {}, "scraped_at": "2025-12-04T21:17:47.069463"},
                "scraped_date": "2025-12-04"}
    return [{"date": f"2025-12-0{d}", "papers": [paper(f"2511.2{d}63{i}", i) for i in range(2)]}
            for d in (4, 5)]


def hf_daily_list() -> list[dict[str, Any]]:
    """hf/daily_papers-2024-10-25.json: what /api/daily_papers returns."""
    return [hf_paper(aid, f"Breaking the Memory Barrier number {i}", day="2024-10-25", upvotes=80 + i)
            for i, aid in enumerate(("2410.17243", "2410.17244", "2410.17245"))]


def hf_search_list() -> list[dict[str, Any]]:
    """hf/papers_search-kazakh.json: /api/papers/search results (no submittedBy)."""
    out = []
    for item in hf_paper_list(("2404.04487", "2404.04488", "2404.04489")):
        item.pop("submittedBy")
        out.append(item)
    return out


def hf_paper_list(ids: tuple[str, ...]) -> list[dict[str, Any]]:
    return [hf_paper(aid, f"Kazakh named entity corpus {i}", day="2024-04-09", new_fields=False)
            for i, aid in enumerate(ids)]


def papers_rows() -> list[dict[str, Any]]:
    """papersift's own Paper JSONL (the bundled sample)."""
    return [{"id": aid, "arxiv_id": aid, "title": f"Sample paper {i}", "abstract": ABS,
             "authors": ["Ann Author"], "published": "2025-02-04", "hf_date": "2025-02-06",
             "upvotes": i, "categories": ["cs.LG"], "links": {"hf": f"https://huggingface.co/papers/{aid}"},
             "sources": [{"source": "hf", "ref": "sample", "seen_at": "2025-02-06T00:00:00Z"}]}
            for i, aid in enumerate(("2502.02671", "2502.02672", "2502.02673"))]


HF_LISTING = f"""Daily Papers

byAK and the research community

Jun 30

Introspective Diffusion Language Models

{ABS}

  • 15 authors
·
Apr 12 4

Zero-Overhead Introspection for Adaptive Test-Time Compute

{ABS} Second paper.

Qwen Qwen
·
Dec 1, 2025
"""

BIBLIO_LISTING = f"""exaggeration
On student-teacher deviations in distillation: does it pay to disobey?
{ABS}
Generative Exaggeration in LLM Social Agents: Consistency, Bias, and Toxicity
Nudo, Jacopo, Pandolfo, Mario Edoardo
{ABS} Social agents.
"""


def atom_feed(ids: tuple[str, ...] = ("2502.02671", "2502.02672", "2502.02673")) -> bytes:
    """An arXiv export API answer with one entry per id."""
    body = "".join(atom_entry(arxiv_entry(aid, f"Paper number {i} about models", published="2025-02-04",
                                          categories=["cs.CL", "cs.AI"], affiliations=True,
                                          comment="9 pages", doi=f"10.1000/{i}"))
                   for i, aid in enumerate(ids))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<feed xmlns="http://www.w3.org/2005/Atom" '
            'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
            'xmlns:arxiv="http://arxiv.org/schemas/atom">\n<title>arXiv Query</title>\n'
            f"<opensearch:totalResults>{len(ids)}</opensearch:totalResults>\n{body}</feed>\n").encode()


def jsonl(rows: list[Any]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


# -- mutations --------------------------------------------------------------------------

HOSTILE_STRINGS = [
    "", " ", "\x00", "\n\n", "\u2028", "\ufeff", "\ud800", "null", "NaN", "-1", "1e309",
    "9999-99-99", "0000-00-00", "2025-02-30", "2025-13-01T00:00:00Z", "javascript:alert(1)",
    "<script>alert(1)</script>", "../../../etc/passwd", "2502.99999v99999999999999999999",
    "hep-th/9901001", "https://huggingface.co/papers/", "%00", "x" * 5000, "é" * 300, "#",
    "https://huggingface.co/papers/2502.1", "Feb 29", "·",
]


def hostile_values() -> st.SearchStrategy[Any]:
    """Values a damaged or hostile file could hold where any field is expected."""
    scalars = st.one_of(
        st.none(), st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.sampled_from([0, -1, 2**63, -(2**63) - 1, 10**30]),
        st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([1e308, -0.0, 0.5]),
        st.sampled_from(HOSTILE_STRINGS), st.text(max_size=40),
    )
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
        max_leaves=8)


def paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document (the root included)."""
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += paths(v, prefix + (i,))
    return out


def replace_at(doc: Any, path: tuple[Any, ...], value: Any, delete: bool = False) -> Any:
    """A copy of doc with the value at path replaced (or its key removed)."""
    if not path:
        return value
    doc = json.loads(json.dumps(doc))
    node = doc
    for k in path[:-1]:
        node = node[k]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


@st.composite
def json_mutation(draw: st.DrawFn, doc: Any, under: tuple[Any, ...] = ()) -> tuple[tuple[Any, ...], Any]:
    """(path, mutated doc): one value somewhere at or below `under` replaced or deleted."""
    places = [p for p in paths(doc) if p[:len(under)] == under]
    path = draw(st.sampled_from(places))
    if path and draw(st.integers(0, 4)) == 0:
        return path, replace_at(doc, path, None, delete=True)
    return path, replace_at(doc, path, draw(hostile_values()))


@st.composite
def byte_mutation(draw: st.DrawFn, data: bytes) -> bytes:
    """data with a few bytes flipped, inserted or deleted, or its tail cut off."""
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "invalid-utf8"]))
        pos = draw(st.integers(0, max(0, len(buf) - 1)))
        if kind == "flip" and buf:
            buf[pos] ^= draw(st.integers(1, 255))
        elif kind == "insert":
            buf[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del buf[pos:pos + draw(st.integers(1, 16))]
        elif kind == "truncate":
            del buf[pos:]
        else:
            buf[pos:pos] = draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"\xef\xbb\xbf"]))
    return bytes(buf)
