"""Backend-independent rules for merging a paper seen again into what is stored.

Kept out of the SQL so that SQLite and PostgreSQL merge identically.
"""

from __future__ import annotations

from typing import Any

from ..model import MONOTONIC_FIELDS, PAPER_FIELDS, Paper

# Sources whose title/abstract are authoritative (they come from arXiv or HF's copy of it);
# text from listings and third-party archives only fills gaps or extends a truncated copy.
AUTHORITATIVE_SOURCES = frozenset({"arxiv", "hf"})


def is_empty(v: Any) -> bool:
    """None, "", [] or {}: a value a merge never keeps over a real one."""
    return v is None or v == "" or v == [] or v == {}


def merge_papers(old: Paper, new: Paper) -> Paper:
    """Merge `new` into `old`. A field never goes from a value back to empty."""
    authoritative = any(s.source in AUTHORITATIVE_SOURCES for s in new.sources)
    data = old.model_dump()
    for name in PAPER_FIELDS:
        nv = getattr(new, name)
        ov = data[name]
        if is_empty(nv):
            continue
        if is_empty(ov):
            data[name] = nv
        elif name in MONOTONIC_FIELDS:
            data[name] = max(ov, nv)
        elif name == "abstract" and not authoritative:
            # Listings truncate abstracts: keep the fuller text.
            if len(nv) > len(ov):
                data[name] = nv
        elif name == "title" and not authoritative:
            continue
        elif name == "authors" and not authoritative:
            # Archives list partial authors (HF handles); keep the fuller list so that
            # sources imported in any order settle on the same value.
            if len(nv) > len(ov):
                data[name] = nv
        elif name in ("categories", "ai_keywords", "affiliations") and not authoritative:
            data[name] = ov + [x for x in nv if x not in ov]
        elif name == "links":
            data[name] = {**ov, **nv}
        elif name in ("published", "hf_date"):
            # The first publication date (and the day a paper entered Daily Papers) is the
            # earliest any source reports; later sightings never move it.
            data[name] = min(ov, nv)
        else:
            data[name] = nv
    if new.num_authors and (not old.num_authors or (new.authors and not old.authors)):
        data["num_authors"] = new.num_authors
    if data["authors"]:
        data["num_authors"] = max(len(data["authors"]), data.get("num_authors") or 0)
    data["id"] = old.id
    data["sources"] = []
    merged = Paper.model_validate(data)
    if merged.arxiv_id and merged.id != merged.arxiv_id:
        merged.id = merged.arxiv_id
    return merged


def paper_row_equal(a: Paper, b: Paper) -> bool:
    """True when two papers would be stored identically (provenance aside)."""
    return all(getattr(a, name) == getattr(b, name) for name in PAPER_FIELDS + ("id", "num_authors"))
