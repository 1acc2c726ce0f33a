"""Deciding whether two paper records describe the same paper.

Records with an arXiv id are keyed by it; this module handles the rest (listings, archives,
other bibliographic sources) by normalised title plus author overlap plus abstract
similarity. Candidates come from blocking (same title key in the store), never all pairs.
"""

from __future__ import annotations

from .ids import normalize_text, title_key
from .model import Paper


def _surname_set(authors: list[str]) -> set[str]:
    out = set()
    for a in authors:
        a = a.strip()
        if not a:
            continue
        # "Nagarajan, Vaishnavh" and "Vaishnavh Nagarajan" both give "nagarajan".
        name = a.split(",")[0] if "," in a else a.split()[-1]
        out.add(normalize_text(name))
    return out


def _word_set(text: str) -> set[str]:
    return set(normalize_text(text).split())


def author_overlap(a: list[str], b: list[str]) -> float | None:
    """Share of the smaller author list found in the other; None when a side is unknown."""
    sa, sb = _surname_set(a), _surname_set(b)
    if not sa or not sb:
        return None
    return len(sa & sb) / min(len(sa), len(sb))


def abstract_similarity(a: str, b: str) -> float | None:
    wa, wb = _word_set(a), _word_set(b)
    if len(wa) < 5 or len(wb) < 5:
        return None
    return len(wa & wb) / min(len(wa), len(wb))


def same_paper(a: Paper, b: Paper) -> bool:
    """Same paper? Both must agree on the title; then authors or abstract must not disagree."""
    if a.arxiv_id and b.arxiv_id:
        return a.arxiv_id == b.arxiv_id
    if title_key(a.title) != title_key(b.title):
        return False
    authors = author_overlap(a.authors, b.authors)
    if authors is not None:
        return authors >= 0.5
    text = abstract_similarity(a.abstract, b.abstract)
    if text is not None:
        return text >= 0.6
    return True
