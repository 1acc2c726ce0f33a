"""Deciding whether two paper records describe the same paper.

Records with an arXiv id are keyed by it; this module handles the rest (listings, archives,
other bibliographic sources). Candidates come from blocking, never all pairs: `block_keys`
gives each title a few keys (its first and last words, its longest words), and only records
sharing a key are compared. The store (store/upsert.py) and the benchmark (bench/dedup.py)
use these same functions.

A merge loses a paper from every page, feed and search, so two records are one paper only
on positive evidence (`match_score`; the rules and their measurements: docs/dedup.md):
- the titles must say the same thing: after normalisation (case, punctuation, accents,
  stopwords, plurals, spelling variants) no title word may differ, or else the abstracts must
  be near-identical (a revised title); a differing *distinguishing* word (a number, version,
  ordinal, part, "++") is never overridden: "Bielik v3 Small" and "Bielik 11B v2" are two;
- abstracts, when both records have one, must share enough word pairs: strongly different
  abstracts mean two papers even under one title (Cranfield's corrupted titles);
- authors, when both are known, must overlap; years must not be far apart.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass, field

import Stemmer
from rapidfuzz.distance import Indel

from .ids import normalize_text
from .model import Paper
from .text import SEARCH_STOPWORDS

STRONG_TITLE = 0.92
WEAK_TITLE = 0.75
_BLOCK_WORDS = 4
# Word-pair (bigram) containment of two abstracts: below DIFFERENT_TEXT they are about other
# things; at NEAR_SAME_TEXT and above one is (a revision or truncation of) the other.
DIFFERENT_TEXT = 0.3
NEAR_SAME_TEXT = 0.8
_MIN_PAIRS = 15  # an abstract shorter than this (a note, a stub) is no evidence either way
_stem = Stemmer.Stemmer("porter").stemWord
_ROMAN = frozenset(["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii", "xiii", "xiv", "xv", "xx"])
_ORDINAL_LIST = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth"]
_ORDINALS = frozenset(_ORDINAL_LIST)
_MARKERS = frozenset({"part", "plus", "plusplus", "pro", "lite", "mini", "small", "tiny", "ultra",
                      "nano", "max", "turbo"})
# Title words are compared stemmed ("plusplus" -> "plusplu"): both forms count.
_DISTINGUISHING = frozenset(_ROMAN | _ORDINALS | _MARKERS | {_stem(w) for w in _ORDINALS | _MARKERS})
# Bibliographic annotations, not content: "(Tutorial)", "(panel session)", "- Book Review".
_ANNOTATION_WORDS = frozenset(["tutorial", "session", "panel", "abstract", "demonstration", "demo", "description", "paper", "experience", "extended", "version", "invited", "talk", "slides", "keynote", "guest", "editor", "editors", "editorial", "foreword", "preface", "book", "review"])
_ANNOTATIONS = frozenset(_stem(w) for w in _ANNOTATION_WORDS)
_ORDINAL_NUM = re.compile(r"\b(\d+)(?:st|nd|rd|th)\b")
_ORDINAL_WORD = {str(i): w for i, w in enumerate(_ORDINAL_LIST, 1)}
_DIGITS = re.compile(r"\d+")
_PLUS = re.compile(r"(?<=[\w)\]}])\+\+|(?<=[\w)\]}])\+")


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
    # "Tutorial: Data Access" and "Data access (tutorial session)": the same keys without
    # annotation words (added keys only, so papers stored with the keys above still match).
    bare = [w for w in words if w not in _ANNOTATION_WORDS]
    if bare and len(bare) < len(words):
        keys += ["p:" + " ".join(bare[:_BLOCK_WORDS]), "s:" + " ".join(bare[-_BLOCK_WORDS:])]
    return keys


def block_keys(title: str) -> list[str]:
    return block_keys_from_norm(normalize_text(title))


def surname(author: str) -> str:
    """'Nagarajan, Vaishnavh' and 'Vaishnavh Nagarajan' both give 'nagarajan'; HTML
    entities are decoded and a lost letter leaves no gap ('G?ting' -> 'gting')."""
    a = html.unescape(author).strip()
    name = a.split(",")[0] if "," in a else (a.split()[-1] if a.split() else "")
    return normalize_text(name).replace(" ", "")


def _surname_set(authors: list[str]) -> set[str]:
    return {s for s in (surname(a) for a in authors) if s}


def author_overlap(a: list[str], b: list[str]) -> float | None:
    """Share of the smaller author list found in the other; None when a side is unknown.
    A surname spelled with a letter lost or changed ('gting' / 'guting') still counts."""
    sa, sb = _surname_set(a), _surname_set(b)
    if not sa or not sb:
        return None
    small, big = (sa, sb) if len(sa) <= len(sb) else (sb, sa)
    found = len(small & big)
    for x in small - big:
        if len(x) >= 4 and any(Indel.normalized_similarity(x, y) >= 0.8 for y in big - small):
            found += 1
    return found / len(small)


def _pairs(text: str, title: str = "") -> set[tuple[str, str]]:
    w = normalize_text(text).split()
    t = normalize_text(title).split() if title else []
    if t and w[:len(t)] == t:
        w = w[len(t):]  # an abstract that opens with its title: compare what follows
    return set(zip(w, w[1:], strict=False))


def abstract_similarity(a: str, b: str, title_a: str = "", title_b: str = "") -> float | None:
    """Share of the shorter abstract's word pairs found in the other (a truncated copy
    scores 1); None when either is too short to say anything. A copy of the record's title
    at the start of its abstract (Cranfield's, some listings') is left out."""
    pa, pb = _pairs(a, title_a), _pairs(b, title_b)
    if len(pa) < _MIN_PAIRS or len(pb) < _MIN_PAIRS:
        return None
    return len(pa & pb) / min(len(pa), len(pb))


def _norm_title(title: str) -> str:
    """Normalised title with "X++"/"X+" kept as words and "4th" spelled "fourth"."""
    marked = _PLUS.sub(lambda m: " plusplus " if m.group() == "++" else " plus ", title)
    norm = normalize_text(marked)
    return _ORDINAL_NUM.sub(lambda m: _ORDINAL_WORD.get(m.group(1), m.group(0)), norm)


def _name(title: str) -> str:
    """The name a title opens with ("TOMCAT" of "TOMCAT: Test-time ..."), without
    annotations; "" when it has none (no colon, or more than four words before it)."""
    head, colon, _ = title.partition(":")
    words = [w for w in normalize_text(head).split() if w not in _ANNOTATION_WORDS]
    return " ".join(words) if colon and 0 < len(words) <= 4 else ""


def _title_words(norm: str) -> Counter[str]:
    """Content words of a normalised title, stemmed and counted, annotations left out."""
    return Counter(s for s in (_stem(w) for w in norm.split() if w not in SEARCH_STOPWORDS)
                   if s not in _ANNOTATIONS)


def distinguishing(word: str) -> bool:
    """A word whose difference alone makes two papers: a number, version, ordinal, part,
    size or edition marker."""
    return any(c.isdigit() for c in word) or word in _DISTINGUISHING


def _drop_compounds(diff: set[str], other_diff: set[str], other_norm: str) -> None:
    """"multiobject" in one title and "multi object" in the other are no difference."""
    if not diff or not other_diff:
        return
    words = other_norm.split()
    for n in (2, 3):
        for i in range(len(words) - n + 1):
            joined = _stem("".join(words[i:i + n]))
            if joined in diff:
                parts = {_stem(w) for w in words[i:i + n]}
                if parts <= other_diff | set(_title_words(" ".join(words))):
                    diff.discard(joined)
                    other_diff.difference_update(parts)


def _drop_acronyms(diff: set[str], other_diff: set[str], norm: str, other_norm: str) -> None:
    """"LLM" in one title and "large language model(s)" in the other are no difference."""
    if not other_diff:
        return
    words = [w for w in other_norm.split() if w not in {"of", "and", "for", "the", "a"}]
    initials = "".join(w[0] for w in words)
    for w in {w for w in norm.split() if 2 <= len(w) <= 6 and w.isalpha()}:
        acro = w[:-1] if w.endswith("s") and len(w) > 2 else w
        i = initials.find(acro)
        while i >= 0:
            stems = {_stem(x) for x in words[i:i + len(acro)]}
            if stems & other_diff:
                diff.discard(_stem(w))
                other_diff.difference_update(stems)
                break
            i = initials.find(acro, i + 1)


def title_difference(a: str, b: str) -> tuple[set[str], set[str], int]:
    """(title words only one side has, the distinguishing ones among them, how many words
    were replaced: 0 when one title's words are all in the other). Annotations
    ("(Tutorial)"), compounds ("multiobject" / "multi object"), acronyms ("LLM" / "large
    language model") and spellings ("optimisation" / "optimization") are not differences."""
    na, nb = _norm_title(a), _norm_title(b)
    # Counted: "Secure Source Coding ... Universal Coding" has a "coding" more than
    # "Source Encryption ... Universal Coding", though both hold the word.
    wa, wb = _title_words(na), _title_words(nb)
    only_a, only_b = set(wa - wb), set(wb - wa)
    if not only_a and not only_b:
        return set(), set(), 0
    # Numbers compare as digit runs, so "SQL3" / "SQL 3" agree and "v2" / "v3" do not.
    numbers_differ = sorted(_DIGITS.findall(na)) != sorted(_DIGITS.findall(nb))
    hard = {w for w in only_a | only_b
            if (numbers_differ and any(c.isdigit() for c in w))
            or (distinguishing(w) and not any(c.isdigit() for c in w))}

    def variant(w: str, others: set[str]) -> bool:
        if any(c.isdigit() for c in w):
            return not numbers_differ
        if w in hard:
            return False
        return len(w) >= 5 and any(Indel.normalized_similarity(w, o) >= 0.8 for o in others)

    diff_a = {w for w in only_a if not variant(w, only_b)}
    diff_b = {w for w in only_b if not variant(w, only_a)}
    name_a, name_b = _name(a).replace(" ", ""), _name(b).replace(" ", "")
    if (name_a and name_b and name_a not in name_b and name_b not in name_a
            and Indel.normalized_similarity(name_a, name_b) < WEAK_TITLE):
        # "TOMCAT: ..." and "WARM-CAT: ...": two named methods, two papers ("Dali" and
        # "Dalí", "TerraServer" and "Microsoft TerraServer" are one name).
        hard.add(f"name:{name_b}")
        diff_b.add(f"name:{name_b}")
    _drop_compounds(diff_a, diff_b, nb)
    _drop_compounds(diff_b, diff_a, na)
    _drop_acronyms(diff_a, diff_b, na, nb)
    _drop_acronyms(diff_b, diff_a, nb, na)
    # One title all inside the other (a subtitle added or cut off) counts as one side.
    changed = 0 if not (diff_a and diff_b) else max(len(diff_a), len(diff_b))
    return diff_a | diff_b, hard & (diff_a | diff_b), changed


def title_similarity(a: str, b: str) -> float:
    """Normalised edit similarity (0..1) of two titles. A title that is the other's first
    words (a subtitle cut off by a source) counts as a weak match (WEAK_TITLE + 0.05)."""
    na, nb = normalize_text(a), normalize_text(b)
    sim = Indel.normalized_similarity(na, nb)
    short, long_ = (na, nb) if len(na) <= len(nb) else (nb, na)
    if sim < WEAK_TITLE and len(short.split()) >= 4 and long_.startswith(short + " "):
        sim = WEAK_TITLE + 0.05
    return sim


def _bare_similarity(a: str, b: str) -> float:
    """Similarity of the titles' word sets without annotation words ("tutorial", "panel
    session"); 0 when neither title has one (then title_similarity has said it all)."""
    wa, wb = normalize_text(a).split(), normalize_text(b).split()
    if _ANNOTATION_WORDS.isdisjoint(wa) and _ANNOTATION_WORDS.isdisjoint(wb):
        return 0.0

    def bare(words: list[str]) -> str:
        return " ".join(sorted(w for w in words if w not in _ANNOTATION_WORDS))
    return Indel.normalized_similarity(bare(wa), bare(wb))


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
    if t < WEAK_TITLE and _bare_similarity(a.title, b.title) < STRONG_TITLE:
        return 0.0  # far apart, even without "(Tutorial)"-like annotations
    diff, hard, replaced = title_difference(a.title, b.title)
    if t < WEAK_TITLE and diff:
        return 0.0
    if hard:
        return 0.0  # another number, version or part: another paper, whatever else agrees
    authors = author_overlap(a.authors, b.authors)
    text = abstract_similarity(a.abstract, b.abstract, a.title, b.title)
    years_apart = abs(a.year - b.year) if a.year and b.year else 0
    if authors is not None and authors < 0.34:
        return 0.3  # other people: a different paper
    if text is not None and text < DIFFERENT_TEXT:
        return 0.3  # one title, other abstracts: two papers (or a corrupted title)
    if years_apart > 3 and not (authors and authors >= 0.5):
        return 0.3
    # Small bonuses only order candidates (same year, same people, same text first).
    bonus = 0.01 * (authors or 0) + 0.01 * (years_apart == 0) + 0.01 * (text or 0)
    if not diff:
        # The same title words (up to case, punctuation, stopwords, spelling): nothing
        # above disagreed, so the title is the evidence.
        return min(0.97, max(t, STRONG_TITLE) - 0.02) + bonus
    # A title word differs. Only a near-identical abstract (a revised title), or with no
    # abstracts the same people in the same years, says it is still one paper.
    if replaced > 2:
        return 0.0  # more than a word or two rewritten: another paper
    if text is not None:
        return 0.5 + (t - WEAK_TITLE) / 2 + bonus if text >= NEAR_SAME_TEXT else 0.0
    if authors is not None and authors >= 0.5 and years_apart <= 1:
        return 0.5 + (t - WEAK_TITLE) / 2 + bonus
    return 0.0


def same_paper(a: Paper, b: Paper) -> bool:
    """Same paper? Both keyed by arXiv: same id. Otherwise `match_score` >= 0.5."""
    return match_score(MatchInput.of(a), MatchInput.of(b)) >= 0.5
