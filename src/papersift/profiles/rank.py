"""Scoring candidates against a profile, with the reasons (weights.py has the formula).

Pure and deterministic: the same profile, interests and candidates give the same list, ties
broken by upvotes, then paper id. Titles in reasons are untrusted text: renderers escape them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..ids import normalize_text
from ..model import Paper
from . import weights as W
from .config import Profile
from .interests import Interests
from .lexical import LexicalSpace, similarities

EXPLAIN_BELOW = 20  # papers under the threshold that still get their nearest seed named


@dataclass
class Ranked:
    paper: Paper
    score: float
    similarity: float  # max cosine over the clusters (0 without vectors)
    lexical: float = 0.0  # tf-idf cosine to the nearest seed + to the profile (0: no lexical space)
    reasons: list[str] = field(default_factory=list)
    nearest: str | None = None  # title of the nearest seed paper
    cluster: int = -1  # the nearest interest cluster (-1: no vector)
    lex_seed: int = -1  # the seed row lexically nearest (-1: none)


@dataclass
class Ranking:
    kept: list[Ranked] = field(default_factory=list)  # best first, at most max_papers
    removed: list[tuple[Paper, str]] = field(default_factory=list)  # negative keyword hits
    below: list[Ranked] = field(default_factory=list)  # under min_score, or past max_papers
    considered: int = 0


@lru_cache(maxsize=4096)
def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """A keyword as a case-insensitive whole-word phrase; words may be joined by spaces or
    hyphens, and a plural 's'/'es' still matches ("world model" ~ "world-models")."""
    words = [re.escape(w) for w in phrase.split()]
    return re.compile(r"(?<!\w)" + r"[\s\-]+".join(words) + r"(?:e?s)?(?!\w)", re.IGNORECASE)


def _author_key(name: str) -> tuple[str, str, str]:
    toks = normalize_text(name).split()
    if not toks:
        return "", "", ""
    return " ".join(toks), toks[-1], toks[0][:1]


def _initial_only(full: str) -> bool:
    toks = full.split()
    return len(toks) > 1 and len(toks[0]) == 1


def author_matches(wanted: str, authors: list[str]) -> bool:
    """Same full name, or same surname and first initial when one side gives only the
    initial ("Y. LeCun" ~ "Yann LeCun"; "Yann LeCun" !~ "Yves LeCun")."""
    full, last, first = _author_key(wanted)
    if not full:
        return False
    for a in authors:
        f2, l2, i2 = _author_key(a)
        if f2 == full or (l2 == last and i2 == first and (_initial_only(full) or _initial_only(f2))):
            return True
    return False


def paper_text_for_rules(p: Paper) -> str:
    return " ".join((p.title, p.abstract, " ".join(p.ai_keywords)))


def _similarities(interests: Interests, vecs: list[np.ndarray | None]) -> tuple[np.ndarray, np.ndarray]:
    """Per candidate: the nearest cluster (-1: no vector or no clusters) and its cosine, in
    one matrix product."""
    n = len(vecs)
    best = np.full(n, -1, dtype=np.int64)
    sim = np.zeros(n, dtype=np.float32)
    cents = interests.centroids
    have = [i for i, v in enumerate(vecs) if v is not None]
    if not have or not len(cents):
        return best, sim
    mat = np.vstack([np.asarray(vecs[i], dtype=np.float32) for i in have]) @ cents.T
    arg = np.argmax(mat, axis=1)
    best[have] = arg
    sim[have] = mat[np.arange(len(have)), arg]
    return best, sim


def _lexical(interests: Interests, space: LexicalSpace | None, papers: list[Paper]
             ) -> tuple[np.ndarray, np.ndarray]:
    """Per candidate: its tf-idf cosine to the nearest seed plus its cosine to the profile's
    tf-idf centroid (the nearest paper, and what the whole profile is about), and the row
    of that nearest seed (-1: no lexical space)."""
    nearest = np.full(len(papers), -1, dtype=np.int64)
    if space is None or interests.profile_terms is None or not papers:
        return np.zeros(len(papers), dtype=np.float32), nearest
    mat = similarities(space.vectors((p.id, p.title, p.abstract) for p in papers),
                       [*interests.terms, interests.profile_terms])
    seeds = mat[:, :-1]
    nearest[:] = np.argmax(seeds, axis=1)
    return seeds[np.arange(len(papers)), nearest] + mat[:, -1], nearest


def rank_papers(profile: Profile, interests: Interests, candidates: list[Paper],
                vectors: Mapping[str, np.ndarray], tags: Mapping[str, list[str]],
                space: LexicalSpace | None = None) -> Ranking:
    """Score every candidate; `vectors` and `tags` are the candidates' (missing: none);
    `space` gives the lexical term (None: embedding similarity and rules only)."""
    out = Ranking()
    excluded = set(profile.exclude) | interests.seed_ids
    neg = [(k, phrase_pattern(k)) for k in profile.negative_keywords]
    kws = [(k, phrase_pattern(k)) for k in profile.keywords]
    want_tags = set(profile.tags)
    scored: list[Ranked] = []
    live: list[tuple[Paper, str]] = []
    for p in candidates:
        if p.id in excluded:
            continue
        out.considered += 1
        text = paper_text_for_rules(p)
        hit = next((k for k, rx in neg if rx.search(text)), None)
        if hit is not None:
            out.removed.append((p, f"negative keyword “{hit}”"))
        else:
            live.append((p, text))
    best_cluster, best_sim = _similarities(interests, [vectors.get(p.id) for p, _ in live])
    lex, lex_seed = _lexical(interests, space, [p for p, _ in live])
    for i, (p, text) in enumerate(live):
        r = Ranked(p, 0.0, float(best_sim[i]), float(lex[i]), cluster=int(best_cluster[i]),
                   lex_seed=int(lex_seed[i]))
        score = W.SIMILARITY * r.similarity + W.LEXICAL * r.lexical
        matched_kw = [k for k, rx in kws if rx.search(text)]
        score += W.KEYWORD * min(len(matched_kw), W.MAX_KEYWORDS)
        r.reasons += [f"keyword “{k}”" for k in matched_kw]
        matched_au = [a for a in profile.authors if author_matches(a, p.authors)]
        score += W.AUTHOR * min(len(matched_au), W.MAX_AUTHORS)
        r.reasons += [f"author {a}" for a in matched_au]
        matched_tags = [t for t in tags.get(p.id, []) if t in want_tags]
        score += W.TAG * min(len(matched_tags), W.MAX_TAGS)
        r.reasons += [f"tag #{t}" for t in matched_tags]
        r.score = round(score, 6)  # rounding: the same order on every platform
        scored.append(r)
    scored.sort(key=lambda r: (-r.score, -(r.paper.upvotes or 0), r.paper.id))
    for r in scored:
        if r.score >= profile.min_score and len(out.kept) < profile.max_papers:
            out.kept.append(r)
        else:
            out.below.append(r)
    for r in out.kept + out.below[:EXPLAIN_BELOW]:
        _name_shared_words(r, interests, space)
        _name_nearest(r, interests, vectors[r.paper.id] if r.cluster >= 0 else None)
    return out


def _name_shared_words(r: Ranked, interests: Interests, space: LexicalSpace | None) -> None:
    """"words shared with your papers: a, b, c": the candidate's words that weigh most in
    its lexical similarity, as the candidate writes them."""
    if space is None or interests.profile_terms is None or r.lexical < W.LEX_EXPLAIN:
        return
    words = space.shared_words(r.paper.title, r.paper.abstract,
                               [interests.terms[r.lex_seed], interests.profile_terms], W.LEX_WORDS)
    if words:
        r.reasons.insert(0, f"words shared with your papers: {', '.join(words)}")


def _name_nearest(r: Ranked, interests: Interests, v: np.ndarray | None) -> None:
    """Put "close to your paper X" first in the reasons: X is the seed nearest to the
    paper within its nearest cluster."""
    if v is None:
        return
    rows = interests.members[r.cluster]
    best = rows[int(np.argmax(interests.vectors[rows] @ np.asarray(v, dtype=np.float32)))]
    r.nearest = interests.seeds[best].title
    r.reasons.insert(0, f"close to your paper “{r.nearest}” ({r.similarity:.2f})")
