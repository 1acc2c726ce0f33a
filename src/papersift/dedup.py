"""Deciding whether two paper records describe the same paper.

Records with an arXiv id are keyed by it; this module handles the rest (listings, archives,
other bibliographic sources) by title similarity plus author overlap plus abstract
similarity. Candidates come from blocking, never all pairs: `block_keys` gives each title a
few keys (its first and last words), and only records sharing a key are compared. The store
(store/upsert.py) and the benchmark (bench/dedup.py) use these same functions.

The decision, in `match_score`:
- titles nearly equal (edit similarity >= 0.92, which covers case, punctuation, accents and a
  changed word in a long title): same paper unless the authors clearly disagree;
- titles similar (>= 0.75, e.g. "LLM" spelled out in a revised title): same paper only when
  authors or abstract agree as well;
- otherwise different.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rapidfuzz.distance import Indel

from .ids import normalize_text
from .model import Paper

STRONG_TITLE = 0.92
WEAK_TITLE = 0.75
_BLOCK_WORDS = 4


def title_keys(title: str) -> tuple[str, list[str]]:
    """(exact title key, blocking keys) from one normalisation of the title."""
    norm = normalize_text(title)
    return norm.replace(" ", ""), block_keys_from_norm(norm)


def block_keys_from_norm(norm: str) -> list[str]:
    words = norm.split()
    head = "p:" + " ".join(words[:_BLOCK_WORDS])
    tail = "s:" + " ".join(words[-_BLOCK_WORDS:])
    # Longer titles also get a key from their longest words, which survives an edited
    # beginning and end ("A Survey of X" -> "X: a survey").
    keys = [head, tail]
    if len(words) > _BLOCK_WORDS:
        longest = sorted(sorted(set(words)), key=len, reverse=True)[:3]
        keys.append("l:" + " ".join(sorted(longest)))
    return keys


def block_keys(title: str) -> list[str]:
    return block_keys_from_norm(normalize_text(title))


def surname(author: str) -> str:
    """'Nagarajan, Vaishnavh' and 'Vaishnavh Nagarajan' both give 'nagarajan'."""
    a = author.strip()
    name = a.split(",")[0] if "," in a else (a.split()[-1] if a.split() else "")
    return normalize_text(name)


def _surname_set(authors: list[str]) -> set[str]:
    return {s for s in (surname(a) for a in authors) if s}


def author_overlap(a: list[str], b: list[str]) -> float | None:
    """Share of the smaller author list found in the other; None when a side is unknown."""
    sa, sb = _surname_set(a), _surname_set(b)
    if not sa or not sb:
        return None
    return len(sa & sb) / min(len(sa), len(sb))


def abstract_similarity(a: str, b: str) -> float | None:
    wa, wb = set(normalize_text(a).split()), set(normalize_text(b).split())
    if len(wa) < 5 or len(wb) < 5:
        return None
    return len(wa & wb) / min(len(wa), len(wb))


def title_similarity(a: str, b: str) -> float:
    """Normalised edit similarity (0..1) of two titles. A title that is the other's first
    words (a subtitle cut off by a source) counts as a weak match (WEAK_TITLE + 0.05)."""
    na, nb = normalize_text(a), normalize_text(b)
    sim = Indel.normalized_similarity(na, nb)
    short, long_ = (na, nb) if len(na) <= len(nb) else (nb, na)
    if sim < WEAK_TITLE and len(short.split()) >= 4 and long_.startswith(short + " "):
        sim = WEAK_TITLE + 0.05
    return sim


@dataclass
class MatchInput:
    """What the matcher reads from a record (Papers and benchmark rows alike)."""

    title: str
    authors: list[str] = field(default_factory=list)
    abstract: str = ""
    year: int | None = None
    arxiv_id: str | None = None

    @classmethod
    def of(cls, p: Paper) -> MatchInput:
        d = p.published or p.hf_date
        return cls(p.title, p.authors, p.abstract, d.year if d else None, p.arxiv_id)


def match_score(a: MatchInput, b: MatchInput) -> float:
    """A score in [0, 1]; >= 0.5 means the same paper (see module docstring)."""
    if a.arxiv_id and b.arxiv_id:
        return 1.0 if a.arxiv_id == b.arxiv_id else 0.0
    t = title_similarity(a.title, b.title)
    if t < WEAK_TITLE:
        return 0.0
    authors = author_overlap(a.authors, b.authors)
    text = abstract_similarity(a.abstract, b.abstract)
    years_apart = abs(a.year - b.year) if a.year and b.year else 0
    if t >= STRONG_TITLE:
        if authors is not None and authors < 0.34:
            return 0.3  # same title, other people: a different paper
        if text is not None and text < 0.3 and authors is None:
            return 0.3
        if years_apart > 3 and not (authors and authors >= 0.5):
            return 0.3
        # Small bonuses only order candidates (same year, same people first).
        return min(1.0, t - 0.02) + 0.01 * (authors or 0) + 0.01 * (years_apart == 0)
    # A weaker title match needs corroboration from the people or the text.
    agree = (authors is not None and authors >= 0.5) or (text is not None and text >= 0.6)
    if agree and years_apart <= 2:
        return 0.5 + (t - WEAK_TITLE) / 2
    return 0.0


def same_paper(a: Paper, b: Paper) -> bool:
    """Same paper? Both keyed by arXiv: same id. Otherwise `match_score` >= 0.5."""
    return match_score(MatchInput.of(a), MatchInput.of(b)) >= 0.5
